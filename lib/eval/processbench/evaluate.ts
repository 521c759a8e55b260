// ProcessBench end to end: score every chain once, turn step probabilities into predicted
// earliest errors (fixed threshold, tuned threshold, or the first-drop rule), then tally.
import type { StepScorer } from '../../interfaces.js';
import { createDetector } from '../detectors.js';
import type { DetectorSpec } from '../detectors.js';
import { invalidRange, keysOf, knownKeys, object, string } from '../../is.js';
import { checkScorer, scoreChains } from '../score.js';
import { computeMetrics } from './metrics.js';
import type { ProcessBenchMetrics } from './metrics.js';
import type { ProcessBenchSubset } from './read.js';
import { tuneThreshold } from './tune.js';
import type { TunedThreshold } from './tune.js';

export interface DecisionOptions {
  /** How to pick the earliest error (default: threshold 0.5). */
  detector?: DetectorSpec;
  /**
   * Tune the threshold on this subset (max F1) and apply it to every subset, as the paper does
   * for scalar PRMs with GSM8K. Replaces the detector's threshold; threshold detector only.
   */
  tuneOn?: string;
}

export interface EvaluateOptions extends DecisionOptions {
  scorer: StepScorer;
  /** Chains per scorer call (default 32). */
  batchSize?: number;
  /** Scorer calls in flight (default 1). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

export interface ProcessBenchResult {
  /** The detector actually applied (with the tuned threshold filled in). */
  detector: DetectorSpec;
  tuned?: TunedThreshold & { subset: string };
  metrics: ProcessBenchMetrics;
  /** Predicted earliest error per record id. */
  predictions: Map<string, number>;
}

export interface ProcessBenchRun extends ProcessBenchResult {
  scorer: string;
  /** Step probabilities per record id, kept so other detectors can be tried without rescoring. */
  stepProbs: Map<string, number[]>;
}

const DECISION_KEYS = keysOf<DecisionOptions>()({ detector: true, tuneOn: true });
const EVALUATE_KEYS = keysOf<EvaluateOptions>()({
  detector: true, tuneOn: true, scorer: true, batchSize: true, concurrency: true, signal: true, onProgress: true,
});

function checkDecision(subsets: readonly ProcessBenchSubset[], options: DecisionOptions, known: readonly string[] = DECISION_KEYS): DetectorSpec {
  if (!Array.isArray(subsets) || subsets.length === 0) throw invalidRange('subsets', 'a non-empty array of ProcessBench subsets', subsets);
  knownKeys(object(options, 'options'), known);
  if (options.tuneOn !== undefined) string(options.tuneOn, 'tuneOn');
  const detector = options.detector ?? { kind: 'threshold', threshold: 0.5 };
  createDetector(detector); // validates
  if (options.tuneOn !== undefined) {
    if (detector.kind !== 'threshold')
      throw new TypeError(`tuneOn tunes a threshold; it cannot be combined with the ${detector.kind} detector`);
    if (!subsets.some((s) => s.name === options.tuneOn))
      throw new RangeError(`tuneOn subset ${options.tuneOn} is not among the evaluated subsets (${subsets.map((s) => s.name).join(', ')})`);
  }
  return detector;
}

/** Decides and tallies from step probabilities already computed (no scorer calls). */
export function evaluateStepProbs(
  subsets: readonly ProcessBenchSubset[],
  stepProbs: ReadonlyMap<string, readonly number[]>,
  options: DecisionOptions = {},
): ProcessBenchResult {
  let detector = checkDecision(subsets, options);
  let tuned: ProcessBenchResult['tuned'];
  if (options.tuneOn !== undefined) {
    const on = subsets.find((s) => s.name === options.tuneOn)!;
    tuned = { subset: on.name, ...tuneThreshold(on.records, stepProbs) };
    detector = { kind: 'threshold', threshold: tuned.threshold };
  }
  const detect = createDetector(detector);
  const predictions = new Map<string, number>();
  for (const s of subsets)
    for (const r of s.records) {
      const probs = stepProbs.get(r.id);
      if (!probs) throw new RangeError(`no step probabilities for id ${r.id}`);
      predictions.set(r.id, detect(probs));
    }
  return { detector, ...(tuned ? { tuned } : {}), metrics: computeMetrics(subsets, predictions), predictions };
}

/** Scores every record of every subset with `scorer`, then evaluates. */
export async function evaluateProcessBench(subsets: readonly ProcessBenchSubset[], options: EvaluateOptions): Promise<ProcessBenchRun> {
  checkScorer(object(options, 'options').scorer);
  checkDecision(subsets, options, EVALUATE_KEYS); // fail before the (expensive) scoring
  const items = subsets.flatMap((s) => s.records.map((r) => ({ id: r.id, problem: r.problem, steps: r.steps })));
  const stepProbs = await scoreChains(options.scorer, items, options, EVALUATE_KEYS);
  const decision = { ...(options.detector ? { detector: options.detector } : {}), ...(options.tuneOn !== undefined ? { tuneOn: options.tuneOn } : {}) };
  return { scorer: options.scorer.name, ...evaluateStepProbs(subsets, stepProbs, decision), stepProbs };
}
