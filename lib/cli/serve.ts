// prmkit serve: load the PRM and run the HTTP service until SIGINT/SIGTERM, then shut down
// gracefully (requests in flight are answered).
import { kernelBackendInfo } from '../kernels/backend.js';
import { DEFAULT_BATCHING, DEFAULT_LIMITS, DEFAULT_TEMPLATE_LIMITS } from '../server/config.js';
import type { BatchingOptions, ServerLimits, ServerOptions, TemplateLimits } from '../server/types.js';
import { aggregateOption, intOption, parse, stringOption } from './args.js';
import type { Values } from './args.js';
import { UsageError, write } from './io.js';
import type { CliIo } from './io.js';
import { MODEL_HELP, MODEL_OPTIONS, modelSpec, noteDemo, openRanker } from './model-options.js';

export const SERVE_HELP = `prmkit serve: HTTP scoring service

usage:
  prmkit serve [--host H] [--port P]   no model named: the built-in arithmetic demo PRM
  prmkit serve -m MODEL -t TOKENIZER -f FORMAT [--host H] [--port P] [options]
  prmkit serve --vllm URL -t TOKENIZER -f FORMAT [...]   a vLLM server as the backbone
  prmkit serve -m ORM_DIR [...]   an outcome reward model: one score per solution on /v1/rerank,
                                  /score, /v1/prm/score, /v1/prm/rerank and /get_reward

routes: POST /pooling, /invocations, /tokenize, /detokenize (vLLM), /rerank, /v1/rerank,
        /v2/rerank (Jina/Cohere/TEI), /score, /v1/score (vLLM), /v1/prm/score, /v1/prm/rerank
        (prmkit), GET /v1/prm/info, GET /v1/models, GET /health, GET /metrics (Prometheus),
        GET / (the scoring page, in a browser)

server:
      --host HOST            interface to bind (default 127.0.0.1)
  -p, --port PORT            port (default 8000; 0 picks a free one)
      --api-key KEY          require "Authorization: Bearer KEY" (or set PRMKIT_API_KEY)
      --aggregate HOW        default chain aggregation (default: the format's)
      --timeout-ms N         per-request deadline, queueing included (default 30000)
      --log                  log requests (JSON lines on stdout)
      --no-ui                do not serve the scoring page at GET /
      --prefix-cache-mb N    keys/values of scored chains kept across requests, so a chain that
                             shares a prefix with one scored before (a beam-search round or an
                             RL group sent as separate requests) runs only its new tokens
                             (default 256; 0: none; needs a model converted with --kv-cache)
vLLM compatibility:
      --pooling step|all     /pooling rows: the step-tag tokens' (default when the format has a
                             step tag, as vLLM's STEP pooler) or every token's (ALL)
      --step-tag-id N        the step-tag token id for --pooling step
      --step-splitter S      how /rerank and /score split a solution text into steps: auto
                             (default: the format's separator if present, else blank lines),
                             blank-lines, lines, or a literal separator text
      --trust-request-chat-template
                             render chat_template sent with /pooling and /tokenize requests
                             (refused by default, as in vLLM; every template renders off the
                             event loop under the budget below either way)
      --template-steps N     steps one chat render may take (default ${DEFAULT_TEMPLATE_LIMITS.maxSteps})
      --template-timeout-ms N  time one chat render may take (default ${DEFAULT_TEMPLATE_LIMITS.timeoutMs})
batching:
      --batch-tokens N       close a batch at N backbone tokens (default ${DEFAULT_BATCHING.maxBatchTokens})
      --batch-items N        ... or N chains (default ${DEFAULT_BATCHING.maxBatchItems})
      --batch-wait-ms N      ... or when its oldest chain waited N ms (default ${DEFAULT_BATCHING.maxWaitMs})
      --concurrency N        batches run at once (default ${DEFAULT_BATCHING.concurrency})
      --queue-requests N     requests allowed to wait before 503 (default ${DEFAULT_BATCHING.maxQueueRequests})
      --queue-tokens N       tokens allowed to wait before 503 (default ${DEFAULT_BATCHING.maxQueueTokens})
limits (413 beyond them):
      --body-limit BYTES     request body (default ${DEFAULT_LIMITS.maxBodyBytes})
      --max-items N          chains / candidates / inputs per request, messages per chat (default ${DEFAULT_LIMITS.maxItems})
      --max-steps N          steps per chain (default ${DEFAULT_LIMITS.maxSteps})
      --max-item-tokens N    tokens per chain or text input (default ${DEFAULT_LIMITS.maxItemTokens}, capped by the model's context)
      --max-item-chars N     characters per chain, text input or rendered chat (default
                             ${DEFAULT_LIMITS.maxItemChars}, or 8 x --max-item-tokens when larger)
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
  'no-ui': { type: 'boolean' },
  'prefix-cache-mb': { type: 'string' },
  pooling: { type: 'string' },
  'step-tag-id': { type: 'string' },
  'step-splitter': { type: 'string' },
  'trust-request-chat-template': { type: 'boolean' },
  'template-steps': { type: 'string' },
  'template-timeout-ms': { type: 'string' },
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
  'max-item-chars': { type: 'string' },
  'max-request-tokens': { type: 'string' },
} as const;

function pick<K extends string>(values: Values, map: Record<string, K>, min: number): Partial<Record<K, number>> {
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
  const spec = modelSpec(values, 'serve', { orm: true, demo: true });
  if (spec.kind === 'orm' && values['aggregate'] !== undefined)
    throw new UsageError('--aggregate applies to a PRM\'s step scores; an outcome reward model gives one score per solution');
  const host = stringOption(values, 'host') ?? '127.0.0.1';
  const port = intOption(values, 'port', 0, 8000, 65535)!;
  const aggregate = aggregateOption(values);
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
    {
      'body-limit': 'maxBodyBytes',
      'max-items': 'maxItems',
      'max-steps': 'maxSteps',
      'max-item-tokens': 'maxItemTokens',
      'max-item-chars': 'maxItemChars',
      'max-request-tokens': 'maxRequestTokens',
    },
    1,
  );
  const templateBudget = pick<keyof TemplateLimits>(values, { 'template-steps': 'maxSteps', 'template-timeout-ms': 'timeoutMs' }, 1);
  const apiKey = stringOption(values, 'api-key') ?? io.env['PRMKIT_API_KEY'];
  const timeout = intOption(values, 'timeout-ms', 1);
  const prefixCacheMb = intOption(values, 'prefix-cache-mb', 0);

  const { createServer, ormServerModel, prmServerModel } = await import('../server/index.js');
  await noteDemo(spec, io);
  const prm = await openRanker(spec, io.signal);
  const options: ServerOptions = {
    model: prm.kind === 'orm' ? ormServerModel(prm) : prmServerModel(prm, prefixCacheMb === undefined ? {} : { prefixCacheBytes: prefixCacheMb * 2 ** 20 }),
    batching,
    limits,
    ...(prm.kind === 'prm' ? { defaultAggregate: aggregate ?? prm.defaultAggregate } : {}),
    logger: values['log'] === true,
    trustRequestChatTemplate: values['trust-request-chat-template'] === true,
    templateBudget,
    ui: values['no-ui'] !== true,
  };
  if (apiKey !== undefined && apiKey.length > 0) options.apiKey = apiKey;
  if (timeout !== undefined) options.requestTimeoutMs = timeout;
  const pooling = stringOption(values, 'pooling');
  if (pooling !== undefined) options.pooling = pooling as ServerOptions['pooling'];
  const stepTag = intOption(values, 'step-tag-id', 0);
  if (stepTag !== undefined) options.stepTagId = stepTag;
  const splitter = stringOption(values, 'step-splitter');
  if (splitter !== undefined) options.stepSplitter = splitter;
  let server;
  try {
    server = createServer(options);
  } catch (err) {
    await prm.close();
    // the flags were checked one by one; a bad combination of them is still the command line
    if (err instanceof RangeError || err instanceof TypeError) throw new UsageError(`the server options do not fit together: ${err.message}`);
    throw err;
  }
  let url: string;
  try {
    ({ url } = await server.listen({ host, port }));
  } catch (err) {
    await server.close();
    throw err;
  }
  await write(io.stderr, `prmkit serve: ${prm.name}${prm.kind === 'orm' ? ', an outcome reward model,' : ''} on ${url} (${prm.backend.kind}${prm.backend.kind === 'onnx' ? `/${prm.backend.provider}` : ''}${options.apiKey ? ', API key required' : ''}; kernels: ${kernelBackendInfo().label})\n`);
  if (options.ui) await write(io.stderr, `prmkit serve: scoring page at ${url}/\n`);
  const cache = options.model.prefixCache?.stats();
  // a flag that asked for a cache the model cannot keep is said, not silently dropped
  if (cache) await write(io.stderr, `prmkit serve: prefix cache of ${(cache.maxBytes / 2 ** 20).toFixed(0)} MiB of keys/values across requests\n`);
  else if (prefixCacheMb) await write(io.stderr, `prmkit serve: no prefix cache: ${prm.kind === 'orm' ? 'an outcome model scores whole chains' : prm.stats.prefixes.unavailable ?? 'an implicit PRM keeps no keys/values'}\n`);

  await new Promise<void>((resolve) => {
    if (!io.signal || io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await write(io.stderr, 'prmkit serve: shutting down; finishing requests in flight\n');
  await server.close();
  await write(io.stderr, 'prmkit serve: stopped\n');
  return 0;
}
