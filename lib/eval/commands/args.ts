// Shared pieces of the eval subcommands: usage errors (exit 2), number arguments, output.
import type { Writable } from 'node:stream';
import { GENERATOR_SPEC_HELP } from '../generator-spec.js';
import { SCORER_SPEC_HELP } from '../scorer-spec.js';

export interface EvalIo {
  stdout: Writable;
  stderr: Writable;
}

/** A mistake in the command line: reported with a pointer to --help, exit code 2. */
export class UsageError extends Error {}

export const HELP = `prmkit eval: evaluate process reward models

usage:
  prmkit eval processbench --data DIR --scorer SPEC [options]
  prmkit eval processbench --data DIR --predictions FILE.jsonl [options]
  prmkit eval prm800k --input FILE.jsonl [--output FILE.jsonl] [options]
  prmkit eval label --chains FILE.jsonl --generator SPEC --output FILE.jsonl [options]

processbench (Zheng et al. 2024): per subset, accuracy on erroneous samples, accuracy on
correct samples and their harmonic mean F1; then the average F1.
  --data DIR              directory of <subset>.json files (gsm8k.json, math.json, ...)
  --scorer SPEC           ${SCORER_SPEC_HELP}
  --predictions FILE      JSON Lines {"id": ..., "prediction": <step index or -1>}; metrics only.
                          Every record needs exactly one prediction; unknown ids are errors.
  --subsets a,b           evaluate only these subsets (default: all files in DIR)
  --limit N               first N records of each subset
  --threshold T           earliest error = first step with p < T (default 0.5)
  --tune-on SUBSET        tune the threshold for best F1 on SUBSET, apply it to all (paper: gsm8k)
  --first-drop [RATIO]    earliest error = first step with p < RATIO x previous p (default 0.5)
  --batch-size N          chains per scorer call (default 32)
  --concurrency N         scorer calls in flight (default 1; more for a remote vllm: scorer)
  --write-predictions F   also write the predictions as JSON Lines
  --json FILE             write the report as JSON (FILE "-" prints JSON instead of the table)

prm800k (Lightman et al. 2023): raw phase1/phase2 label records to step-labelled chains.
  --input FILE            a PRM800K .jsonl file
  --output FILE           write chains as JSON Lines (default: only print counts)
  --neutral correct|incorrect   how rating 0 counts (default correct)
  --human include|stop    labeler-written steps: keep as +1 (default) or end the chain before them
  --alternatives          also emit one chain per rated alternative completion
  --finish-reasons a,b    keep these (default found_error,solution,give_up)
  --skip-control          drop quality-control and screening questions
  --limit N               first N records

label (Math-Shepherd, Wang et al. 2024): for every step prefix, N rollouts checked against the
gold answer; hard label = any rollout right, soft label = fraction right. Resumable.
  --chains FILE           JSON Lines {id, problem, steps, goldAnswer} (ground_truth_answer and
                          groundTruthAnswer are accepted too, e.g. from 'eval prm800k --output')
  --generator SPEC        ${GENERATOR_SPEC_HELP}
  --output FILE           labels as JSON Lines, appended per batch; an existing file is resumed
  --overwrite             start the output file over instead of resuming
  --n N                   rollouts per prefix (default 8)
  --max-rollout-steps N   steps a rollout may add (default 32)
  --chains-per-batch N    chains rolled out together between writes (default 32)
  --temperature T, --max-tokens N, --seed N   sampling options for the generator
  --limit N               first N chains

  -h, --help              this help
`;

export function positive(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return x;
}

export function unit(v: string, name: string, open: boolean): number {
  const x = Number(v);
  if (v.trim() === '' || !Number.isFinite(x) || x < 0 || x > 1 || (open && x === 0))
    throw new UsageError(`${name} must be a number in ${open ? '(0, 1]' : '[0, 1]'}, got ${JSON.stringify(v)}`);
  return x;
}

export function number(v: string | undefined, name: string, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (v.trim() === '' || !check(x)) throw new UsageError(`${name} must be ${what}, got ${JSON.stringify(v)}`);
  return x;
}

export function list(v: string | undefined): string[] | undefined {
  return v === undefined ? undefined : v.split(',').map((s) => s.trim()).filter(Boolean);
}

/** Writes and waits for the stream to take it (pipes to a slow reader stay bounded). */
export function write(stream: Writable, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', resolve);
  });
}

/** Turns a spec parser's complaint into a usage error. */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
