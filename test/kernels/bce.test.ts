// The BCE kernel (head training) against a float64 reference written here: the forward pass
// of each head spelled out with probabilities (not log-sum-exp), the loss as its definition,
// and the gradient by central finite differences of that loss, so no formula is shared with
// native/core/bce.cpp or lib/kernels/bce-reference.ts. Loss and gradient agree to 1e-5.
import { describe, expect, it } from 'vitest';

import { bceLoss, bceLossSync, headParamCount } from '../../lib/kernels/index.js';
import type { BceOptions, TrainHead } from '../../lib/kernels/index.js';
import { hasNative } from '../helpers/index.js';
import { rng } from './fixtures.js';

interface Fixture {
  data: Float32Array;
  N: number;
  H: number;
  labels: Float32Array;
  head: TrainHead;
  params: Float32Array;
  weights: { positive: number; negative: number };
}

function fixture(seed: number, N: number, H: number, head: TrainHead, soft: boolean, weights = { positive: 1, negative: 1 }): Fixture {
  const r = rng(seed);
  const data = Float32Array.from({ length: N * H }, () => r() * 4 - 2);
  const labels = Float32Array.from({ length: N }, () => (soft && r() < 0.6 ? Math.round(r() * 8) / 8 : r() < 0.5 ? 0 : 1));
  const params = Float32Array.from({ length: headParamCount(head, H) }, () => (r() * 2 - 1) * 0.6);
  return { data, N, H, labels, head, params, weights };
}

/** The mean loss in float64, from the definition, at parameters `p`. */
function loss64(f: Fixture, p: Float64Array): number {
  const { H, head } = f;
  const K = head.outputs;
  const positive = head.positive ?? K - 1;
  let total = 0;
  for (let i = 0; i < f.N; i++) {
    const x = Array.from(f.data.subarray(i * H, (i + 1) * H));
    let features = x;
    let off = 0;
    if (head.kind === 'mlp') {
      const M = head.hidden;
      features = [];
      for (let m = 0; m < M; m++) {
        let a = p[M * H + m];
        for (let h = 0; h < H; h++) a += p[m * H + h] * x[h];
        features.push(a > 0 ? a : 0);
      }
      off = M * H + M;
    }
    const F = features.length;
    const z: number[] = [];
    for (let k = 0; k < K; k++) {
      let s = p[off + K * F + k];
      for (let j = 0; j < F; j++) s += p[off + k * F + j] * features[j];
      z.push(s);
    }
    const pCorrect = K === 1 ? 1 / (1 + Math.exp(-z[0])) : Math.exp(z[positive]) / (Math.exp(z[0]) + Math.exp(z[1]));
    const y = f.labels[i];
    total += -(f.weights.positive * y * Math.log(pCorrect) + f.weights.negative * (1 - y) * Math.log(1 - pCorrect));
  }
  return total / f.N;
}

/** d loss64 / d params by central differences (float64, step 1e-6). */
function gradient64(f: Fixture): Float64Array {
  const p = Float64Array.from(f.params);
  const g = new Float64Array(p.length);
  const step = 1e-6;
  for (let j = 0; j < p.length; j++) {
    const keep = p[j];
    p[j] = keep + step;
    const up = loss64(f, p);
    p[j] = keep - step;
    const down = loss64(f, p);
    p[j] = keep;
    g[j] = (up - down) / (2 * step);
  }
  return g;
}

const args = (f: Fixture) => ({ rows: { data: f.data, dims: [f.N, f.H] as const }, labels: f.labels, head: f.head, params: f.params });

const CASES: [string, Fixture][] = [
  ['linear sigmoid, hard labels', fixture(1, 97, 13, { kind: 'linear', activation: 'sigmoid', outputs: 1 }, false)],
  ['linear sigmoid, soft labels, class weights', fixture(2, 64, 9, { kind: 'linear', activation: 'sigmoid', outputs: 1 }, true, { positive: 2.5, negative: 0.4 })],
  ['linear softmax, soft labels', fixture(3, 80, 11, { kind: 'linear', activation: 'softmax', outputs: 2 }, true)],
  ['linear softmax, positive class 0, class weights', fixture(4, 33, 7, { kind: 'linear', activation: 'softmax', outputs: 2, positive: 0 }, false, { positive: 0.3, negative: 1.7 })],
  ['mlp sigmoid, soft labels', fixture(5, 41, 8, { kind: 'mlp', hidden: 6, activation: 'sigmoid', outputs: 1 }, true)],
  ['mlp softmax (Qwen-style, hidden = H), class weights', fixture(6, 300, 10, { kind: 'mlp', hidden: 10, activation: 'softmax', outputs: 2 }, true, { positive: 1.5, negative: 0.8 })],
];

const backends = hasNative ? (['cpu', 'js'] as const) : (['js'] as const);

describe('bceLoss against a float64 reference with finite-difference gradients', () => {
  for (const [name, f] of CASES) {
    const want = loss64(f, Float64Array.from(f.params));
    const wantGrad = gradient64(f);
    for (const backend of backends)
      it(`${name} (${backend})`, async () => {
        const o: BceOptions = { backend, classWeights: f.weights };
        const sync = bceLossSync(args(f), o);
        expect(sync.backend).toBe(backend);
        expect(Math.abs(sync.loss - want)).toBeLessThan(1e-5);
        let worst = 0;
        for (let j = 0; j < wantGrad.length; j++) worst = Math.max(worst, Math.abs(sync.gradient![j] - wantGrad[j]));
        expect(worst).toBeLessThan(1e-5);
        console.log(`bce ${name} (${backend}): |loss - float64| ${Math.abs(sync.loss - want).toExponential(1)}, max |gradient - differences| ${worst.toExponential(1)}`);
        // the Promise form gives the same bits
        const async = await bceLoss(args(f), o);
        expect(async.loss).toBe(sync.loss);
        expect(async.gradient).toEqual(sync.gradient);
        // the loss alone is the same loss
        expect(bceLossSync(args(f), { ...o, gradient: false })).toEqual({ loss: sync.loss, backend });
      });
  }
});

describe('bceLoss is deterministic', () => {
  it.runIf(hasNative)('the same bits with 1 thread or all, and with the js backend to float32 rounding', () => {
    const f = fixture(7, 5000, 24, { kind: 'mlp', hidden: 17, activation: 'softmax', outputs: 2 }, true);
    const all = bceLossSync(args(f), { backend: 'cpu' });
    const one = bceLossSync(args(f), { backend: 'cpu', threads: 1 });
    expect(one.loss).toBe(all.loss);
    expect(one.gradient).toEqual(all.gradient);
    const lin = fixture(8, 5000, 24, { kind: 'linear', activation: 'sigmoid', outputs: 1 }, false);
    expect(bceLossSync(args(lin), { backend: 'cpu', threads: 1 }).gradient).toEqual(bceLossSync(args(lin), { backend: 'cpu' }).gradient);
    const js = bceLossSync(args(f), { backend: 'js' });
    expect(Math.abs(js.loss - all.loss)).toBeLessThan(1e-12);
  });
});

describe('bceLoss checks its arguments before any work', () => {
  const f = fixture(9, 4, 3, { kind: 'linear', activation: 'sigmoid', outputs: 1 }, false);
  const cases: [string, () => unknown, RegExp, ErrorConstructor][] = [
    ['a label outside [0, 1]', () => bceLossSync({ ...args(f), labels: Float32Array.from([0, 1, 1.5, 0]) }), /labels\[2\] = 1.5 is outside \[0, 1\]/, RangeError],
    ['a NaN label', () => bceLossSync({ ...args(f), labels: Float32Array.from([0, NaN, 1, 0]) }), /labels\[1\] = NaN is outside \[0, 1\]/, RangeError],
    ['labels of the wrong length', () => bceLossSync({ ...args(f), labels: new Float32Array(3) }), /labels has length 3 but there are 4 rows/, RangeError],
    ['rows that do not fit dims', () => bceLossSync({ ...args(f), rows: { data: new Float32Array(11), dims: [4, 3] } }), /rows\.data has 11 elements but rows\.dims \[4, 3\] need 12/, RangeError],
    ['params of the wrong length', () => bceLossSync({ ...args(f), params: new Float32Array(3) }), /params has length 3 but the head has 4 parameters/, RangeError],
    ['a sigmoid head with 2 outputs', () => bceLossSync({ ...args(f), head: { kind: 'linear', activation: 'sigmoid', outputs: 2 } }), /a sigmoid head needs exactly 1 output, got 2/, RangeError],
    ['an mlp without hidden', () => bceLossSync({ ...args(f), head: { kind: 'mlp', activation: 'sigmoid', outputs: 1 } as never }), /head\.hidden must be/, TypeError],
    ['a float64 params array', () => bceLossSync({ ...args(f), params: new Float64Array(4) as never }), /params must be a Float32Array, got a Float64Array/, TypeError],
    ['a misspelt option', () => bceLossSync(args(f), { classWeight: { positive: 2 } } as never), /options\.classWeight is not an option; did you mean 'classWeights'\?/, TypeError],
    ['a negative class weight', () => bceLossSync(args(f), { classWeights: { positive: -1 } }), /options\.classWeights\.positive must be a number >= 0/, RangeError],
    ['the cuda backend', () => bceLossSync(args(f), { backend: 'cuda' }), /no CUDA backend/, RangeError],
  ];
  for (const [what, call, message, type] of cases)
    it(what, () => {
      expect(call).toThrow(message);
      expect(call).toThrow(type);
    });
  it.runIf(hasNative)('the raw binding refuses the same label with its own check', async () => {
    const { native } = await import('../../lib/kernels/native.js');
    const b = native().binding!;
    const raw = { rows: f.data, N: 4, H: 3, labels: Float32Array.from([0, 2, 0, 0]), head: { kind: 'linear', activation: 'sigmoid', outputs: 1, positive: 0, hidden: 0 } as const, params: f.params, positiveWeight: 1, negativeWeight: 1, threads: 0 };
    expect(() => b.bceSync(raw)).toThrow(/labels\[1\] = 2\.0+ is outside \[0, 1\]/);
    expect(() => b.bceSync({ ...raw, labels: f.labels, head: { ...raw.head, kind: 'conv' as never } })).toThrow("head.kind must be one of 'linear', 'mlp'");
  });
});

describe('bceLoss owns what it reads', () => {
  for (const backend of backends)
    it(`labels rewritten right after the Promise form starts change nothing (${backend})`, async () => {
      const f = fixture(10, 2000, 16, { kind: 'linear', activation: 'softmax', outputs: 2 }, true);
      const want = bceLossSync(args(f), { backend });
      const p = bceLoss(args(f), { backend });
      // rows and params are held by the native call (a data race there changes numbers only);
      // labels are copied: rewriting them must not show
      f.labels.fill(1);
      expect((await p).loss).toBe(want.loss);
    });
});
