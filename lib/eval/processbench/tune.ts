// Threshold tuning for scalar PRMs, as ProcessBench does: pick the threshold that maximises F1
// on one subset (GSM8K in the paper) and apply it to the others.
//
// Exact, not a grid: with the rule "first step with p < t", each sample is judged right on one
// interval of t, so F1(t) is a step function whose breaks are the samples' interval ends.
import { harmonicMean } from './metrics.js';
import type { ProcessBenchRecord } from './read.js';

export interface TunedThreshold {
  threshold: number;
  /** Percent, on the tuning records. */
  f1: number;
  erroneousAccuracy: number;
  correctAccuracy: number;
  /** How many distinct thresholds were compared. */
  candidates: number;
}

/**
 * The interval of thresholds (lo, hi] on which `firstBelowThreshold(probs, t)` returns `label`.
 * NaN steps never fire, exactly as in the detector.
 */
function hitInterval(probs: readonly number[], label: number): [number, number] {
  let min = Infinity; // min over judged steps before the candidate step
  const end = label === -1 ? probs.length : label;
  for (let i = 0; i < end; i++) if (probs[i]! < min) min = probs[i]!;
  if (label === -1) return [-Infinity, min];
  const p = probs[label]!;
  // p < t <= min; an unjudged (NaN) error step can never be predicted
  return Number.isNaN(p) ? [Infinity, -Infinity] : [p, min];
}

function firstAbove(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid]! > x) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Finds the threshold in [0, 1] with the best F1 on `records`, given each record's step
 * probabilities. Ties go to the threshold nearest 0.5 (the uncalibrated default).
 */
export function tuneThreshold(records: readonly ProcessBenchRecord[], stepProbs: ReadonlyMap<string, readonly number[]>): TunedThreshold {
  if (records.length === 0) throw new RangeError('cannot tune a threshold on zero records');
  const intervals = records.map((r) => {
    const probs = stepProbs.get(r.id);
    if (!probs) throw new RangeError(`no step probabilities for id ${r.id}`);
    if (probs.length !== r.steps.length)
      throw new RangeError(`id ${r.id}: ${probs.length} step probabilities for ${r.steps.length} steps`);
    return hitInterval(probs, r.label);
  });
  // one representative threshold per constant piece of F1(t), restricted to [0, 1]
  const ends = [...new Set(intervals.flat().filter((e) => Number.isFinite(e) && e >= 0 && e <= 1))].sort((a, b) => a - b);
  const reps: number[] = [];
  if (ends.length === 0) reps.push(0.5);
  else {
    reps.push(ends[0]!);
    for (let j = 0; j + 1 < ends.length; j++) reps.push((ends[j]! + ends[j + 1]!) / 2);
    if (ends[ends.length - 1]! < 1) reps.push((ends[ends.length - 1]! + 1) / 2);
  }
  const t = Float64Array.from(reps);
  const errDiff = new Int32Array(t.length + 1);
  const okDiff = new Int32Array(t.length + 1);
  let errTotal = 0;
  let okTotal = 0;
  records.forEach((r, i) => {
    const [lo, hi] = intervals[i]!;
    const diff = r.label === -1 ? okDiff : errDiff;
    if (r.label === -1) okTotal++;
    else errTotal++;
    if (!(lo < hi)) return;
    diff[firstAbove(t, lo)] += 1;
    diff[firstAbove(t, hi)] -= 1;
  });
  let best: TunedThreshold | undefined;
  let err = 0;
  let ok = 0;
  for (let c = 0; c < t.length; c++) {
    err += errDiff[c]!;
    ok += okDiff[c]!;
    const ea = errTotal ? (100 * err) / errTotal : NaN;
    const ca = okTotal ? (100 * ok) / okTotal : NaN;
    // with one class absent F1 is undefined; optimise the accuracy that exists instead
    const f1 = errTotal && okTotal ? harmonicMean(ea, ca) : errTotal ? ea : ca;
    const better =
      !best || f1 > best.f1 || (f1 === best.f1 && Math.abs(t[c]! - 0.5) < Math.abs(best.threshold - 0.5));
    if (better) best = { threshold: t[c]!, f1, erroneousAccuracy: ea, correctAccuracy: ca, candidates: t.length };
  }
  return best!;
}
