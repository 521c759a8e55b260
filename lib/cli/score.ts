// prmkit score: JSONL chains in, JSONL scores out, resumable. Each output line carries the
// input's id; a rerun with the same --output skips ids already there, so an interrupted run
// (Ctrl-C, crash, preemption) picks up where it stopped. Every result the model gave is
// written, whatever fails after it.
import { createReadStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { OrmItem } from '../orm/index.js';
import type { ChainItem } from '../interfaces.js';
import { aggregateOption, intOption, parse, progressWanted, PROGRESS_OPTIONS, stringOption, thresholdOption } from './args.js';
import { CliError, fileError, UsageError, write } from './io.js';
import type { CliIo } from './io.js';
import { IdRegistry, InputLineError, lineError, parseChainLine } from './input.js';
import type { InputChain } from './input.js';
import { MODEL_HELP, MODEL_OPTIONS, modelSpec, noteDemo, openRanker } from './model-options.js';
import { closeOutput, inspectOutput, openOutput } from './output.js';
import { Progress } from './progress.js';

export const SCORE_HELP = `prmkit score: score reasoning chains from JSONL

usage:
  prmkit score -m MODEL -t TOKENIZER -f FORMAT [-i in.jsonl] [-o out.jsonl] [options]
  prmkit score [-i in.jsonl] ...   no model named: the built-in arithmetic demo PRM

Each input line is {"id"?, "problem": "...", "steps": ["...", ...]} (other fields are
ignored, so ProcessBench rows work as they are). Each output line is
{"id", "score", "aggregate", "stepProbs", "firstError", "tokens", "truncated"}. With an
outcome reward model (an ORM folder from prmkit convert) a line may give "solution": "..." (the
whole text) instead of steps, and each output line is {"id", "reward", "probability"?,
"tokens", "truncated"}: one score per solution, no step scores. An implicit PRM (a folder
converted with --reference) writes "stepRewards" instead of "stepProbs" (its rewards are not
probabilities; its first error is the first reward below 0). Ids are
strings: a number id is its decimal text (1 and "1" are one id), a line without one gets
"line-N" (N = its line number), and two lines with one id are an error naming both.
With -o FILE the run is resumable: ids already in FILE are skipped and new lines are appended.
FILE must be a prmkit score output (or not exist): anything else is refused, never changed.
-o - (default), /dev/stdout, pipes and devices are written, never read back.

input/output:
  -i, --input PATH          JSONL input (default: stdin)
  -o, --output PATH         JSONL output, appended to (default: stdout)
      --aggregate HOW       prod | min | last | mean | geomean (default: the format's)
      --error-threshold P   first error = first step with p < P, in (0, 1) (default 0.5)
      --batch-size N        chains per model call (default 64)
      --skip-invalid        report bad lines (by line number) and go on; bad lines include those
                            the model refuses (a step holding the format's separator, a chain
                            over --max-context). Default: stop at the first, after writing
                            every result before it
      --progress / --no-progress   progress bar on stderr (default: when stderr is a terminal)
  -v, --verbose             stack traces on errors

${MODEL_HELP}`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  ...PROGRESS_OPTIONS,
  input: { type: 'string', short: 'i' },
  output: { type: 'string', short: 'o' },
  aggregate: { type: 'string' },
  'error-threshold': { type: 'string' },
  'batch-size': { type: 'string' },
  'skip-invalid': { type: 'boolean' },
} as const;

/** What marks a line of a score output (a file of anything else is never appended to). */
export const SCORE_OUTPUT = { what: 'a prmkit score output', fields: ['score', 'stepProbs'] } as const;
/** An implicit PRM's lines carry step rewards instead of probabilities. */
export const IMPLICIT_SCORE_OUTPUT = { what: "a prmkit score output of an implicit PRM", fields: ['score', 'stepRewards'] } as const;
/** ... and of an outcome reward model's. */
export const ORM_SCORE_OUTPUT = { what: "a prmkit score output of an outcome reward model", fields: ['reward', 'tokens'] } as const;

async function countLines(path: string, signal?: AbortSignal): Promise<number> {
  let n = 0;
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity, ...(signal ? { signal } : {}) });
  try {
    for await (const line of rl) if (line.trim().length > 0) n++;
  } catch (err) {
    if (signal?.aborted) return n;
    throw err;
  }
  return n;
}

function checkInput(path: string): void {
  let isFile: boolean;
  try {
    isFile = !statSync(path).isDirectory();
  } catch (err) {
    throw fileError(err, `cannot read input ${path}`) ?? err;
  }
  if (!isFile) throw new CliError(`cannot read input ${path}: is a directory (EISDIR)`);
}

export async function runScore(argv: string[], io: CliIo): Promise<number> {
  const { values } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, SCORE_HELP);
    return 0;
  }
  const spec = modelSpec(values, 'score', { orm: true, demo: true });
  const orm = spec.kind === 'orm';
  for (const flag of ['aggregate', 'error-threshold'])
    if (orm && values[flag] !== undefined) throw new UsageError(`--${flag} applies to a PRM's step scores; an outcome reward model gives one score per solution`);
  // an implicit PRM's folder (format eurus-prm) gives step rewards, not probabilities
  const implicit = spec.kind !== 'orm' && spec.options.format === 'eurus-prm';
  if (implicit && values['error-threshold'] !== undefined)
    throw new UsageError("--error-threshold is a probability; an implicit PRM's step rewards are not (its first error is the first reward below 0)");
  const aggregate = aggregateOption(values);
  const threshold = thresholdOption(values, 'error-threshold', 0.5)!;
  const batchSize = intOption(values, 'batch-size', 1, 64)!;
  const input = stringOption(values, 'input') ?? '-';
  const output = stringOption(values, 'output') ?? '-';
  const skipInvalid = values['skip-invalid'] === true;
  const showProgress = progressWanted(values, io.stderr);

  // everything about the files is settled before the model is opened, and nothing is
  // written until it is: a bad model path leaves the output as it was
  if (input !== '-') checkInput(input);
  const done = new Set<string>();
  const plan = await inspectOutput(output, io, orm ? ORM_SCORE_OUTPUT : implicit ? IMPLICIT_SCORE_OUTPUT : SCORE_OUTPUT, (o) => done.add(o['id'] as string), io.signal);
  if (input !== '-' && plan.mode !== 'stdout') {
    const a = statSync(input);
    let b;
    try {
      b = statSync(plan.path);
    } catch {
      b = undefined;
    }
    if (b && a.dev === b.dev && a.ino === b.ino) throw new CliError('--input and --output are the same file');
  }
  // only a regular file can be read twice (a pipe or /dev/stdin would be used up by counting)
  const total = showProgress && input !== '-' && statSync(input).isFile() ? await countLines(input, io.signal) : undefined;
  const progress = new Progress(io.stderr, { enabled: showProgress, ...(total !== undefined ? { total: Math.max(0, total - done.size) } : {}) });

  await noteDemo(spec, io);
  const model = await openRanker(spec, io.signal);
  let sink: Writable | undefined;
  let scored = 0;
  let skipped = 0;
  let invalid = 0;
  let interrupted = false;
  let failure: unknown;
  const how = model.kind === 'prm' ? (aggregate ?? model.defaultAggregate) : undefined;
  /** One output line per chain, in order: a PRM's step scores, or an ORM's one score. */
  const scoreLines = async (chains: readonly InputChain[]): Promise<string[]> => {
    const items: ReadonlyArray<ChainItem | OrmItem> = chains.map((c) => c.item);
    if (model.kind === 'orm')
      return (await model.score(items)).map((r, i) => JSON.stringify({ id: chains[i]!.id, reward: r.reward, ...(r.probability !== undefined ? { probability: r.probability } : {}), tokens: r.tokens, truncated: r.truncated }));
    const rs = await model.score(items as ChainItem[], implicit ? { aggregate: how } : { aggregate: how, errorThreshold: threshold });
    return rs.map((r, i) =>
      JSON.stringify({ id: chains[i]!.id, score: r.score, aggregate: how, ...(implicit ? { stepRewards: r.stepRewards } : { stepProbs: r.stepProbs }), firstError: r.firstError, tokens: r.tokens, truncated: r.truncated }),
    );
  };
  const source: Readable = input === '-' ? io.stdin : createReadStream(input, 'utf8');
  const rl = createInterface({ input: source, crlfDelay: Infinity });
  // Stop reading and scoring at once: the model call in flight finishes and is written; lines
  // read but not yet sent (readline hands over a whole chunk of lines at a time) are left for
  // the rerun, which resumes after the last id written.
  const onStop = () => {
    interrupted = true;
    rl.close();
  };

  const emit = async (chains: readonly InputChain[], lines: readonly string[]) => {
    const text = lines.map((l) => l + '\n').join('');
    // one write per model call: an interruption leaves whole calls (at most one cut line)
    try {
      await write(sink!, text);
    } catch (err) {
      throw fileError(err, `cannot write output ${plan.label}`) ?? err;
    }
    scored += chains.length;
    progress.advance(chains.length);
  };

  const reject = async (err: InputLineError) => {
    if (!skipInvalid) throw err;
    invalid++;
    await progress.note(`prmkit score: skipping ${err.message}`);
  };

  /**
   * Scores `chains` and writes every result. A chain the model refuses is mapped to its input
   * line; the chains before it are scored and written first, those after it are retried.
   */
  const scoreAll = async (chains: readonly InputChain[]): Promise<void> => {
    let rest = chains;
    while (rest.length > 0) {
      if (interrupted) return;
      try {
        await emit(rest, await scoreLines(rest));
        return;
      } catch (err) {
        const bad = lineError(err, rest);
        if (!bad) throw err;
        const k = rest.findIndex((c) => c.line === bad.line);
        await scoreAll(rest.slice(0, k));
        await reject(bad);
        rest = rest.slice(k + 1);
      }
    }
  };

  try {
    sink = openOutput(plan, io);
    if (io.signal?.aborted) onStop();
    else io.signal?.addEventListener('abort', onStop, { once: true });
    const ids = new IdRegistry();
    let batch: InputChain[] = [];
    let lineNo = 0;
    // a readline interface closed before its loop starts never ends the loop: check first
    const lines = interrupted ? [] : rl;
    for await (const line of lines) {
      if (interrupted) break;
      lineNo++;
      if (line.trim().length === 0) continue;
      let chain: InputChain;
      try {
        chain = parseChainLine(line, lineNo, { solutions: orm });
        ids.claim(chain);
      } catch (err) {
        if (!(err instanceof InputLineError)) throw err;
        await scoreAll(batch); // the lines before a fatal one are kept
        batch = [];
        await reject(err);
        continue;
      }
      if (done.has(chain.id)) {
        skipped++;
        continue;
      }
      batch.push(chain);
      if (batch.length >= batchSize) {
        await scoreAll(batch);
        batch = [];
      }
    }
    await scoreAll(batch);
  } catch (err) {
    failure = err;
    throw err;
  } finally {
    io.signal?.removeEventListener('abort', onStop);
    rl.close();
    if (input !== '-') source.destroy();
    progress.finish();
    try {
      if (sink) await closeOutput(sink, io);
    } catch (err) {
      // the first failure is the one to report
      if (failure === undefined) throw fileError(err, `cannot write output ${plan.label}`) ?? err;
    } finally {
      await model.close();
    }
  }
  const parts = [`scored ${scored} chains`];
  if (skipped > 0) parts.push(`skipped ${skipped} already in ${plan.label}`);
  if (invalid > 0) parts.push(`skipped ${invalid} invalid lines`);
  await write(io.stderr, `prmkit score: ${parts.join(', ')}${interrupted ? '; interrupted, rerun the same command to resume' : ''}\n`);
  return interrupted ? 130 : 0;
}
