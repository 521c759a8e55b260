// prmkit serve: load the PRM and run the HTTP service until SIGINT/SIGTERM, then shut down
// gracefully (requests in flight are answered).
import { AGGREGATIONS } from '../kernels/types.js';
import type { Aggregation } from '../kernels/types.js';
import { DEFAULT_BATCHING, DEFAULT_LIMITS } from '../server/config.js';
import type { BatchingOptions, ServerLimits, ServerOptions } from '../server/types.js';
import { intOption, parse, stringOption } from './args.js';
import { UsageError, write } from './io.js';
import type { CliIo } from './io.js';
import { MODEL_HELP, MODEL_OPTIONS, loadPrm, modelLoadOptions } from './model-options.js';

export const SERVE_HELP = `prmkit serve: HTTP scoring service

usage:
  prmkit serve -m MODEL -t TOKENIZER -f FORMAT [--host H] [--port P] [options]

routes: POST /v1/score, POST /v1/rerank, POST /pooling (vLLM token_classify),
        GET /v1/models, GET /health, GET /metrics (Prometheus)

server:
      --host HOST            interface to bind (default 127.0.0.1)
  -p, --port PORT            port (default 8000; 0 picks a free one)
      --api-key KEY          require "Authorization: Bearer KEY" (or set PRMKIT_API_KEY)
      --aggregate HOW        default chain aggregation (default: the format's)
      --timeout-ms N         per-request deadline, queueing included (default 30000)
      --log                  log requests (JSON lines on stdout)
batching:
      --batch-tokens N       close a batch at N backbone tokens (default ${DEFAULT_BATCHING.maxBatchTokens})
      --batch-items N        ... or N chains (default ${DEFAULT_BATCHING.maxBatchItems})
      --batch-wait-ms N      ... or when its oldest chain waited N ms (default ${DEFAULT_BATCHING.maxWaitMs})
      --concurrency N        batches run at once (default ${DEFAULT_BATCHING.concurrency})
      --queue-requests N     requests allowed to wait before 503 (default ${DEFAULT_BATCHING.maxQueueRequests})
      --queue-tokens N       tokens allowed to wait before 503 (default ${DEFAULT_BATCHING.maxQueueTokens})
limits (413 beyond them):
      --body-limit BYTES     request body (default ${DEFAULT_LIMITS.maxBodyBytes})
      --max-items N          chains / candidates / inputs per request (default ${DEFAULT_LIMITS.maxItems})
      --max-steps N          steps per chain (default ${DEFAULT_LIMITS.maxSteps})
      --max-item-tokens N    tokens per chain (default ${DEFAULT_LIMITS.maxItemTokens}, capped by the model's context)
      --max-request-tokens N tokens per request (default ${DEFAULT_LIMITS.maxRequestTokens})

${MODEL_HELP}`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
  'api-key': { type: 'string' },
  aggregate: { type: 'string' },
  'timeout-ms': { type: 'string' },
  log: { type: 'boolean' },
  'batch-tokens': { type: 'string' },
  'batch-items': { type: 'string' },
  'batch-wait-ms': { type: 'string' },
  concurrency: { type: 'string' },
  'queue-requests': { type: 'string' },
  'queue-tokens': { type: 'string' },
  'body-limit': { type: 'string' },
  'max-items': { type: 'string' },
  'max-steps': { type: 'string' },
  'max-item-tokens': { type: 'string' },
  'max-request-tokens': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

function pick<K extends string>(values: Record<string, unknown>, map: Record<string, K>, min: number): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const [flag, key] of Object.entries(map)) {
    const v = intOption(values, flag, min);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export async function runServe(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, SERVE_HELP);
    return 0;
  }
  const loadOptions = modelLoadOptions(values, 'serve');
  const host = stringOption(values, 'host') ?? '127.0.0.1';
  const port = intOption(values, 'port', 0, 8000)!;
  if (port > 65535) throw new UsageError(`--port must be <= 65535, got ${port}`);
  const aggregate = stringOption(values, 'aggregate');
  if (aggregate !== undefined && !(AGGREGATIONS as readonly string[]).includes(aggregate)) {
    throw new UsageError(`--aggregate must be one of ${AGGREGATIONS.join(', ')}, got ${JSON.stringify(aggregate)}`);
  }
  const batching = {
    ...pick<keyof BatchingOptions>(
      values,
      { 'batch-tokens': 'maxBatchTokens', 'batch-items': 'maxBatchItems', concurrency: 'concurrency', 'queue-requests': 'maxQueueRequests', 'queue-tokens': 'maxQueueTokens' },
      1,
    ),
    ...pick<keyof BatchingOptions>(values, { 'batch-wait-ms': 'maxWaitMs' }, 0),
  };
  const limits = pick<keyof ServerLimits>(
    values,
    { 'body-limit': 'maxBodyBytes', 'max-items': 'maxItems', 'max-steps': 'maxSteps', 'max-item-tokens': 'maxItemTokens', 'max-request-tokens': 'maxRequestTokens' },
    1,
  );
  const apiKey = stringOption(values, 'api-key') ?? io.env['PRMKIT_API_KEY'];
  const timeout = intOption(values, 'timeout-ms', 1);

  const { createServer, prmServerModel } = await import('../server/index.js');
  const prm = await loadPrm(loadOptions);
  const options: ServerOptions = {
    model: prmServerModel(prm),
    batching,
    limits,
    defaultAggregate: (aggregate as Aggregation | undefined) ?? prm.defaultAggregate,
    logger: values['log'] === true,
  };
  if (apiKey !== undefined && apiKey.length > 0) options.apiKey = apiKey;
  if (timeout !== undefined) options.requestTimeoutMs = timeout;
  let server;
  try {
    server = createServer(options);
  } catch (err) {
    await prm.close();
    // a bad combination of limits is the user's command line
    if (err instanceof RangeError || err instanceof TypeError) throw new UsageError(err.message.replace(/options\.(limits|batching)\./g, ''));
    throw err;
  }
  let url: string;
  try {
    ({ url } = await server.listen({ host, port }));
  } catch (err) {
    await server.close();
    throw err;
  }
  await write(io.stderr, `prmkit serve: ${prm.name} on ${url} (${prm.backend.kind}${prm.backend.provider ? `/${prm.backend.provider}` : ''}${options.apiKey ? ', API key required' : ''})\n`);

  await new Promise<void>((resolve) => {
    if (!io.signal || io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await write(io.stderr, 'prmkit serve: shutting down; finishing requests in flight\n');
  await server.close();
  await write(io.stderr, 'prmkit serve: stopped\n');
  return 0;
}
