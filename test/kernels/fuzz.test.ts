// Bounded property test of the kernel API: thousands of random calls, valid and invalid, on
// cpu and js. Each pair either gives the same results or throws the same error (class and
// message); random garbage in the raw binding's argument object only ever throws a
// TypeError/RangeError; inputs rewritten during Promise-form calls never change the result.
import { describe, expect, it } from 'vitest';

import { AGGREGATIONS, scoreBatch, scoreBatchSync } from '../../lib/kernels/index.js';
import { native } from '../../lib/kernels/native.js';
import { referenceFirstError } from '../../lib/kernels/reference.js';
import type { Aggregation, Dtype, Head, Hidden, ScoreOptions, ScoreResult } from '../../lib/kernels/types.js';
import { describeWhen, hasNative, NO_NATIVE } from '../helpers/index.js';
import { mismatch, randomCase, rng } from './fixtures.js';

type Rng = () => number;
const int = (r: Rng, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

interface Call {
  hidden: Hidden;
  boundaries: { offsets: Int32Array; positions: Int32Array };
  head: Head;
  options: ScoreOptions;
}

function randomHead(r: Rng, H: number): Head {
  if (r() < 0.6) {
    const K = r() < 0.5 ? 1 : int(r, 2, 5);
    const activation = K === 1 && r() < 0.7 ? 'sigmoid' : 'softmax';
    const weight = Float32Array.from({ length: K * H }, () => (r() * 2 - 1) / Math.sqrt(H));
    return {
      kind: 'linear', weight, outputs: K, activation,
      ...(r() < 0.5 ? { bias: Float32Array.from({ length: K }, () => r() - 0.5) } : {}),
      ...(activation === 'softmax' && r() < 0.3 ? { positive: int(r, 0, K - 1) } : {}),
    };
  }
  if (r() < 0.5) {
    const K = int(r, 1, Math.min(4, H));
    const columns = Int32Array.from({ length: K }, () => int(r, 0, H - 1));
    return K === 1 && r() < 0.5 ? { kind: 'logits', activation: 'sigmoid', columns } : { kind: 'logits', activation: 'softmax', columns };
  }
  return { kind: 'logits', activation: 'softmax', ...(r() < 0.5 ? { positive: int(r, 0, H - 1) } : {}) };
}

function validCall(r: Rng, seed: number): Call {
  const dtype = pick<Dtype>(r, ['float32', 'float16', 'bfloat16']);
  const B = int(r, 0, 6), T = int(r, 1, 12), H = int(r, 1, 40);
  const c = randomCase(seed, B, T, H, dtype, Math.min(T, 6), r() < 0.2 ? 30 : 1);
  const aggregations = AGGREGATIONS.filter(() => r() < 0.6);
  const errorThreshold = pick(r, [0.5, r(), 0.99999999, 5e-324, 1e-3]);
  return { hidden: c.hidden, boundaries: c.boundaries, head: randomHead(r, H), options: { aggregations, errorThreshold } };
}

// Each breaks one rule of the contract (or, for the last few, none).
const mutations: ((c: Call, r: Rng) => void)[] = [
  (c) => ((c.hidden as { dtype: string }).dtype = 'int8'),
  (c) => (c.hidden = { ...c.hidden, data: new Float64Array(c.hidden.data.length) as unknown as Float32Array }),
  (c) => (c.hidden = { ...c.hidden, dims: [c.hidden.dims[0], c.hidden.dims[1] + 1, c.hidden.dims[2]] }),
  (c) => (c.hidden = { ...c.hidden, dims: [c.hidden.dims[0], c.hidden.dims[1], 0.5] as unknown as [number, number, number] }),
  (c) => (c.hidden = { ...c.hidden, dims: [c.hidden.dims[0], c.hidden.dims[1]] as unknown as [number, number, number] }),
  (c) => (c.boundaries.offsets = c.boundaries.offsets.subarray(1)),
  (c) => (c.boundaries.offsets = Int32Array.from(c.boundaries.offsets).map((v, i) => (i === 0 ? 1 : v))),
  (c, r) => {
    if (c.boundaries.positions.length) c.boundaries.positions[int(r, 0, c.boundaries.positions.length - 1)] = pick(r, [-1, c.hidden.dims[1], 0x7fffffff]);
  },
  (c) => (c.boundaries.positions = Int32Array.from(c.boundaries.positions).subarray(1)),
  (c) => (c.boundaries = { offsets: [...c.boundaries.offsets] as unknown as Int32Array, positions: c.boundaries.positions }),
  (c) => ((c.head as { kind: string }).kind = 'mlp'),
  (c) => ((c.head as { activation: string }).activation = 'relu'),
  (c) => ((c.head as { positive: number }).positive = -1),
  (c) => ((c.head as { positive: number }).positive = 1e6),
  (c) => ((c.head as { positive: unknown }).positive = '1'),
  (c) => {
    if (c.head.kind === 'linear') c.head.weight = c.head.weight.subarray(1);
    else c.head.columns = Int32Array.from([c.hidden.dims[2]]);
  },
  (c) => {
    if (c.head.kind === 'linear') c.head.outputs = 65;
    else c.head.columns = new Int32Array(0);
  },
  (c) => (c.options.errorThreshold = pick(rng(1), [0, 1, -0.5, NaN, Infinity])),
  (c) => ((c.options as { errorThreshold: unknown }).errorThreshold = '0.5'),
  (c) => ((c.options as { aggregations: unknown }).aggregations = ['median']),
  (c) => ((c.options as { threads: unknown }).threads = 2000),
  (c) => ((c.options as { threads: unknown }).threads = 1.5),
  () => {},
  () => {},
  () => {},
];

function outcome(f: () => ScoreResult): ScoreResult | Error {
  try {
    return f();
  } catch (e) {
    return e as Error;
  }
}

function expectSameResult(cpu: ScoreResult, js: ScoreResult, offsets: Int32Array, threshold: number, what: string) {
  const i = mismatch(cpu.stepLogProbs, js.stepLogProbs, 2e-4, 2e-5);
  expect(i, `${what}: step ${i} cpu ${cpu.stepLogProbs[i]} js ${js.stepLogProbs[i]}`).toBe(-1);
  expect(Object.keys(cpu.aggregates).sort()).toEqual(Object.keys(js.aggregates).sort());
  for (const a of Object.keys(cpu.aggregates) as Aggregation[]) {
    const j = mismatch(cpu.aggregates[a]!, js.aggregates[a]!, 2e-4, 2e-5);
    expect(j, `${what}: ${a}[${j}]`).toBe(-1);
  }
  // the first error is a comparison: judged on cpu's own log-probs it must be exact
  expect([...cpu.firstError]).toEqual([...referenceFirstError(cpu.stepLogProbs, offsets, threshold)]);
}

describeWhen(hasNative, 'random calls: cpu and js agree on results and on errors', NO_NATIVE, () => {
  it('3000 calls, a third of them valid', () => {
    const r = rng(20261201);
    let valid = 0;
    for (let n = 0; n < 3000; n++) {
      const c = validCall(r, 1000 + n);
      const mutated = r() < 0.7 ? int(r, 0, mutations.length - 1) : -1;
      if (mutated >= 0) mutations[mutated](c, r);
      const what = `call ${n} (mutation ${mutated})`;
      const cpu = outcome(() => scoreBatchSync(c.hidden, c.boundaries, c.head, { ...c.options, backend: 'cpu' }));
      const js = outcome(() => scoreBatchSync(c.hidden, c.boundaries, c.head, { ...c.options, backend: 'js' }));
      if (cpu instanceof Error || js instanceof Error) {
        expect(cpu instanceof Error && js instanceof Error, `${what}: ${String(cpu instanceof Error ? cpu : js)}`).toBe(true);
        const [ce, je] = [cpu as Error, js as Error];
        expect(ce.constructor, what).toBe(je.constructor);
        expect(ce.message, what).toBe(je.message);
        expect([TypeError, RangeError], `${what}: ${ce.message}`).toContain(ce.constructor);
        continue;
      }
      valid++;
      expectSameResult(cpu, js, c.boundaries.offsets, c.options.errorThreshold ?? 0.5, what);
    }
    expect(valid).toBeGreaterThan(800);
  });
});

const garbage: unknown[] = [
  undefined, null, 0, -1, 1.5, NaN, Infinity, 2 ** 31, -(2 ** 31) - 1, 1e300, '', 'cpu', 'float32', 'linear', true, {}, [], [1, 2],
  new Float32Array(3), new Int32Array(3), new Uint16Array(3), new Float64Array(3), new Uint8Array(12), new Int32Array(0),
  new ArrayBuffer(12), () => 0, Symbol('x'), 10n, new Int32Array(new SharedArrayBuffer(12)),
];

describeWhen(hasNative, 'the raw binding under random garbage', NO_NATIVE, () => {
  const binding = native().binding!;
  const base = () => ({
    data: new Float32Array(2 * 4 * 3).fill(0.25), dtype: 'float32' as unknown, B: 2 as unknown, T: 4 as unknown, H: 3 as unknown,
    offsets: Int32Array.from([0, 2, 3]) as unknown, positions: Int32Array.from([0, 3, 1]) as unknown, threads: 0 as unknown,
    backend: 'cpu' as unknown,
    head: { kind: 'linear', activation: 'softmax', positive: 1, outputs: 2, weight: new Float32Array(6), bias: undefined } as Record<string, unknown>,
    threshold: 0.5 as unknown, stepLogProbs: new Float32Array(3) as unknown, aggregates: { min: new Float32Array(2) } as unknown,
    firstError: new Int32Array(2) as unknown,
  });
  const keys = Object.keys(base());
  const headKeys = ['kind', 'activation', 'positive', 'outputs', 'weight', 'bias', 'columns'];

  it('4000 calls (sync and Promise form) only ever throw TypeError or RangeError', async () => {
    const r = rng(77);
    let ran = 0;
    for (let n = 0; n < 4000; n++) {
      const a = base() as Record<string, unknown>;
      for (let m = int(r, 1, 3); m > 0; m--) {
        const head = a.head;
        if (r() < 0.3 && head !== null && typeof head === 'object') (head as Record<string, unknown>)[pick(r, headKeys)] = pick(r, garbage);
        else a[pick(r, keys)] = pick(r, garbage);
      }
      const async = r() < 0.3;
      try {
        if (async) await binding.score(a as never);
        else binding.scoreSync(a as never);
        ran++;
      } catch (e) {
        expect([TypeError, RangeError], `call ${n}: ${String(e)}`).toContain((e as Error).constructor);
      }
    }
    expect(ran).toBeGreaterThan(0);
  });
});

describe('inputs rewritten while Promise-form calls run', () => {
  for (const backend of hasNative ? (['cpu', 'js'] as const) : (['js'] as const))
    it(`never change the result (${backend}, 150 calls)`, async () => {
      const r = rng(99);
      for (let n = 0; n < 150; n++) {
        const c = validCall(r, 5000 + n);
        const keep: Call = {
          hidden: c.hidden,
          boundaries: { offsets: c.boundaries.offsets.slice(), positions: c.boundaries.positions.slice() },
          head: { ...c.head, ...('weight' in c.head ? { weight: c.head.weight.slice() } : {}), ...('columns' in c.head && c.head.columns ? { columns: c.head.columns.slice() } : {}) } as Head,
          options: c.options,
        };
        const expected = scoreBatchSync(keep.hidden, keep.boundaries, keep.head, { ...c.options, backend });
        const pending = scoreBatch(c.hidden, c.boundaries, c.head, { ...c.options, backend });
        const junk = () => pick(r, [0x7fffffff, -1, 1 << 30, 0]);
        c.boundaries.offsets.fill(junk());
        c.boundaries.positions.fill(junk());
        if (c.head.kind === 'linear') c.head.weight.fill(NaN);
        else c.head.columns?.fill(junk());
        const got = await pending;
        expect(got.stepLogProbs, `call ${n}`).toEqual(expected.stepLogProbs);
        expect(got.firstError).toEqual(expected.firstError);
        for (const a of Object.keys(expected.aggregates) as Aggregation[]) expect(got.aggregates[a]).toEqual(expected.aggregates[a]);
      }
    });
});
