// tokenLogProbs against a float64 reference written here (full logits row, max, log-sum-exp;
// 16-bit weights decoded by f16Reference/bf16Reference): the native kernel (whichever of
// AVX-512F, AVX2 or the portable table this cpu picks, and the portable one in a child
// process with PRMKIT_SIMD=scalar) and the js backend, on shapes that leave partial
// register blocks, partial tiles and more tiles than threads. Then every argument error,
// the same on both backends, before any work.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { lmHeadBackend, tokenLogProbs, tokenLogProbsSync, toHalf } from '../../lib/kernels/index.js';
import type { Dtype, LmHead, TokenLogProbsArgs } from '../../lib/kernels/index.js';
import { bf16Reference, f16Reference } from './float64.js';
import { describeWhen, distDir, hasDist, hasNative, NO_NATIVE } from '../helpers/index.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
}

interface Case {
  args: TokenLogProbsArgs;
  expected: Float64Array;
}

/** log softmax(W h)[t] in float64 from the decoded values, one full logits row at a time. */
function expectedLogProbs(hidden: Float32Array, H: number, weight: ArrayLike<number>, V: number, rows: Int32Array, targets: Int32Array, decode: (x: number) => number): Float64Array {
  const W = Float64Array.from(weight, decode);
  const out = new Float64Array(rows.length);
  const z = new Float64Array(V);
  rows.forEach((row, n) => {
    for (let v = 0; v < V; v++) {
      let acc = 0;
      for (let k = 0; k < H; k++) acc += hidden[row * H + k] * W[v * H + k];
      z[v] = acc;
    }
    let m = -Infinity;
    for (const x of z) m = Math.max(m, x);
    let s = 0;
    for (const x of z) s += Math.exp(x - m);
    out[n] = z[targets[n]] - m - Math.log(s);
  });
  return out;
}

function makeCase(seed: number, B: number, T: number, H: number, V: number, N: number, dtype: Dtype, scale = 0.3): Case {
  const r = rng(seed);
  const hidden = Float32Array.from({ length: B * T * H }, () => normal(r));
  const w32 = Float32Array.from({ length: V * H }, () => normal(r) * scale);
  const weight = dtype === 'float32' ? w32 : toHalf(w32, dtype);
  const rows = Int32Array.from({ length: N }, () => Math.floor(r() * B * T));
  const targets = Int32Array.from({ length: N }, () => Math.floor(r() * V));
  const decode = dtype === 'float32' ? (x: number) => x : dtype === 'float16' ? f16Reference : bf16Reference;
  const head: LmHead = { weight, dtype, vocab: V };
  return { args: { hidden: { data: hidden, dtype: 'float32', dims: [B, T, H] }, rows, targets, head }, expected: expectedLogProbs(hidden, H, weight, V, rows, targets, decode) };
}

function maxErr(got: Float32Array, want: Float64Array): number {
  let m = 0;
  got.forEach((g, i) => (m = Math.max(m, Math.abs(g - want[i]))));
  return m;
}

// shapes: partial register blocks (N not a multiple of 4/6/8), a vocabulary that is not a
// multiple of 16/48 and spans many tiles, hidden sizes below and above one SIMD width
const SHAPES: Array<[B: number, T: number, H: number, V: number, N: number]> = [
  [1, 1, 1, 1, 1],
  [2, 9, 8, 37, 5],
  [3, 17, 33, 1001, 23],
  [2, 40, 64, 5003, 61],
  [1, 30, 96, 2300, 7],
];

describe('tokenLogProbs, js backend, against a float64 reference', () => {
  for (const dtype of ['float32', 'float16', 'bfloat16'] as const)
    it(`${dtype} weights`, async () => {
      for (const [i, [B, T, H, V, N]] of SHAPES.slice(0, 4).entries()) {
        const c = makeCase(10 + i, B, T, H, V, N, dtype);
        expect(maxErr(tokenLogProbsSync(c.args, { backend: 'js' }), c.expected)).toBeLessThan(2e-5);
        expect(maxErr(await tokenLogProbs(c.args, { backend: 'js' }), c.expected)).toBeLessThan(2e-5);
      }
    });
});

describeWhen(hasNative, 'tokenLogProbs, native backend, against a float64 reference', NO_NATIVE, () => {
  it('reports the instruction set it picked', () => {
    expect(['avx512f', 'avx2+fma', 'scalar']).toContain(lmHeadBackend());
  });

  for (const dtype of ['float32', 'float16', 'bfloat16'] as const)
    it(`${dtype} weights, sync on one thread, Promise form on the whole pool`, async () => {
      for (const [i, [B, T, H, V, N]] of SHAPES.entries()) {
        const c = makeCase(20 + i, B, T, H, V, N, dtype);
        // float32 sums over H elements in another order than the reference: a few ulp of the logits
        expect(maxErr(tokenLogProbsSync(c.args, { backend: 'cpu', threads: 1 }), c.expected)).toBeLessThan(2e-5);
        expect(maxErr(await tokenLogProbs(c.args, { backend: 'cpu' }), c.expected)).toBeLessThan(2e-5);
      }
    });

  it('logits far apart (a sharp softmax) and far below the maximum stay exact in log space', () => {
    const c = makeCase(5, 1, 12, 16, 700, 12, 'float32', 6);
    const got = tokenLogProbsSync(c.args, { backend: 'cpu' });
    expect(Math.min(...c.expected)).toBeLessThan(-100); // some targets are a hundred nats below the best token
    got.forEach((g, i) => expect(Math.abs(g - c.expected[i])).toBeLessThan(2e-4 * Math.max(1, Math.abs(c.expected[i]))));
  });

  it('a NaN in a hidden row gives NaN for that row only', () => {
    const c = makeCase(6, 1, 4, 8, 300, 4, 'float32');
    (c.args.hidden.data as Float32Array)[Number(c.args.rows[2]) * 8 + 3] = NaN;
    const poisoned = c.args.rows[2];
    const got = tokenLogProbsSync(c.args, { backend: 'cpu' });
    got.forEach((g, i) => (c.args.rows[i] === poisoned ? expect(g).toBeNaN() : expect(Math.abs(g - c.expected[i])).toBeLessThan(2e-5)));
  });

  it.skipIf(!hasDist)('the portable kernels (PRMKIT_SIMD=scalar, in a child process on dist/) agree with the reference too', () => {
    const script = `
      const { tokenLogProbsSync, lmHeadBackend } = await import(${JSON.stringify(`${distDir}/kernels/index.js`)});
      const H = 40, V = 999, N = 13, B = 1, T = 20;
      let s = 7; const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
      const hidden = Float32Array.from({ length: B * T * H }, r), W = Float32Array.from({ length: V * H }, r);
      const rows = Int32Array.from({ length: N }, (_, i) => i), targets = Int32Array.from({ length: N }, (_, i) => (i * 77) % V);
      const out = tokenLogProbsSync({ hidden: { data: hidden, dtype: 'float32', dims: [B, T, H] }, rows, targets, head: { weight: W, dtype: 'float32', vocab: V } }, { backend: 'cpu' });
      let err = 0;
      for (let n = 0; n < N; n++) {
        const z = []; for (let v = 0; v < V; v++) { let a = 0; for (let k = 0; k < H; k++) a += hidden[n * H + k] * W[v * H + k]; z.push(a); }
        const m = Math.max(...z); const lse = m + Math.log(z.reduce((a, x) => a + Math.exp(x - m), 0));
        err = Math.max(err, Math.abs(out[n] - (z[targets[n]] - lse)));
      }
      console.log(JSON.stringify({ simd: lmHeadBackend(), err }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, PRMKIT_SIMD: 'scalar' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { simd: string; err: number };
    expect(res.simd).toBe('scalar');
    expect(res.err).toBeLessThan(2e-5);
  });
});

describe('tokenLogProbs argument errors', () => {
  const good = () => makeCase(1, 1, 3, 4, 10, 2, 'float32').args;
  const bad: Array<[string, (a: TokenLogProbsArgs) => unknown, RegExp, 'type' | 'range']> = [
    ['rows not Int32Array', (a) => ({ ...a, rows: [0, 1] }), /rows must be an Int32Array/, 'type'],
    ['row out of range', (a) => ({ ...a, rows: Int32Array.of(0, 3) }), /rows\[1\] = 3 is outside \[0, B x T = 3\)/, 'range'],
    ['target out of range', (a) => ({ ...a, targets: Int32Array.of(0, 10) }), /targets\[1\] = 10 is outside \[0, vocab = 10\)/, 'range'],
    ['targets length', (a) => ({ ...a, targets: Int32Array.of(0) }), /targets must have one entry per row \(rows.length = 2\), got 1/, 'range'],
    ['weight length', (a) => ({ ...a, head: { ...a.head, vocab: 11 } }), /head.weight has 40 elements but vocab x hidden = 11 x 4 = 44/, 'range'],
    ['weight type for a 16-bit dtype', (a) => ({ ...a, head: { ...a.head, dtype: 'bfloat16' } }), /head.weight must be a Uint16Array/, 'type'],
    ['unknown head key', (a) => ({ ...a, head: { ...a.head, bias: new Float32Array(10) } }), /head.bias is not an option/, 'type'],
    ['unknown arg key', (a) => ({ ...a, row: a.rows }), /args.row is not an option; did you mean 'rows'/, 'type'],
    ['hidden dims', (a) => ({ ...a, hidden: { ...a.hidden, dims: [1, 3, 5] } }), /hidden.data has 12 elements/, 'range'],
  ];
  for (const backend of ['js', 'cpu'] as const)
    for (const [what, mutate, message, kind] of bad)
      it.skipIf(backend === 'cpu' && !hasNative)(`${backend}: ${what}`, async () => {
        const a = mutate(good()) as TokenLogProbsArgs;
        const Err = kind === 'type' ? TypeError : RangeError;
        expect(() => tokenLogProbsSync(a, { backend })).toThrow(Err);
        expect(() => tokenLogProbsSync(a, { backend })).toThrow(message);
        await expect(tokenLogProbs(a, { backend })).rejects.toThrow(message);
      });

  it('options: out of the wrong length, unknown keys, a cuda backend', () => {
    const a = good();
    expect(() => tokenLogProbsSync(a, { out: new Float32Array(3) })).toThrow(/options.out must have length rows.length = 2, got 3/);
    expect(() => tokenLogProbsSync(a, { thread: 1 } as never)).toThrow(/did you mean 'threads'/);
    expect(() => tokenLogProbsSync(a, { backend: 'cuda' } as never)).toThrow(RangeError);
  });
});
