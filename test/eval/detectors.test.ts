import { describe, expect, it } from 'vitest';
import { createDetector, describeDetector, firstBelowThreshold, firstDrop } from '../../lib/eval/detectors.js';

describe('firstBelowThreshold', () => {
  it('returns the first step under the threshold, -1 when none', () => {
    expect(firstBelowThreshold([0.9, 0.8, 0.4, 0.9, 0.1], 0.5)).toBe(2);
    expect(firstBelowThreshold([0.9, 0.8, 0.7], 0.5)).toBe(-1);
    expect(firstBelowThreshold([0.2, 0.9], 0.5)).toBe(0);
    expect(firstBelowThreshold([], 0.5)).toBe(-1);
  });
  it('is strict: p equal to the threshold is not an error', () => {
    expect(firstBelowThreshold([0.5, 0.49], 0.5)).toBe(1);
  });
  it('moves with the threshold', () => {
    const probs = [0.95, 0.7, 0.6, 0.3];
    expect(firstBelowThreshold(probs, 0.99)).toBe(0);
    expect(firstBelowThreshold(probs, 0.8)).toBe(1);
    expect(firstBelowThreshold(probs, 0.65)).toBe(2);
    expect(firstBelowThreshold(probs, 0.3)).toBe(-1);
    expect(firstBelowThreshold(probs, 0)).toBe(-1);
  });
  it('defaults to 0.5 and never fires on NaN (an unjudged step)', () => {
    expect(firstBelowThreshold([0.6, 0.45])).toBe(1);
    expect(firstBelowThreshold([NaN, 0.9, 0.2])).toBe(2);
  });
  it('rejects bad thresholds and inputs with the argument named', () => {
    expect(() => firstBelowThreshold([0.5], 1.5)).toThrow(RangeError);
    expect(() => firstBelowThreshold([0.5], -0.1)).toThrow(/threshold/);
    // NaN is a number, just not a usable one; a string is the wrong kind of value
    expect(() => firstBelowThreshold([0.5], NaN)).toThrow(RangeError);
    expect(() => firstBelowThreshold([0.5], '0.5' as never)).toThrow(/threshold must be a number in \[0, 1\], got "0.5" \(string\)/);
    expect(() => firstBelowThreshold('0.5' as never)).toThrow(/stepProbs/);
  });
});

describe('firstDrop', () => {
  it('flags the first step below half the previous score', () => {
    // 0.9 -> 0.8 (ok) -> 0.39 (< 0.4: drop) -> 0.1
    expect(firstDrop([0.9, 0.8, 0.39, 0.1])).toBe(2);
    // exactly half is not a drop
    expect(firstDrop([0.9, 0.8, 0.4, 0.3])).toBe(-1);
  });
  it('ignores a slow decline that a threshold would catch', () => {
    const slow = [0.9, 0.7, 0.5, 0.36, 0.26, 0.2];
    expect(firstDrop(slow)).toBe(-1);
    expect(firstBelowThreshold(slow, 0.5)).toBe(3);
  });
  it('catches a sharp drop that stays above the threshold', () => {
    const sharp = [0.99, 0.98, 0.97, 0.45, 0.44];
    expect(firstDrop(sharp)).toBe(3);
    expect(firstBelowThreshold(sharp, 0.4)).toBe(-1);
  });
  it('compares the first step with `start` (default 1)', () => {
    expect(firstDrop([0.3, 0.3])).toBe(0);
    expect(firstDrop([0.3, 0.3], { start: 0.5 })).toBe(-1);
    expect(firstDrop([0.6, 0.2], { start: 0.5 })).toBe(1);
  });
  it('uses the configured ratio', () => {
    expect(firstDrop([0.9, 0.6], { ratio: 0.7 })).toBe(1);
    expect(firstDrop([0.9, 0.6], { ratio: 0.5 })).toBe(-1);
  });
  it('skips NaN steps and keeps comparing with the last real score', () => {
    expect(firstDrop([0.8, NaN, 0.3])).toBe(2);
    expect(firstDrop([0.8, NaN, 0.5])).toBe(-1);
  });
  it('rejects bad options', () => {
    expect(() => firstDrop([0.5], { ratio: 0 })).toThrow(RangeError);
    expect(() => firstDrop([0.5], { ratio: 2 })).toThrow(/ratio/);
    expect(() => firstDrop([0.5], { start: -1 })).toThrow(/start/);
  });
});

describe('createDetector', () => {
  it('builds the threshold and first-drop detectors', () => {
    expect(createDetector({ kind: 'threshold', threshold: 0.7 })([0.9, 0.65])).toBe(1);
    expect(createDetector({ kind: 'first-drop' })([0.9, 0.65, 0.3])).toBe(2);
    expect(describeDetector({ kind: 'threshold', threshold: 0.7 })).toBe('p < 0.7');
  });
  it('validates up front', () => {
    expect(() => createDetector({ kind: 'threshold', threshold: 3 })).toThrow(RangeError);
    expect(() => createDetector({ kind: 'nope' } as never)).toThrow(/detector.kind/);
    expect(() => createDetector(null as never)).toThrow(TypeError);
  });
});
