// `prmkit eval --help`: the three evaluation commands and their flags.
import { GENERATOR_SPEC_HELP } from '../../eval/generator-spec.js';
import { MODEL_HELP } from '../model-options.js';

export const EVAL_HELP = `prmkit eval: evaluate process reward models

usage:
  prmkit eval processbench --data DIR -m MODEL -t TOKENIZER -f FORMAT [options]
  prmkit eval processbench --data DIR --vllm URL -t TOKENIZER -f FORMAT [options]
  prmkit eval processbench --data DIR --scorer oracle|always-correct [options]
  prmkit eval processbench --data DIR --predictions FILE.jsonl [options]
  prmkit eval prm800k --input FILE.jsonl [--output FILE.jsonl] [options]
  prmkit eval label --chains FILE.jsonl --generator SPEC --output FILE.jsonl [options]

processbench (Zheng et al. 2024): per subset, accuracy on erroneous samples, accuracy on
correct samples and their harmonic mean F1; then the average F1. The PRM is named by the
model flags below, as for every other command; a model with a short context finishes with
--overflow truncate (steps past the context count as not wrong; the report says how many
chains were cut).
  --data DIR              directory of <subset>.json files (gsm8k.json, math.json, ...)
  --scorer NAME           a reference scorer instead of a model: oracle (the labels: F1 100)
                          or always-correct (P = 1 everywhere: 0 on erroneous samples)
  --predictions FILE      JSON Lines {"id": ..., "prediction": <step index or -1>}; metrics only.
                          Every record needs exactly one prediction; unknown ids are errors.
  --scores FILE           keep every chain's step probabilities in FILE (JSON Lines, appended
                          per batch); a rerun reads them back and scores only the rest, so an
                          interrupted or failed run loses nothing
  --subsets a,b           evaluate only these subsets (default: all files in DIR)
  --limit N               first N records of each subset
  --threshold T           earliest error = first step with p < T (default 0.5)
  --tune-on SUBSET        tune the threshold for best F1 on SUBSET, apply it to all (paper: gsm8k)
  --first-drop [RATIO]    earliest error = first step with p < RATIO x previous p (default 0.5)
  --batch-size N          chains per scorer call (default 32)
  --concurrency N         scorer calls in flight (default 1; more for a remote --vllm)
  --write-predictions F   also write the predictions as JSON Lines
  --json FILE             write the report as JSON (FILE "-" prints JSON instead of the table)
  --progress / --no-progress   progress on stderr (default: when stderr is a terminal)

${MODEL_HELP}
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
  --progress / --no-progress   progress on stderr (default: when stderr is a terminal)

  -h, --help              this help
  -v, --verbose           stack traces on errors
`;
