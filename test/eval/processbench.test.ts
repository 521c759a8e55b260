// ProcessBench metrics, tuning and evaluation on hand-made subsets (no data files needed).
import { describe, expect, it } from 'vitest';
import type { ChainItem, StepScorer, StepScores } from '../../lib/interfaces.js';
import { firstBelowThreshold } from '../../lib/eval/detectors.js';
import {
  computeMetrics,
  evaluateProcessBench,
  evaluateStepProbs,
  formatTable,
  harmonicMean,
  parseProcessBenchSubset,
  predictionsFromLines,
  reportJson,
  subsetMetrics,
  tuneThreshold,
} from '../../lib/eval/processbench/index.js';
import type { ProcessBenchRecord, ProcessBenchSubset } from '../../lib/eval/processbench/index.js';
import { AlwaysCorrectScorer, OracleScorer } from '../../lib/eval/scorers.js';
import { parseJsonLines } from '../../lib/eval/jsonl.js';

function rec(id: string, steps: number, label: number): ProcessBenchRecord {
  return { id, generator: 'test', problem: `problem ${id}`, steps: Array.from({ length: steps }, (_, i) => `step ${i}`), final_answer_correct: label === -1, label };
}

// 4 erroneous + 2 correct samples
const toy: ProcessBenchSubset = {
  name: 'toy',
  records: [rec('a', 3, 0), rec('b', 3, 1), rec('c', 4, 2), rec('d', 2, 1), rec('e', 3, -1), rec('f', 5, -1)],
};

describe('ProcessBench metrics', () => {
  it('harmonic mean', () => {
    expect(harmonicMean(100, 100)).toBe(100);
    expect(harmonicMean(0, 100)).toBe(0);
    expect(harmonicMean(0, 0)).toBe(0);
    expect(harmonicMean(50, 100)).toBeCloseTo(66.6667, 3);
    expect(harmonicMean(NaN, 100)).toBeNaN();
  });

  it('counts exact earliest-error hits and correct-sample hits', () => {
    // a: hit, b: early (wrong), c: hit, d: -1 (wrong); e: -1 (hit), f: 2 (false alarm)
    const m = subsetMetrics('toy', toy.records, [0, 0, 2, -1, -1, 2]);
    expect(m.erroneous).toEqual({ total: 4, hits: 2 });
    expect(m.correct).toEqual({ total: 2, hits: 1 });
    expect(m.erroneousAccuracy).toBe(50);
    expect(m.correctAccuracy).toBe(50);
    expect(m.f1).toBe(50);
  });

  it('averages F1 over subsets', () => {
    const other: ProcessBenchSubset = { name: 'other', records: [rec('x', 2, 0), rec('y', 2, -1)] };
    const preds = new Map<string, number>([
      ['a', 0], ['b', 1], ['c', 2], ['d', 1], ['e', -1], ['f', -1], // toy: all right
      ['x', -1], ['y', -1], // other: erroneous 0, correct 100
    ]);
    const m = computeMetrics([toy, other], preds);
    expect(m.subsets.map((s) => s.f1)).toEqual([100, 0]);
    expect(m.averageF1).toBe(50);
  });

  it('names a missing id, an unknown id and an out-of-range prediction', () => {
    const preds = new Map(toy.records.map((r) => [r.id, -1] as [string, number]));
    preds.delete('c');
    expect(() => computeMetrics([toy], preds)).toThrow(/no prediction for id c/);
    preds.set('c', -1);
    preds.set('zzz', 0);
    expect(() => computeMetrics([toy], preds)).toThrow(/unknown id zzz/);
    preds.delete('zzz');
    preds.set('a', 3);
    expect(() => computeMetrics([toy], preds)).toThrow(/prediction 3 for id a is outside -1..2/);
    preds.set('a', 0.5);
    expect(() => computeMetrics([toy], preds)).toThrow(TypeError);
  });

  it('formats a table and JSON without NaN', () => {
    const onlyErr: ProcessBenchSubset = { name: 'onlyerr', records: [rec('q', 2, 1)] };
    const metrics = computeMetrics([onlyErr], new Map([['q', 1]]));
    const table = formatTable({ source: 'test', metrics });
    expect(table).toMatch(/onlyerr\s+1\s+100\.0 \(1\/1\)\s+n\/a \(0\/0\)\s+n\/a/);
    const json = reportJson({ source: 'test', metrics });
    expect(JSON.parse(JSON.stringify(json))).toMatchObject({ subsets: [{ erroneousAccuracy: 100, correctAccuracy: null, f1: null }] });
  });
});

describe('ProcessBench records', () => {
  it('validates records and names the bad one', () => {
    expect(parseProcessBenchSubset('s', [{ id: 'a', generator: 'g', problem: 'p', steps: ['x'], final_answer_correct: true, label: -1 }]).records).toHaveLength(1);
    expect(() => parseProcessBenchSubset('s', {})).toThrow(/JSON array/);
    expect(() => parseProcessBenchSubset('s', [{ id: 'a', problem: 'p', steps: ['x'], label: 1 }])).toThrow(/id a.*label 1 is outside -1..0/);
    expect(() => parseProcessBenchSubset('s', [{ id: 'a', problem: 'p', steps: [3], label: -1 }])).toThrow(/steps must be an array of strings/);
    expect(() => parseProcessBenchSubset('s', [{ problem: 'p', steps: [], label: -1 }])).toThrow(/record 0: id/);
    const dup = { id: 'a', problem: 'p', steps: ['x'], label: 0 };
    expect(() => parseProcessBenchSubset('s', [dup, dup])).toThrow(/duplicate id/);
  });

  it('reads predictions lines and rejects duplicates and bad values', () => {
    const ok = predictionsFromLines(parseJsonLines('{"id":"a","prediction":0}\n\n{"id":"b","prediction":-1}\n', 'p.jsonl'));
    expect([...ok]).toEqual([['a', 0], ['b', -1]]);
    expect(() => predictionsFromLines(parseJsonLines('{"id":"a","prediction":0}\n{"id":"a","prediction":1}', 'p.jsonl'), 'p.jsonl')).toThrow(/p.jsonl:2: duplicate prediction for id a/);
    expect(() => predictionsFromLines(parseJsonLines('{"prediction":0}', 'p.jsonl'), 'p.jsonl')).toThrow(/p.jsonl:1: "id"/);
    expect(() => predictionsFromLines(parseJsonLines('{"id":"a","prediction":"1"}', 'p.jsonl'))).toThrow(/"prediction" for id a/);
    expect(() => parseJsonLines('{"id":', 'p.jsonl')).toThrow(/p.jsonl:1: not valid JSON/);
  });
});

/** Deterministic pseudo-random step probabilities that know the labels only noisily. */
function noisyProbs(records: readonly ProcessBenchRecord[], seed: number): Map<string, number[]> {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return new Map(
    records.map((r) => [r.id, r.steps.map((_, i) => {
      const wrong = r.label !== -1 && i >= r.label;
      return Math.round((wrong ? 0.1 + 0.6 * rnd() : 0.35 + 0.65 * rnd()) * 1000) / 1000;
    })]),
  );
}

function randomRecords(n: number, seed: number): ProcessBenchRecord[] {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 22695477) + 1) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, (_, i) => {
    const steps = 1 + Math.floor(rnd() * 8);
    const label = rnd() < 0.45 ? -1 : Math.floor(rnd() * steps);
    return rec(`r${i}`, steps, label);
  });
}

describe('threshold tuning', () => {
  const records = randomRecords(300, 7);
  const probs = noisyProbs(records, 11);
  const subset: ProcessBenchSubset = { name: 'tune', records };
  const f1At = (t: number) => computeMetrics([subset], new Map(records.map((r) => [r.id, firstBelowThreshold(probs.get(r.id)!, t)]))).subsets[0]!.f1;

  it('finds the F1 the detector really gets at the chosen threshold', () => {
    const tuned = tuneThreshold(records, probs);
    expect(f1At(tuned.threshold)).toBeCloseTo(tuned.f1, 9);
  });

  it('is at least as good as a fine grid search (exact, not sampled)', () => {
    const tuned = tuneThreshold(records, probs);
    let bestGrid = 0;
    for (let t = 0; t <= 1.0000001; t += 0.0005) bestGrid = Math.max(bestGrid, f1At(Math.min(t, 1)));
    expect(tuned.f1).toBeGreaterThanOrEqual(bestGrid - 1e-9);
  });

  it('reports exactly the best F1 any threshold achieves', () => {
    // predictions only change where the threshold crosses a step probability, so trying
    // one threshold just above every distinct probability (and 0) visits every outcome
    const cuts = [...new Set([...probs.values()].flat())].sort((x, y) => x - y);
    let best = f1At(0);
    for (const p of cuts) best = Math.max(best, f1At(Math.min(1, p + 1e-7)));
    const tuned = tuneThreshold(records, probs);
    expect(best).toBeGreaterThan(0);
    expect(tuned.f1).toBeCloseTo(best, 9);
  });

  it('recovers the perfect threshold for separable scores', () => {
    const sep = new Map(records.map((r) => [r.id, r.steps.map((_, i) => (r.label !== -1 && i >= r.label ? 0.2 : 0.8))]));
    const tuned = tuneThreshold(records, sep);
    expect(tuned.f1).toBe(100);
    expect(tuned.threshold).toBeGreaterThan(0.2);
    expect(tuned.threshold).toBeLessThanOrEqual(0.8);
  });

  it('rejects missing scores and empty input', () => {
    expect(() => tuneThreshold([], probs)).toThrow(RangeError);
    expect(() => tuneThreshold(records, new Map())).toThrow(/no step probabilities for id r0/);
  });
});

class CountingScorer implements StepScorer {
  readonly name = 'counting';
  calls = 0;
  maxBatch = 0;
  constructor(private readonly probs: Map<string, number[]>) {}
  async score(items: readonly ChainItem[]): Promise<StepScores[]> {
    this.calls++;
    this.maxBatch = Math.max(this.maxBatch, items.length);
    return items.map((it) => ({ stepProbs: this.probs.get(it.id!)! }));
  }
}

describe('evaluateProcessBench', () => {
  const a: ProcessBenchSubset = { name: 'a', records: randomRecords(120, 3) };
  const b: ProcessBenchSubset = { name: 'b', records: randomRecords(90, 5).map((r) => ({ ...r, id: `b-${r.id}` })) };
  const all = [...a.records, ...b.records];

  it('oracle gives F1 100 and always-correct gives 0 on erroneous samples', async () => {
    const oracle = await evaluateProcessBench([a, b], { scorer: new OracleScorer(all) });
    expect(oracle.metrics.averageF1).toBe(100);
    const always = await evaluateProcessBench([a, b], { scorer: new AlwaysCorrectScorer() });
    for (const s of always.metrics.subsets) {
      expect(s.erroneousAccuracy).toBe(0);
      expect(s.correctAccuracy).toBe(100);
      expect(s.f1).toBe(0);
    }
  });

  it('scores in bounded batches and tunes on one subset, applying it to all', async () => {
    const probs = noisyProbs(all, 99);
    const scorer = new CountingScorer(probs);
    const run = await evaluateProcessBench([a, b], { scorer, batchSize: 50, tuneOn: 'a' });
    expect(scorer.calls).toBe(Math.ceil(all.length / 50));
    expect(scorer.maxBatch).toBe(50);
    expect(run.tuned?.subset).toBe('a');
    expect(run.detector).toEqual({ kind: 'threshold', threshold: run.tuned!.threshold });
    // the tuned threshold is the one applied to b
    const direct = evaluateStepProbs([a, b], run.stepProbs, { detector: run.detector });
    expect(direct.metrics).toEqual(run.metrics);
    expect(run.metrics.subsets[0]!.f1).toBeCloseTo(run.tuned!.f1, 9);
  });

  it('keeps several scorer calls in flight and the results in input order', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let call = 0;
    const slow: StepScorer = {
      name: 'slow',
      score: async (items) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // later calls finish first
        await new Promise((r) => setTimeout(r, 30 - 5 * (call++ % 5)));
        inFlight--;
        return items.map((it) => ({ stepProbs: it.steps.map((_, i) => (i + 1) / (it.steps.length + 1)) }));
      },
    };
    const progress: number[] = [];
    const run = await evaluateProcessBench([a], { scorer: slow, batchSize: 10, concurrency: 3, onProgress: (d) => progress.push(d) });
    expect(maxInFlight).toBe(3);
    expect([...run.stepProbs.keys()]).toEqual(a.records.map((r) => r.id));
    expect(progress[progress.length - 1]).toBe(a.records.length);
    await expect(evaluateProcessBench([a], { scorer: slow, concurrency: 0 })).rejects.toThrow(/concurrency must be a positive integer/);
  });

  it('first-drop detector can be applied to the same scores', () => {
    const probs = noisyProbs(all, 5);
    const r = evaluateStepProbs([a, b], probs, { detector: { kind: 'first-drop', ratio: 0.5 } });
    // the rule written out here: the first step under half of the step before it (1 before the first)
    const expected = new Map(
      all.map((rec) => {
        const p = probs.get(rec.id)!;
        const k = p.findIndex((x, i) => x < 0.5 * (i === 0 ? 1 : p[i - 1]!));
        return [rec.id, k];
      }),
    );
    expect(new Map(r.predictions)).toEqual(expected);
    // the toy scores contain both kinds of chain, so the check above is not all -1
    expect([...expected.values()].some((k) => k >= 0)).toBe(true);
    expect([...expected.values()].some((k) => k === -1)).toBe(true);
    expect(r.metrics).toEqual(computeMetrics([a, b], expected));
    expect(r.metrics.subsets).toHaveLength(2);
  });

  it('checks options before scoring', async () => {
    const scorer = new CountingScorer(new Map());
    await expect(evaluateProcessBench([a], { scorer, tuneOn: 'zzz' })).rejects.toThrow(/tuneOn subset zzz/);
    await expect(evaluateProcessBench([a], { scorer, tuneOn: 'a', detector: { kind: 'first-drop' } })).rejects.toThrow(/first-drop/);
    await expect(evaluateProcessBench([a], { scorer: {} as never })).rejects.toThrow(TypeError);
    expect(scorer.calls).toBe(0);
  });

  it('names the chain when a scorer returns the wrong shape', async () => {
    const bad: StepScorer = { name: 'bad', score: async (items) => items.map(() => ({ stepProbs: [0.5] })) };
    const multi: ProcessBenchSubset = { name: 'm', records: [rec('m1', 3, -1)] };
    await expect(evaluateProcessBench([multi], { scorer: bad })).rejects.toThrow(/bad returned 1 step probabilities for id m1 \(3 steps\)/);
    const out: StepScorer = { name: 'out', score: async (items) => items.map((it) => ({ stepProbs: it.steps.map(() => 1.5) })) };
    await expect(evaluateProcessBench([multi], { scorer: out })).rejects.toThrow(/probability 1.5 for id m1/);
    // typed arrays (a kernel-backed scorer) are accepted as they are
    const typed = { name: 'typed', score: async (items: readonly ChainItem[]) => items.map((it) => ({ stepProbs: Float32Array.from(it.steps, () => 0.25) })) };
    const run = await evaluateProcessBench([multi], { scorer: typed as unknown as StepScorer });
    expect(run.stepProbs.get('m1')).toEqual([0.25, 0.25, 0.25]);
    expect(run.predictions.get('m1')).toBe(0);
  });
});
