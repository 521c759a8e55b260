// Earliest-error detectors: turn one chain's step probabilities into the index of the first
// wrong step (-1 when the chain looks correct). ProcessBench scores exactly this index.
import { invalidType, knownKeys, number, object, oneOf } from '../is.js';

/** Chooses the first wrong step from P(correct so far) after each step; -1 if none. */
export type ErrorDetector = (stepProbs: readonly number[]) => number;

export type DetectorSpec =
  | { kind: 'threshold'; threshold: number }
  | { kind: 'first-drop'; ratio?: number; start?: number };

function checkUnit(value: unknown, name: string, { open }: { open: boolean }): number {
  return number(value, name, 0, 1, { openMin: open });
}

function checkProbs(stepProbs: readonly number[]): void {
  if (!Array.isArray(stepProbs)) throw invalidType('stepProbs', 'an array of numbers', stepProbs);
}

/**
 * The first step with p < threshold. A NaN probability (a scorer that could not judge the
 * step) never counts as an error: the detector only reports what it saw.
 */
export function firstBelowThreshold(stepProbs: readonly number[], threshold = 0.5): number {
  checkProbs(stepProbs);
  checkUnit(threshold, 'threshold', { open: false });
  for (let i = 0; i < stepProbs.length; i++) if (stepProbs[i]! < threshold) return i;
  return -1;
}

export interface FirstDropOptions {
  /** A step is the error when p[i] < ratio * p[i-1] (default 0.5: "below half"). */
  ratio?: number;
  /**
   * The "previous score" the first step is compared with (default 1: before any step the
   * chain is certainly still correct, so a first step under `ratio` is flagged).
   */
  start?: number;
}

/**
 * The first-drop rule: the first step whose score falls below `ratio` times the previous
 * step's. Catches a sharp loss of confidence even when absolute scores stay high (a PRM
 * that is miscalibrated upward) and ignores a slow, steady decline.
 */
export function firstDrop(stepProbs: readonly number[], options: FirstDropOptions = {}): number {
  checkProbs(stepProbs);
  knownKeys(object(options, 'options'), ['ratio', 'start']);
  const ratio = checkUnit(options.ratio ?? 0.5, 'ratio', { open: true });
  let previous = checkUnit(options.start ?? 1, 'start', { open: false });
  for (let i = 0; i < stepProbs.length; i++) {
    const p = stepProbs[i]!;
    if (p < ratio * previous) return i;
    // a NaN step gives no evidence; keep comparing against the last real score
    if (!Number.isNaN(p)) previous = p;
  }
  return -1;
}

/** Builds a detector from its description (validated once, up front). */
export function createDetector(spec: DetectorSpec): ErrorDetector {
  object(spec, 'detector', 'an object with a kind');
  oneOf(spec.kind, 'detector.kind', ['threshold', 'first-drop'] as const);
  switch (spec.kind) {
    case 'threshold': {
      knownKeys(spec, ['kind', 'threshold'], 'detector');
      const t = checkUnit(spec.threshold, 'detector.threshold', { open: false });
      return (probs) => firstBelowThreshold(probs, t);
    }
    case 'first-drop': {
      knownKeys(spec, ['kind', 'ratio', 'start'], 'detector');
      const options = { ratio: spec.ratio ?? 0.5, start: spec.start ?? 1 };
      checkUnit(options.ratio, 'detector.ratio', { open: true });
      checkUnit(options.start, 'detector.start', { open: false });
      return (probs) => firstDrop(probs, options);
    }
    default:
      throw new TypeError(`detector.kind must be 'threshold' or 'first-drop', got ${String((spec as { kind: unknown }).kind)}`);
  }
}

/** Human-readable name of a detector, for reports. */
export function describeDetector(spec: DetectorSpec): string {
  return spec.kind === 'threshold'
    ? `p < ${spec.threshold}`
    : `p[i] < ${spec.ratio ?? 0.5} x p[i-1] (start ${spec.start ?? 1})`;
}
