// The selection and metric arithmetic of bench:orm-vs-prm, and its caching scorer, against
// plain computations written here: every best-of-N rule on seeded random pools, first-error
// F1 on hand-counted chains and on random ones, the claim verdicts on gaps made to hold or fail.
import { describe, expect, it } from 'vitest';
import { compareMethods, firstErrorF1, meanSpread, pickCorrect, subsampledAccuracy } from '../../bench/lib/orm-vs-prm.mjs';
import type { Candidate, Rule } from '../../bench/lib/orm-vs-prm.mjs';
import { CachedScorer } from '../../bench/lib/cached-scorer.mjs';

function lcg(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** A pool of one problem: answers drawn from a few values, '7' the right one; distinct scores. */
function pool(rand: () => number, n: number): Candidate[] {
  return Array.from({ length: n }, () => {
    const answer = String(Math.floor(rand() * 4) + 5);
    return { answer, correct: answer === '7', scores: { s: rand(), t: rand() } };
  });
}

/** The rules written out: max score (first on ties), most votes or most weight (first seen on ties). */
function plainPick(cands: Candidate[], rule: Rule): boolean {
  if (rule.selection === 'oracle') return cands.some((c) => c.correct);
  if (rule.selection === 'best') {
    let best = 0;
    for (let i = 1; i < cands.length; i++) if (cands[i].scores[rule.score!] > cands[best].scores[rule.score!]) best = i;
    return cands[best].correct;
  }
  const order: string[] = [];
  const total = new Map<string, number>();
  for (const c of cands) {
    if (!total.has(c.answer!)) order.push(c.answer!);
    total.set(c.answer!, (total.get(c.answer!) ?? 0) + (rule.selection === 'majority' ? 1 : c.scores[rule.score!]));
  }
  let win = order[0];
  for (const a of order) if (total.get(a)! > total.get(win)!) win = a;
  return win === '7';
}

const RULES: Rule[] = [
  { selection: 'oracle' },
  { selection: 'majority' },
  { score: 's', selection: 'best' },
  { score: 't', selection: 'best' },
  { score: 's', selection: 'weighted' },
];

describe('best-of-N selection on a pool', () => {
  it('each rule picks what the plain computation picks, and subsampling averages disjoint groups', () => {
    const rand = lcg(7);
    let checked = 0;
    for (let p = 0; p < 40; p++) {
      const cands = pool(rand, 64);
      for (const rule of RULES) {
        expect(pickCorrect(cands, rule)).toBe(plainPick(cands, rule));
        for (const N of [1, 3, 8, 64]) {
          const groups = Math.floor(64 / N);
          let hits = 0;
          for (let g = 0; g < groups; g++) hits += plainPick(cands.slice(g * N, g * N + N), rule) ? 1 : 0;
          expect(subsampledAccuracy(cands, N, rule)).toBe(hits / groups);
          checked++;
        }
      }
    }
    expect(checked).toBe(40 * RULES.length * 4);
  });

  it('N = 1 is the share of correct samples for every rule; N outside the pool is refused', () => {
    const cands = pool(lcg(3), 32);
    const share = cands.filter((c) => c.correct).length / 32;
    for (const rule of RULES) expect(subsampledAccuracy(cands, 1, rule)).toBeCloseTo(share, 12);
    expect(() => subsampledAccuracy(cands, 33, RULES[0])).toThrow(RangeError);
    expect(() => subsampledAccuracy(cands, 0, RULES[0])).toThrow(RangeError);
  });
});

describe('first-error F1 against the verifier', () => {
  it('counts hand-checked chains as ProcessBench does (threshold 0.5, a step at exactly 0.5 is not an error)', () => {
    const r = firstErrorF1([
      { verifier: [true, true, false, false], stepProbs: [0.9, 0.8, 0.3, 0.2] }, // error at 2, found at 2
      { verifier: [true, false, false], stepProbs: [0.9, 0.6, 0.4] }, // error at 1, found at 2: miss
      { verifier: [true, true, true], stepProbs: [0.9, 0.5, 0.9] }, // no error, none found
      { verifier: [true, true], stepProbs: [0.9, 0.4] }, // no error, one found: miss
      { verifier: [false], stepProbs: [0.2] }, // error at 0, found
    ]);
    expect(r.erroneous).toEqual({ total: 3, hits: 2 });
    expect(r.correct).toEqual({ total: 2, hits: 1 });
    expect(r.f1).toBeCloseTo((2 * (200 / 3) * 50) / (200 / 3 + 50), 10);
  });

  it('equals a plain loop on random chains at several thresholds', () => {
    const rand = lcg(11);
    const chains = Array.from({ length: 500 }, () => {
      const n = 1 + Math.floor(rand() * 6);
      const bad = rand() < 0.5 ? Math.floor(rand() * n) : -1;
      return { verifier: Array.from({ length: n }, (_, i) => bad < 0 || i < bad), stepProbs: Array.from({ length: n }, () => rand()) };
    });
    for (const t of [0.2, 0.5, 0.8]) {
      let eh = 0, et = 0, ch = 0, ct = 0;
      for (const c of chains) {
        let truth = -1;
        for (let i = 0; i < c.verifier.length; i++) if (!c.verifier[i]) { truth = i; break; }
        let pred = -1;
        for (let i = 0; i < c.stepProbs.length; i++) if (c.stepProbs[i] < t) { pred = i; break; }
        if (truth < 0) { ct++; ch += pred < 0 ? 1 : 0; } else { et++; eh += pred === truth ? 1 : 0; }
      }
      const [ea, ca] = [(100 * eh) / et, (100 * ch) / ct];
      const r = firstErrorF1(chains, t);
      expect(r.erroneousAccuracy).toBeCloseTo(ea, 10);
      expect(r.correctAccuracy).toBeCloseTo(ca, 10);
      expect(r.f1).toBeCloseTo((2 * ea * ca) / (ea + ca), 10);
    }
  });

  it('refuses step probabilities that do not match the steps', () => {
    expect(() => firstErrorF1([{ verifier: [true, true], stepProbs: [0.9] }])).toThrow(RangeError);
  });
});

describe('spread and verdicts', () => {
  it('mean and sample standard deviation', () => {
    const s = meanSpread([1, 2, 3, 6]);
    expect(s.mean).toBe(3);
    expect(s.sd).toBeCloseTo(Math.sqrt(14 / 3), 12);
    expect(meanSpread([0.5]).sd).toBe(0);
  });

  const table = (gaps: Record<number, number[]>) => (m: string, N: number) => (m === 'a' ? gaps[N] : gaps[N].map(() => 0));
  it('a gap that is never negative and grows at every N holds both ways', () => {
    const v = compareMethods(table({ 4: [0.01, 0.03], 8: [0.02, 0.04], 16: [0.05, 0.05] }), 'a', 'b', [4, 8, 16], { growing: true });
    expect(v.atLeast).toBe(true);
    expect(v.grows).toBe(true);
    expect(v.steady).toBe(true);
    expect(v.rows.map((r) => r.gap)).toEqual([expect.closeTo(0.02, 12), expect.closeTo(0.03, 12), expect.closeTo(0.05, 12)]);
    expect(v.verdict.join('\n')).toMatch(/holds[\s\S]*holds/);
  });

  it('says where a claim fails: the N where a < b, a gap that shrinks, seeds that disagree', () => {
    const v = compareMethods(table({ 4: [0.05, 0.05], 8: [-0.02, 0.01], 16: [0.01, 0.03] }), 'a', 'b', [4, 8, 16], { growing: true });
    expect(v.atLeast).toBe(false);
    expect(v.rows[1].seedsAtLeast).toBe(1);
    expect(v.grows).toBe(false);
    expect(v.verdict.join('\n')).toContain('does NOT hold (a < b at N = 8)');
    expect(v.verdict.join('\n')).toContain('gap growing with N: does NOT hold');
  });
});

describe('CachedScorer', () => {
  // a scorer whose step probabilities depend on the problem and the steps before: causal
  const probs = (problem: string, steps: readonly string[]) => steps.map((_, i) => ((problem + steps.slice(0, i + 1).join('|')).length % 97) / 97);
  const fake = () => {
    const calls: number[] = [];
    let fail = false;
    return {
      calls,
      failNext: () => (fail = true),
      scorer: {
        name: 'fake',
        async score(items: readonly { problem: string; steps: readonly string[] }[]) {
          calls.push(items.length);
          if (fail) {
            fail = false;
            throw new Error('model down');
          }
          return items.map((it) => ({ stepProbs: probs(it.problem, it.steps) }));
        },
      },
    };
  };

  it('scores each distinct chain once, in one call for the calls of one turn, with the inner scorer\'s numbers', async () => {
    const f = fake();
    const c = new CachedScorer(f.scorer);
    const a = [{ problem: 'p', steps: ['1', '22'] }, { problem: 'p', steps: ['1', '22'] }, { problem: 'q', steps: ['333'] }];
    const b = [{ problem: 'q', steps: ['333'] }, { problem: 'p', steps: ['4'] }];
    const [ra, rb] = await Promise.all([c.score(a), c.score(b)]);
    expect(f.calls).toEqual([3]);
    expect(ra.map((r) => r.stepProbs)).toEqual(a.map((it) => probs(it.problem, it.steps)));
    expect(rb.map((r) => r.stepProbs)).toEqual(b.map((it) => probs(it.problem, it.steps)));
    await c.score(a);
    expect(f.calls).toEqual([3]);
    expect(c.stats).toEqual({ requested: 8, scored: 3, calls: 1 });
  });

  it('with prefixClosed a chain answers its prefixes; a failed call is not kept', async () => {
    const f = fake();
    const c = new CachedScorer(f.scorer, { prefixClosed: true, maxBatch: 2 });
    await c.score([{ problem: 'p', steps: ['a', 'bb', 'ccc'] }]);
    const pre = await c.score([{ problem: 'p', steps: ['a'] }, { problem: 'p', steps: ['a', 'bb'] }]);
    expect(f.calls).toEqual([1]);
    expect(pre.map((r) => r.stepProbs)).toEqual([probs('p', ['a']), probs('p', ['a', 'bb'])]);
    f.failNext();
    await expect(c.score([{ problem: 'x', steps: ['1'] }])).rejects.toThrow('model down');
    expect((await c.score([{ problem: 'x', steps: ['1'] }]))[0].stepProbs).toEqual(probs('x', ['1']));
    expect(f.calls).toEqual([1, 1, 1]);
  });
});
