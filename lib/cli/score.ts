// prmkit score: JSONL chains in, JSONL scores out, resumable. Each output line carries the
// input's id; a rerun with the same --output skips ids already there, so an interrupted run
// (Ctrl-C, crash, preemption) picks up where it stopped.
import { createReadStream, createWriteStream, existsSync, openSync, closeSync, fstatSync, readSync, ftruncateSync, realpathSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { AGGREGATIONS } from '../kernels/types.js';
import type { Aggregation } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';
import type { Prm } from '../prm/index.js';
import { intOption, numberOption, parse, stringOption } from './args.js';
import { CliError, UsageError, write } from './io.js';
import type { CliIo } from './io.js';
import { MODEL_HELP, MODEL_OPTIONS, loadPrm, modelLoadOptions } from './model-options.js';
import { Progress } from './progress.js';

export const SCORE_HELP = `prmkit score: score reasoning chains from JSONL

usage:
  prmkit score -m MODEL -t TOKENIZER -f FORMAT [-i in.jsonl] [-o out.jsonl] [options]

Each input line is {"id"?, "problem": "...", "steps": ["...", ...]} (other fields are
ignored, so ProcessBench rows work as they are). Each output line is
{"id", "score", "aggregate", "stepProbs", "firstError", "tokens", "truncated"}; lines
without an id get "line-N" (N = line number). With -o FILE the run is resumable: ids
already in FILE are skipped and new lines are appended.

input/output:
  -i, --input PATH          JSONL input (default: stdin)
  -o, --output PATH         JSONL output, appended to (default: stdout)
      --aggregate HOW       prod | min | last | mean | geomean (default: the format's)
      --error-threshold P   first error = first step with p < P, in (0, 1) (default 0.5)
      --batch-size N        chains per model call (default 64)
      --skip-invalid        warn about bad input lines and go on (default: stop at the first)
      --progress / --no-progress   progress bar on stderr (default: when stderr is a terminal)

${MODEL_HELP}`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
  aggregate: { type: 'string' },
  'error-threshold': { type: 'string' },
  'batch-size': { type: 'string' },
  'skip-invalid': { type: 'boolean' },
  progress: { type: 'boolean' },
  'no-progress': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  verbose: { type: 'boolean', short: 'v' },
} as const;

interface Pending {
  id: string;
  item: ChainItem;
}

/** The id of an input or output line (`line-N` when it has none). */
function lineId(obj: Record<string, unknown>, lineNo: number): string {
  const id = obj['id'];
  if (typeof id === 'string') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return `line-${lineNo}`;
}

function parseChain(text: string, lineNo: number): { id: string; item: ChainItem } {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new CliError(`input line ${lineNo}: not valid JSON (${(err as Error).message})`);
  }
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) throw new CliError(`input line ${lineNo}: expected a JSON object`);
  const o = obj as Record<string, unknown>;
  if (typeof o['problem'] !== 'string') throw new CliError(`input line ${lineNo}: "problem" must be a string`);
  const steps = o['steps'];
  if (!Array.isArray(steps) || !steps.every((s) => typeof s === 'string')) throw new CliError(`input line ${lineNo}: "steps" must be an array of strings`);
  const id = lineId(o, lineNo);
  return { id, item: { problem: o['problem'], steps: steps as string[], id } };
}

/**
 * Ids already in the output file. A last line cut short by a crash is removed, so the file
 * stays valid JSONL and that chain is scored again.
 */
async function doneIds(path: string): Promise<Set<string>> {
  const done = new Set<string>();
  if (!existsSync(path)) return done;
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size > 0) {
      // find the last newline and drop what follows it, if anything
      const chunk = Buffer.alloc(Math.min(size, 1 << 16));
      let end = size;
      let keep = -1;
      while (end > 0 && keep < 0) {
        const start = Math.max(0, end - chunk.length);
        const n = readSync(fd, chunk, 0, end - start, start);
        const at = chunk.subarray(0, n).lastIndexOf(0x0a);
        if (at >= 0) keep = start + at + 1;
        end = start;
      }
      if (keep < 0) keep = 0;
      if (keep < size) ftruncateSync(fd, keep);
    }
  } finally {
    closeSync(fd);
  }
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim().length === 0) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new CliError(`output ${path} line ${n} is not valid JSON; it is not a prmkit score output (move it away to start over)`);
    }
    const id = (obj as Record<string, unknown> | null)?.['id'];
    if (typeof id === 'string') done.add(id);
  }
  return done;
}

async function countLines(path: string): Promise<number> {
  let n = 0;
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) if (line.trim().length > 0) n++;
  return n;
}

export async function runScore(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, SCORE_HELP);
    return 0;
  }
  const loadOptions = modelLoadOptions(values, 'score');
  const aggregate = stringOption(values, 'aggregate');
  if (aggregate !== undefined && !(AGGREGATIONS as readonly string[]).includes(aggregate)) {
    throw new UsageError(`--aggregate must be one of ${AGGREGATIONS.join(', ')}, got ${JSON.stringify(aggregate)}`);
  }
  const threshold = numberOption(values, 'error-threshold', (n) => n > 0 && n < 1, 'in (0, 1)', 0.5)!;
  const batchSize = intOption(values, 'batch-size', 1, 64)!;
  const input = stringOption(values, 'input') ?? '-';
  const output = stringOption(values, 'output') ?? '-';
  const skipInvalid = values['skip-invalid'] === true;
  if (values['progress'] && values['no-progress']) throw new UsageError('--progress and --no-progress contradict each other');
  const showProgress = values['progress'] === true || (values['no-progress'] !== true && io.stderr.isTTY === true);

  if (input !== '-' && !existsSync(input)) throw new CliError(`input ${input} does not exist`);
  if (input !== '-' && output !== '-' && existsSync(output) && realpathSync(input) === realpathSync(output)) {
    throw new CliError('--input and --output are the same file');
  }

  const done = output === '-' ? new Set<string>() : await doneIds(output);
  const total = input === '-' ? undefined : await countLines(input);
  const prm: Prm = await loadPrm(loadOptions);
  const source: Readable = input === '-' ? io.stdin : createReadStream(input, 'utf8');
  const sink: Writable = output === '-' ? io.stdout : createWriteStream(output, { flags: 'a' });
  const progress = showProgress ? new Progress(io.stderr, total === undefined ? undefined : total - Math.min(done.size, total)) : undefined;
  const how: Aggregation = (aggregate as Aggregation | undefined) ?? prm.defaultAggregate;

  let scored = 0;
  let skipped = 0;
  let invalid = 0;
  let batch: Pending[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const results = await prm.score(
      batch.map((p) => p.item),
      { aggregate: how, errorThreshold: threshold },
    );
    let text = '';
    results.forEach((r, i) => {
      text +=
        JSON.stringify({
          id: batch[i]!.id,
          score: r.score,
          aggregate: how,
          stepProbs: r.stepProbs,
          firstError: r.firstError,
          tokens: r.tokens,
          truncated: r.truncated,
        }) + '\n';
    });
    // one write per batch: an interruption leaves whole batches (at most one cut line)
    await write(sink, text);
    scored += batch.length;
    progress?.advance(batch.length);
    batch = [];
  };

  let interrupted = false;
  const rl = createInterface({ input: source, crlfDelay: Infinity });
  // stop reading at once; what was read is still scored and written, so nothing is lost
  const onStop = () => {
    interrupted = true;
    rl.close();
  };
  if (io.signal?.aborted) onStop();
  else io.signal?.addEventListener('abort', onStop, { once: true });
  try {
    let lineNo = 0;
    for await (const line of rl) {
      lineNo++;
      if (line.trim().length === 0) continue;
      let parsed: { id: string; item: ChainItem };
      try {
        parsed = parseChain(line, lineNo);
      } catch (err) {
        if (!skipInvalid) throw err;
        invalid++;
        await write(io.stderr, `prmkit score: skipping ${(err as Error).message}\n`);
        continue;
      }
      if (done.has(parsed.id)) {
        skipped++;
        continue;
      }
      done.add(parsed.id);
      batch.push(parsed);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } finally {
    io.signal?.removeEventListener('abort', onStop);
    rl.close();
    progress?.finish();
    if (sink !== io.stdout) await new Promise<void>((resolve) => (sink as ReturnType<typeof createWriteStream>).end(resolve));
    await prm.close();
  }
  const parts = [`scored ${scored} chains`];
  if (skipped > 0) parts.push(`skipped ${skipped} already in ${output}`);
  if (invalid > 0) parts.push(`skipped ${invalid} invalid lines`);
  await write(io.stderr, `prmkit score: ${parts.join(', ')}${interrupted ? '; interrupted, rerun the same command to resume' : ''}\n`);
  return interrupted ? 130 : 0;
}
