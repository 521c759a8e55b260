// Native cpu backend against the js reference on random shapes, every dtype, head and
// aggregation, and both against an independent float64 reference (float64.ts) so that
// neither is checked only against code it shares. Tolerances: 1e-5 relative for float32,
// 2e-3 for 16-bit inputs.
import { describe, expect, it } from 'vitest';
import { describeWhen, NO_NATIVE } from '../helpers/index.js';

import { aggregate, AGGREGATIONS, backends, firstError, gatherRows, rankGroups, scoreBatch, scoreBatchSync } from '../../lib/kernels/index.js';
import { fromHalf } from '../../lib/kernels/half.js';
import { referenceFirstError } from '../../lib/kernels/reference.js';
import type { Aggregation, Dtype, Head, ScoreResult } from '../../lib/kernels/types.js';
import type { Case } from './fixtures.js';
import { aggregate64, firstError64, stepLogProbs64 } from './float64.js';
import { linearHead, mismatch, randomCase, rng } from './fixtures.js';

const native = backends().cpu.available;
// CI must build the addon; a user's machine without a compiler still runs the js-only suites.
if (!native && process.env.PRMKIT_ALLOW_NO_NATIVE !== '1')
  throw new Error(`the native addon did not load: ${backends().cpu.reason} (set PRMKIT_ALLOW_NO_NATIVE=1 to run js-only)`);

const dtypes: Dtype[] = ['float32', 'float16', 'bfloat16'];
const tol = (d: Dtype) => (d === 'float32' ? 1e-5 : 2e-3);

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, what: string) {
  const i = mismatch(actual, expected, rtol, rtol * 1e-2);
  expect(i, i >= 0 ? `${what}[${i}]: ${actual[i]} vs ${expected[i]}` : what).toBe(-1);
}

/**
 * A backend's result against the float64 reference (test/kernels/float64.ts), which shares
 * no code with either backend: step log-probs, every aggregate, and the first error wherever
 * no step before it sits on the threshold.
 */
function expectFloat64(r: ScoreResult, c: Case, head: Head, rtol: number, threshold = 0.5) {
  const { offsets, positions } = c.boundaries;
  const lp = stepLogProbs64(c.hidden, offsets, positions, head);
  expectClose(r.stepLogProbs, lp, rtol, `${r.backend} stepLogProbs vs float64`);
  for (const a of Object.keys(r.aggregates) as Aggregation[]) {
    const want = Array.from({ length: offsets.length - 1 }, (_, b) => aggregate64(lp.subarray(offsets[b], offsets[b + 1]), a));
    expectClose(r.aggregates[a]!, want, rtol, `${r.backend} ${a} vs float64`);
  }
  let judged = 0;
  for (let b = 0; b + 1 < offsets.length; b++) {
    const want = firstError64(lp.subarray(offsets[b], offsets[b + 1]), threshold);
    if (want === undefined) continue;
    judged++;
    expect(r.firstError[b], `${r.backend} firstError[${b}] vs float64`).toBe(want);
  }
  expect(judged).toBeGreaterThan((offsets.length - 1) / 2);
}

// shapes: [B, T, H, maxSteps]
const shapes: [number, number, number, number][] = [
  [1, 1, 1, 1],
  [3, 7, 37, 4],
  [17, 64, 129, 9],
  [64, 128, 256, 16],
  [8, 512, 1024, 32],
  [64, 512, 1024, 24],
];

describeWhen(native, 'cpu kernels match the js reference', NO_NATIVE, () => {
  let seed = 1;
  for (const [B, T, H, steps] of shapes)
    for (const dtype of dtypes) {
      const heads: [string, Head][] = [
        ['sigmoid K=1', linearHead(seed++, 1, H, 'sigmoid')],
        ['softmax K=2', linearHead(seed++, 2, H, 'softmax', false)],
        ['softmax K=5 positive=1', { ...linearHead(seed++, 5, H, 'softmax'), positive: 1 }],
      ];
      for (const [name, head] of heads)
        it(`${B}x${T}x${H} ${dtype} ${name}`, () => {
          const c = randomCase(seed++, B, T, H, dtype, steps);
          const got = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu' });
          const ref = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'js' });
          expect(got.backend).toBe('cpu');
          expect(ref.backend).toBe('js');
          expectClose(got.stepLogProbs, ref.stepLogProbs, tol(dtype), 'stepLogProbs');
          expectFloat64(got, c, head, tol(dtype));
          expectFloat64(ref, c, head, tol(dtype));
          for (const a of AGGREGATIONS) expectClose(got.aggregates[a]!, ref.aggregates[a]!, tol(dtype), a);
          // the first error depends on a comparison, so judge it on the native log-probs
          expect([...got.firstError]).toEqual([...referenceFirstError(got.stepLogProbs, c.boundaries.offsets, 0.5)]);
          // empty chains: NaN aggregates, no error
          for (let b = 0; b < B; b++)
            if (c.boundaries.offsets[b] === c.boundaries.offsets[b + 1]) {
              for (const a of AGGREGATIONS) expect(got.aggregates[a]![b]).toBeNaN();
              expect(got.firstError[b]).toBe(-1);
            }
        });
    }

  for (const dtype of dtypes)
    it(`logits heads with columns, ${dtype}`, () => {
      const V = 300;
      const c = randomCase(100, 12, 40, V, dtype, 6, 6);
      const columns = Int32Array.from([297, 5, 123]);
      for (const head of [
        { kind: 'logits', activation: 'softmax', columns, positive: 0 },
        { kind: 'logits', activation: 'softmax', columns: columns.subarray(0, 2) },
        { kind: 'logits', activation: 'sigmoid', columns: columns.subarray(2, 3) },
        { kind: 'logits', activation: 'softmax', positive: 17 }, // softmax over the whole vocabulary
      ] as Head[]) {
        const got = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu', errorThreshold: 0.3 });
        const ref = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'js', errorThreshold: 0.3 });
        expectClose(got.stepLogProbs, ref.stepLogProbs, tol(dtype), `logits ${JSON.stringify(head.activation)}`);
        expectFloat64(got, c, head, tol(dtype), 0.3);
        expectFloat64(ref, c, head, tol(dtype), 0.3);
        for (const a of AGGREGATIONS) expectClose(got.aggregates[a]!, ref.aggregates[a]!, tol(dtype), a);
        expect([...got.firstError]).toEqual([...referenceFirstError(got.stepLogProbs, c.boundaries.offsets, 0.3)]);
      }
    });

  it('the Promise form gives the sync result, and so does every thread count', async () => {
    const c = randomCase(7, 32, 256, 512, 'bfloat16', 20);
    const head = linearHead(8, 2, 512, 'softmax');
    const sync = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu' });
    const one = await scoreBatch(c.hidden, c.boundaries, head, { backend: 'cpu', threads: 1 });
    const all = await scoreBatch(c.hidden, c.boundaries, head, { backend: 'cpu' });
    expect([...one.stepLogProbs]).toEqual([...sync.stepLogProbs]);
    expect([...all.stepLogProbs]).toEqual([...sync.stepLogProbs]);
    expect([...all.aggregates.mean!]).toEqual([...sync.aggregates.mean!]);
  });

  it('computes only the requested aggregations', () => {
    const c = randomCase(9, 4, 16, 8, 'float32', 3);
    const got = scoreBatchSync(c.hidden, c.boundaries, linearHead(1, 1, 8, 'sigmoid'), { aggregations: ['min', 'last'] });
    expect(Object.keys(got.aggregates).sort()).toEqual(['last', 'min']);
  });

  for (const dtype of dtypes)
    it(`gatherRows returns the boundary rows as float32, ${dtype}`, () => {
      const c = randomCase(11, 9, 33, 70, dtype, 5);
      const got = gatherRows(c.hidden, c.boundaries, { backend: 'cpu' });
      const ref = gatherRows(c.hidden, c.boundaries, { backend: 'js' });
      expect(got).toEqual(ref);
      // independent of both: decode the row of step 0 by hand
      const { offsets, positions } = c.boundaries;
      const b = [...offsets].findIndex((o, i) => i < 9 && offsets[i + 1] > o);
      const row = (b * 33 + positions[offsets[b]]) * 70;
      const slice = c.hidden.data.subarray(row, row + 70);
      const decoded = dtype === 'float32' ? slice : fromHalf(slice as Uint16Array, dtype);
      expect([...got.subarray(offsets[b] * 70, offsets[b] * 70 + 70)]).toEqual([...decoded]);
    });
});

describeWhen(native, 'standalone reductions match the js reference', NO_NATIVE, () => {
  const r = rng(5);
  const B = 200;
  const offsets = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) offsets[b + 1] = offsets[b] + (b % 7 === 3 ? 0 : Math.floor(r() * 30));
  const lp = Float32Array.from({ length: offsets[B] }, () => Math.log(r()));
  lp[10] = NaN; // poisons its chain's aggregates
  lp[11] = -Infinity; // p = 0 is a valid probability

  for (const how of AGGREGATIONS)
    it(`aggregate ${how}`, () => {
      expectClose(aggregate({ stepLogProbs: lp, offsets, how }, { backend: 'cpu' }), aggregate({ stepLogProbs: lp, offsets, how }, { backend: 'js' }), 1e-6, how);
    });

  it('firstError at several thresholds', () => {
    for (const t of [0.01, 0.3, 0.5, 0.9])
      expect([...firstError({ stepLogProbs: lp, offsets, threshold: t }, { backend: 'cpu' })]).toEqual([...firstError({ stepLogProbs: lp, offsets, threshold: t }, { backend: 'js' })]);
  });

  it('rankGroups: best first within each group, NaN last, ties by index', () => {
    const scores = Float32Array.from({ length: 500 }, () => (r() < 0.1 ? NaN : Math.round(r() * 20) / 4));
    const groups = Int32Array.from([0, 0, 1, 50, 51, 300, 500]);
    const got = rankGroups({ scores, groupOffsets: groups }, { backend: 'cpu' });
    expect([...got]).toEqual([...rankGroups({ scores, groupOffsets: groups }, { backend: 'js' })]);
    for (let g = 0; g + 1 < groups.length; g++) {
      const idx = [...got.subarray(groups[g], groups[g + 1])];
      expect(idx.sort((x, y) => x - y)).toEqual(Array.from({ length: groups[g + 1] - groups[g] }, (_, i) => groups[g] + i));
    }
    expect([...rankGroups({ scores: Float32Array.from([1, NaN, 3, 3]), groupOffsets: Int32Array.from([0, 4]) })]).toEqual([2, 3, 0, 1]);
  });
});

describeWhen(native, 'edge values', NO_NATIVE, () => {
  it('a whole-row softmax over logits with -inf entries matches the reference', () => {
    const V = 6;
    const data = Float32Array.from([-Infinity, 1, 2, -Infinity, 0, 3, /* row 1: all -inf but one */ -Infinity, -Infinity, 5, -Infinity, -Infinity, -Infinity]);
    const hidden = { data, dtype: 'float32' as const, dims: [1, 2, V] as const };
    const b = { offsets: Int32Array.from([0, 2]), positions: Int32Array.from([0, 1]) };
    for (const positive of [2, 5]) {
      const head = { kind: 'logits' as const, activation: 'softmax' as const, positive };
      const got = scoreBatchSync(hidden, b, head, { backend: 'cpu' });
      const ref = scoreBatchSync(hidden, b, head, { backend: 'js' });
      expect(Number.isFinite(ref.stepLogProbs[0])).toBe(true);
      expectClose(got.stepLogProbs, ref.stepLogProbs, 1e-6, `positive ${positive}`);
    }
  });
});
