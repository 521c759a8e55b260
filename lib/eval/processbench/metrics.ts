// ProcessBench's metric: per subset, accuracy on erroneous samples (prediction == label), accuracy
// on correct samples (prediction == -1), and F1 = their harmonic mean; then the mean F1 over
// subsets. All values are percentages, as in the paper's tables.
import { show } from '../../is.js';
import type { ProcessBenchRecord, ProcessBenchSubset } from './read.js';

export interface SubsetMetrics {
  subset: string;
  samples: number;
  /** Samples with an error (label >= 0) and how many of them got exactly the right index. */
  erroneous: { total: number; hits: number };
  /** Samples with label -1 and how many were predicted -1. */
  correct: { total: number; hits: number };
  /** Percent; NaN when the subset has no erroneous samples. */
  erroneousAccuracy: number;
  /** Percent; NaN when the subset has no correct samples. */
  correctAccuracy: number;
  /** Harmonic mean of the two accuracies, percent (0 when both are 0). */
  f1: number;
}

export interface ProcessBenchMetrics {
  subsets: SubsetMetrics[];
  /** Mean of the subsets' F1 (percent). */
  averageF1: number;
}

export function harmonicMean(a: number, b: number): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  return a + b === 0 ? 0 : (2 * a * b) / (a + b);
}

/** Tallies a subset given a prediction for each record (same order as `records`). */
export function subsetMetrics(subset: string, records: readonly ProcessBenchRecord[], predictions: ArrayLike<number>): SubsetMetrics {
  if (predictions.length !== records.length)
    throw new RangeError(`subset ${subset}: ${predictions.length} predictions for ${records.length} records`);
  const erroneous = { total: 0, hits: 0 };
  const correct = { total: 0, hits: 0 };
  for (let i = 0; i < records.length; i++) {
    const { label } = records[i]!;
    const p = predictions[i]!;
    if (label === -1) {
      correct.total++;
      if (p === -1) correct.hits++;
    } else {
      erroneous.total++;
      if (p === label) erroneous.hits++;
    }
  }
  const erroneousAccuracy = erroneous.total ? (100 * erroneous.hits) / erroneous.total : NaN;
  const correctAccuracy = correct.total ? (100 * correct.hits) / correct.total : NaN;
  return {
    subset,
    samples: records.length,
    erroneous,
    correct,
    erroneousAccuracy,
    correctAccuracy,
    f1: harmonicMean(erroneousAccuracy, correctAccuracy),
  };
}

function checkPrediction(id: string, p: unknown, steps: number): number {
  if (typeof p !== 'number' || !Number.isInteger(p))
    throw new TypeError(`prediction for id ${id} must be an integer (-1 for "no error"), got ${show(p)}`);
  if (p < -1 || p >= steps)
    throw new RangeError(`prediction ${p} for id ${id} is outside -1..${steps - 1} (the chain has ${steps} steps)`);
  return p;
}

/**
 * Scores predictions keyed by record id. Every record needs a prediction and every prediction a
 * record: a gap or a stray id is an error naming it, never a silent skip (a skipped sample
 * would inflate the accuracies).
 */
export function computeMetrics(subsets: readonly ProcessBenchSubset[], predictions: ReadonlyMap<string, number>): ProcessBenchMetrics {
  if (!(predictions instanceof Map)) throw new TypeError('predictions must be a Map from record id to predicted index');
  const known = new Set<string>();
  const missing: string[] = [];
  const perSubset = subsets.map((s) => {
    const preds = new Int32Array(s.records.length);
    s.records.forEach((r, i) => {
      known.add(r.id);
      const p = predictions.get(r.id);
      if (p === undefined) missing.push(r.id);
      else preds[i] = checkPrediction(r.id, p, r.steps.length);
    });
    return preds;
  });
  const list = (ids: string[]) => ids.slice(0, 5).join(', ') + (ids.length > 5 ? `, ... (${ids.length} in all)` : '');
  if (missing.length) throw new RangeError(`no prediction for id ${list(missing)}`);
  const unknown = [...predictions.keys()].filter((id) => !known.has(id));
  if (unknown.length) throw new RangeError(`prediction for unknown id ${list(unknown)} (not in the evaluated subsets)`);
  return summarize(subsets.map((s, i) => subsetMetrics(s.name, s.records, perSubset[i]!)));
}

export function summarize(subsets: SubsetMetrics[]): ProcessBenchMetrics {
  const averageF1 = subsets.length ? subsets.reduce((a, s) => a + s.f1, 0) / subsets.length : NaN;
  return { subsets, averageF1 };
}
