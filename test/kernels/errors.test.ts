// Every rule of the kernel contract rejects bad input with the specific error, before any
// work, on every backend, and the raw binding refuses the same input without crashing.
import { describe, expect, it } from 'vitest';
import { describeWhen, NO_NATIVE } from '../helpers/index.js';

import { aggregate, backends, firstError, gatherRows, rankGroups, scoreBatch, scoreBatchSync } from '../../lib/kernels/index.js';
import { native } from '../../lib/kernels/native.js';
import type { Boundaries, Head, Hidden } from '../../lib/kernels/types.js';

const B = 2, T = 4, H = 3;
const hidden = (): Hidden => ({ data: new Float32Array(B * T * H).fill(0.25), dtype: 'float32', dims: [B, T, H] });
const bounds = (): Boundaries => ({ offsets: Int32Array.from([0, 2, 3]), positions: Int32Array.from([0, 3, 1]) });
const lin = (over: Partial<Extract<Head, { kind: 'linear' }>> = {}): Head => ({
  kind: 'linear', weight: new Float32Array(2 * H), outputs: 2, activation: 'softmax', ...over,
});

type Bad = [name: string, error: typeof TypeError | typeof RangeError, message: RegExp, hidden: Hidden, boundaries: Boundaries, head: Head, options?: object];

const bad: Bad[] = [
  ['Float32Array for a 16-bit dtype', TypeError, /hidden\.data must be a Uint16Array/, { ...hidden(), dtype: 'float16' }, bounds(), lin()],
  ['Uint16Array for float32', TypeError, /hidden\.data must be a Float32Array/, { data: new Uint16Array(B * T * H), dtype: 'float32', dims: [B, T, H] }, bounds(), lin()],
  ['Float64Array', TypeError, /hidden\.data must be a Float32Array/, { data: new Float64Array(24) as unknown as Float32Array, dtype: 'float32', dims: [B, T, H] }, bounds(), lin()],
  ['unknown dtype', TypeError, /hidden\.dtype must be/, { ...hidden(), dtype: 'int8' as 'float32' }, bounds(), lin()],
  ['length != product of dims', RangeError, /hidden\.data has 24 elements but hidden\.dims \[2, 4, 4\] need 32/, { ...hidden(), dims: [2, 4, 4] }, bounds(), lin()],
  ['dims not 3 long', RangeError, /hidden\.dims must have 3 entries/, { ...hidden(), dims: [24, 1] as unknown as [number, number, number] }, bounds(), lin()],
  ['fractional dim', RangeError, /hidden\.dims T must be a non-negative integer/, { ...hidden(), dims: [2, 4.5, 3] }, bounds(), lin()],
  ['offsets of length != B+1', RangeError, /boundaries\.offsets must have length B \+ 1 = 3, got 2/, hidden(), { offsets: Int32Array.from([0, 3]), positions: Int32Array.from([0, 1, 2]) }, lin()],
  ['offsets decreasing', RangeError, /must be non-decreasing: boundaries\.offsets\[2\] = 1 < boundaries\.offsets\[1\] = 2/, hidden(), { offsets: Int32Array.from([0, 2, 1]), positions: Int32Array.from([0]) }, lin()],
  ['offsets not starting at 0', RangeError, /boundaries\.offsets\[0\] must be 0, got 1/, hidden(), { offsets: Int32Array.from([1, 2, 3]), positions: Int32Array.from([0, 1, 2]) }, lin()],
  ['offsets not ending at S', RangeError, /boundaries\.offsets\[2\] must equal boundaries\.positions\.length \(3\), got 2/, hidden(), { offsets: Int32Array.from([0, 1, 2]), positions: Int32Array.from([0, 1, 2]) }, lin()],
  ['offsets not Int32Array', TypeError, /boundaries\.offsets must be an Int32Array/, hidden(), { offsets: [0, 2, 3] as unknown as Int32Array, positions: Int32Array.from([0, 1, 2]) }, lin()],
  ['position = T', RangeError, /boundaries\.positions\[2\] = 4 \(candidate 1\) is outside \[0, T = 4\)/, hidden(), { offsets: Int32Array.from([0, 2, 3]), positions: Int32Array.from([0, 1, 4]) }, lin()],
  ['negative position', RangeError, /boundaries\.positions\[0\] = -1 \(candidate 0\)/, hidden(), { offsets: Int32Array.from([0, 2, 3]), positions: Int32Array.from([-1, 1, 2]) }, lin()],
  ['weight length != K*H', RangeError, /head\.weight has length 5 but outputs x H = 2 x 3 = 6/, hidden(), bounds(), lin({ weight: new Float32Array(5) })],
  ['bias length != K', RangeError, /head\.bias has length 3 but head\.outputs is 2/, hidden(), bounds(), lin({ bias: new Float32Array(3) })],
  ['weight not Float32Array', TypeError, /head\.weight must be a Float32Array/, hidden(), bounds(), lin({ weight: [0, 0, 0, 0, 0, 0] as unknown as Float32Array })],
  ['positive = K', RangeError, /head\.positive = 2 is outside \[0, K = 2\)/, hidden(), bounds(), lin({ positive: 2 })],
  ['negative positive', RangeError, /head\.positive = -1 is outside/, hidden(), bounds(), lin({ positive: -1 })],
  ['sigmoid with K = 2', RangeError, /a sigmoid head needs exactly 1 output, got 2/, hidden(), bounds(), lin({ activation: 'sigmoid' })],
  ['sigmoid over a whole logits row', RangeError, /a sigmoid head needs exactly 1 output, got 3 \(pick one column/, hidden(), bounds(), { kind: 'logits', activation: 'sigmoid' }],
  ['column outside [0, V)', RangeError, /head\.columns\[1\] = 3 is outside \[0, V = 3\)/, hidden(), bounds(), { kind: 'logits', activation: 'softmax', columns: Int32Array.from([0, 3]) }],
  ['unknown head kind', TypeError, /head\.kind must be 'linear' or 'logits'/, hidden(), bounds(), { kind: 'mlp', activation: 'softmax' } as unknown as Head],
  ['threshold 0', RangeError, /errorThreshold must be a number in \(0, 1\), got 0 \(number\)/, hidden(), bounds(), lin(), { errorThreshold: 0 }],
  ['threshold 1', RangeError, /errorThreshold must be a number in \(0, 1\), got 1 \(number\)/, hidden(), bounds(), lin(), { errorThreshold: 1 }],
  ['threshold NaN', RangeError, /errorThreshold must be a number in \(0, 1\), got NaN \(number\)/, hidden(), bounds(), lin(), { errorThreshold: NaN }],
  ['unknown aggregation', RangeError, /aggregations\[0\] must be one of .*got "median" \(string\)/, hidden(), bounds(), lin(), { aggregations: ['median'] }],
  ['unknown backend', RangeError, /options\.backend must be/, hidden(), bounds(), lin(), { backend: 'tpu' }],
  ['negative threads', RangeError, /options\.threads must be an integer/, hidden(), bounds(), lin(), { threads: -2 }],
];

const nativeLoaded = backends().cpu.available;

describe('bad input is rejected before any work, naming the argument', () => {
  for (const [name, Err, msg, h, b, head, options] of bad)
    for (const backend of nativeLoaded ? (['cpu', 'js'] as const) : (['js'] as const)) {
      it(`${name} (${backend})`, async () => {
        const o = { backend, ...options };
        expect(() => scoreBatchSync(h, b, head, o)).toThrow(Err);
        expect(() => scoreBatchSync(h, b, head, o)).toThrow(msg);
        await expect(scoreBatch(h, b, head, o)).rejects.toThrow(msg);
      });
    }

  it('gatherRows, aggregate, firstError and rankGroups check their arguments', () => {
    expect(() => gatherRows(hidden(), { offsets: Int32Array.from([0, 2, 3]), positions: Int32Array.from([0, 1, 9]) })).toThrow(/positions\[2\] = 9/);
    const lp = new Float32Array(3);
    expect(() => aggregate({ stepLogProbs: lp, offsets: Int32Array.from([0, 2, 3]), how: 'median' as 'min' })).toThrow(RangeError);
    expect(() => aggregate({ stepLogProbs: lp, offsets: Int32Array.from([0, 2, 2]), how: 'min' })).toThrow(/offsets\[2\] must equal stepLogProbs\.length \(3\), got 2/);
    expect(() => aggregate({ stepLogProbs: [0, 1] as unknown as Float32Array, offsets: Int32Array.from([0, 2]), how: 'min' })).toThrow(TypeError);
    expect(() => firstError({ stepLogProbs: lp, offsets: Int32Array.from([0, 3]), threshold: 1.5 })).toThrow(/threshold must be a number in \(0, 1\), got 1.5 \(number\)/);
    expect(() => firstError({ stepLogProbs: lp, offsets: Int32Array.from([0, 4, 3]) })).toThrow(/non-decreasing/);
    expect(() => rankGroups({ scores: lp, groupOffsets: Int32Array.from([1, 3]) })).toThrow(/groupOffsets\[0\] must be 0/);
    expect(() => rankGroups({ scores: new Float64Array(3) as unknown as Float32Array, groupOffsets: Int32Array.from([0, 3]) })).toThrow(TypeError);
    // argument objects: a misspelt key is refused rather than replaced by its default
    expect(() => firstError({ stepLogProbs: lp, offsets: Int32Array.from([0, 3]), treshold: 0.9 } as never)).toThrow(
      /args\.treshold is not an option; did you mean 'threshold'\?/,
    );
    expect(() => (aggregate as (...a: unknown[]) => unknown)(lp, Int32Array.from([0, 3]), 'min')).toThrow(
      'args must be an object { stepLogProbs, offsets, how }, got a Float32Array',
    );
    expect(() => rankGroups(undefined as never)).toThrow('args must be an object { scores, groupOffsets }, got undefined');
    expect(() => aggregate({ stepLogProbs: lp, offsets: Int32Array.from([0, 3]), how: 'min' }, { backend: 'cpu', thread: 1 } as never)).toThrow(
      /options\.thread is not an option; did you mean 'threads'\?/,
    );
  });

  it('NaN in hidden states gives NaN for that step and its chain, no error', () => {
    for (const backend of nativeLoaded ? (['cpu', 'js'] as const) : (['js'] as const)) {
      const h = hidden();
      h.data[(0 * T + 3) * H + 1] = NaN; // candidate 0, token 3: its second step
      const r = scoreBatchSync(h, bounds(), lin({ weight: new Float32Array(6).fill(0.5) }), { backend });
      expect(Number.isNaN(r.stepLogProbs[0])).toBe(false);
      expect(r.stepLogProbs[1]).toBeNaN();
      expect(r.stepLogProbs[2]).toBeCloseTo(Math.log(0.5), 6); // equal weights: p = 1/2
      for (const a of ['prod', 'min', 'last', 'mean', 'geomean'] as const) {
        expect(r.aggregates[a]![0]).toBeNaN();
        expect(r.aggregates[a]![1]).toBeCloseTo(Math.log(0.5), 6);
      }
    }
  });
});

describeWhen(nativeLoaded, 'the raw binding checks again and never crashes', NO_NATIVE, () => {
  const binding = native().binding!;
  const args = () => ({
    data: new Float32Array(B * T * H), dtype: 'float32' as string, B, T, H,
    offsets: Int32Array.from([0, 2, 3]), positions: Int32Array.from([0, 3, 1]), threads: 0, backend: 'cpu' as const,
    head: { kind: 'linear' as string, activation: 'softmax', positive: 1, outputs: 2, weight: new Float32Array(2 * H) },
    threshold: 0.5, stepLogProbs: new Float32Array(3), aggregates: {} as Record<string, Float32Array>, firstError: new Int32Array(B),
  });
  const cases: [string, (a: ReturnType<typeof args>) => void, RegExp][] = [
    ['position out of range', (a) => (a.positions = Int32Array.from([0, 1, 99])), /positions\[2\] = 99/],
    ['data too short', (a) => (a.data = new Float32Array(5)), /hidden\.data has 5 elements/],
    ['wrong data type', (a) => (a.dtype = 'float16'), /Uint16Array/],
    ['unknown dtype name', (a) => (a.dtype = 'int8'), /hidden\.dtype must be one of 'float32', 'float16', 'bfloat16'/],
    ['a dtype given as its old integer code', (a) => ((a as { dtype: unknown }).dtype = 0), /hidden\.dtype must be one of/],
    ['unknown head kind', (a) => (a.head.kind = 'mlp'), /head\.kind must be one of 'linear', 'logits'/],
    ['offsets decreasing', (a) => (a.offsets = Int32Array.from([0, 3, 2])), /non-decreasing/],
    ['weight too short', (a) => (a.head.weight = new Float32Array(1)), /head\.weight has length 1/],
    ['positive out of range', (a) => (a.head.positive = 5), /head\.positive = 5/],
    ['output too short', (a) => (a.stepLogProbs = new Float32Array(1)), /stepLogProbs must have length S/],
    ['aggregate output too short', (a) => (a.aggregates = { mean: new Float32Array(1) }), /aggregates\.mean must have length B/],
    ['aggregates as the old positional array', (a) => ((a as { aggregates: unknown }).aggregates = [null, null, null, null, null]), /aggregates must be an object/],
    ['B not an integer', (a) => (a.B = 1.5), /integer/],
  ];
  for (const [name, mutate, msg] of cases)
    it(name, async () => {
      const a = args();
      mutate(a);
      expect(() => binding.scoreSync(a)).toThrow(msg);
      expect(() => binding.score(a)).toThrow(msg); // thrown synchronously, before queueing work
    });
});
