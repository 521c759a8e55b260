// GRPO advantages: the native cpu kernel and the js backend against a float64 reference
// written here from the definition (a token's advantage is the sum over its response's
// steps that end at or after it), on random ragged groups with the awkward cases mixed in.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADVANTAGE_EPS, backends, grpoAdvantages, grpoAdvantagesSync } from '../../lib/kernels/index.js';
import type { AdvantageArrays, AdvantageOptions } from '../../lib/kernels/index.js';
import { native as loadNative } from '../../lib/kernels/native.js';
import { describeWhen, hasDist, NO_DIST, NO_NATIVE, repoRoot } from '../helpers/index.js';

const native = backends().cpu.available;

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

interface Case extends AdvantageArrays {
  name: string;
}

/** Random groups: empty responses, one-step responses, all-equal groups and NaN rewards mixed in. */
function randomCase(seed: number, G: number, maxResponses: number, maxSteps: number, maxTokens: number): Case {
  const r = rng(seed);
  const rewards: number[] = [];
  const stepOffsets = [0];
  const responseOffsets = [0];
  const ends: number[] = [];
  const tokens: number[] = [];
  for (let g = 0; g < G; g++) {
    const kind = g % 7; // 0 normal, 1 all equal, 2 has NaN, 3 one-step responses, 4 empty responses, 5 single response
    const R = kind === 5 ? 1 : 1 + Math.floor(r() * maxResponses);
    const equal = Math.fround(r());
    for (let i = 0; i < R; i++) {
      const T = kind === 4 && i % 2 === 0 ? 0 : 1 + Math.floor(r() * maxTokens);
      const steps = T === 0 ? 0 : kind === 3 ? 1 : Math.floor(r() * Math.min(maxSteps, T + 1));
      // distinct sorted ends in [0, T), sometimes two steps on one token
      const picks = Array.from({ length: steps }, () => Math.floor(r() * T)).sort((a, b) => a - b);
      for (let k = 0; k < steps; k++) {
        ends.push(picks[k]);
        rewards.push(kind === 1 ? equal : kind === 2 && k === 0 && i === 0 ? NaN : r());
      }
      tokens.push(T);
      stepOffsets.push(stepOffsets[stepOffsets.length - 1] + steps);
    }
    responseOffsets.push(responseOffsets[responseOffsets.length - 1] + R);
  }
  return {
    name: `seed ${seed}: ${G} groups`,
    stepRewards: Float32Array.from(rewards),
    stepOffsets: Int32Array.from(stepOffsets),
    responseOffsets: Int32Array.from(responseOffsets),
    stepEnds: Int32Array.from(ends),
    responseTokens: Int32Array.from(tokens),
  };
}

/** The definition, in float64, token by token. */
function definition(c: AdvantageArrays, mode: 'process' | 'outcome', std: 'sample' | 'population', eps: number): Float64Array {
  const out: number[] = [];
  const stats = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const dev = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (std === 'sample' ? xs.length - 1 : xs.length));
    const allEqual = xs.every((x) => x === xs[0]);
    return (x: number) => (Number.isNaN(mean) ? NaN : allEqual ? 0 : (x - mean) / (dev + Math.fround(eps)));
  };
  for (let g = 0; g + 1 < c.responseOffsets.length; g++) {
    const responses = Array.from({ length: c.responseOffsets[g + 1] - c.responseOffsets[g] }, (_, i) => c.responseOffsets[g] + i);
    const stepsOf = (r: number) => Array.from({ length: c.stepOffsets[r + 1] - c.stepOffsets[r] }, (_, k) => c.stepOffsets[r] + k);
    if (mode === 'process') {
      const z = stats(responses.flatMap(stepsOf).map((s) => c.stepRewards[s]));
      for (const r of responses)
        for (let t = 0; t < c.responseTokens[r]; t++) {
          let a = 0;
          for (const s of stepsOf(r)) if (c.stepEnds[s] >= t) a += z(c.stepRewards[s]);
          out.push(a);
        }
    } else {
      const last = (r: number) => c.stepRewards[c.stepOffsets[r + 1] - 1];
      const z = stats(responses.filter((r) => stepsOf(r).length > 0).map(last));
      for (const r of responses) for (let t = 0; t < c.responseTokens[r]; t++) out.push(stepsOf(r).length > 0 ? z(last(r)) : 0);
    }
  }
  return Float64Array.from(out);
}

/** The definition for the first response of every group only (whole-batch definition would be slow on large cases). */
function definitionFirstResponses(c: AdvantageArrays, mode: 'process' | 'outcome', std: 'sample' | 'population', eps: number): Array<[number, Float64Array]> {
  const out: Array<[number, Float64Array]> = [];
  for (let g = 0; g + 1 < c.responseOffsets.length; g++) {
    const r0 = c.responseOffsets[g];
    const r1 = c.responseOffsets[g + 1];
    const one: AdvantageArrays = {
      // the group alone, renumbered from 0
      stepRewards: c.stepRewards.subarray(c.stepOffsets[r0], c.stepOffsets[r1]),
      stepOffsets: Int32Array.from(c.stepOffsets.subarray(r0, r1 + 1), (v) => v - c.stepOffsets[r0]),
      responseOffsets: Int32Array.of(0, r1 - r0),
      stepEnds: c.stepEnds.subarray(c.stepOffsets[r0], c.stepOffsets[r1]),
      responseTokens: c.responseTokens.subarray(r0, r1),
    };
    // every token of the group is defined, but only the first response is kept
    const all = definition({ ...one, responseTokens: Int32Array.from(one.responseTokens, (t, i) => (i === 0 ? t : 0)), stepOffsets: one.stepOffsets, stepEnds: one.stepEnds }, mode, std, eps);
    out.push([r0, all]);
  }
  return out;
}

function expectMatches(actual: Float32Array, expected: Float64Array, what: string) {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    const ok = Number.isNaN(e) ? Number.isNaN(a) : Math.abs(a - e) <= 2e-5 * (1 + Math.abs(e));
    if (!ok) expect.fail(`${what}[${i}]: ${a} vs ${e}`);
  }
}

const cases = [
  randomCase(1, 14, 6, 5, 12),
  randomCase(2, 40, 16, 24, 200),
  randomCase(3, 7, 3, 1, 3),
  randomCase(4, 64, 16, 32, 600),
];
const variants: AdvantageOptions[] = [
  { mode: 'process', std: 'sample' },
  { mode: 'process', std: 'population' },
  { mode: 'outcome', std: 'sample' },
  { mode: 'outcome', std: 'population', eps: 0 },
  { mode: 'process', std: 'sample', eps: 0.5 },
];
const label = (o: AdvantageOptions) => `${o.mode}/${o.std}/eps ${o.eps ?? 'default'}`;

describe('grpoAdvantages on the js backend', () => {
  for (const c of cases)
    for (const o of variants)
      it(`${c.name}, ${label(o)}`, async () => {
        const ref = definition(c, o.mode!, o.std!, o.eps ?? ADVANTAGE_EPS);
        expectMatches(grpoAdvantagesSync(c, { ...o, backend: 'js' }), ref, 'sync');
        expectMatches(await grpoAdvantages(c, { ...o, backend: 'js' }), ref, 'async');
      });
});

describeWhen(native, 'grpoAdvantages on the native cpu backend', NO_NATIVE, () => {
  for (const c of cases)
    for (const o of variants)
      it(`${c.name}, ${label(o)}`, async () => {
        const ref = definition(c, o.mode!, o.std!, o.eps ?? ADVANTAGE_EPS);
        expectMatches(grpoAdvantagesSync(c, { ...o, backend: 'cpu' }), ref, 'sync');
        expectMatches(await grpoAdvantages(c, { ...o, backend: 'cpu' }), ref, 'async');
        expectMatches(grpoAdvantagesSync(c, { ...o, backend: 'cpu', threads: 1 }), ref, 'one thread');
      });

  // outputs of 4 MiB and more go out with streaming stores in native code: odd response
  // lengths put every response start at another alignment
  it('large outputs (the streaming-store path) match the js backend and the definition', () => {
    const c = randomCase(21, 40, 9, 40, 20011);
    const total = c.responseTokens.reduce((a, b) => a + b, 0);
    expect(total * 4).toBeGreaterThan(4 << 20);
    for (const o of variants) {
      const js = grpoAdvantagesSync(c, { ...o, backend: 'js' });
      for (const threads of [0, 1]) {
        const cpu = grpoAdvantagesSync(c, { ...o, backend: 'cpu', threads });
        for (let i = 0; i < total; i++) {
          const ok = Number.isNaN(js[i]) ? Number.isNaN(cpu[i]) : Math.abs(cpu[i] - js[i]) <= 2e-5 * (1 + Math.abs(js[i]));
          if (!ok) expect.fail(`${label(o)} threads ${threads} [${i}]: ${cpu[i]} vs ${js[i]}`);
        }
      }
      // and the definition itself, on every group's first response
      const sub: AdvantageArrays = {
        stepRewards: c.stepRewards, stepOffsets: c.stepOffsets, responseOffsets: c.responseOffsets, stepEnds: c.stepEnds, responseTokens: c.responseTokens,
      };
      const starts = [0];
      for (const t of c.responseTokens) starts.push(starts[starts.length - 1] + t);
      const ref = definitionFirstResponses(sub, o.mode!, o.std!, o.eps ?? ADVANTAGE_EPS);
      for (const [r, values] of ref) expectMatches(js.subarray(starts[r], starts[r + 1]), values, `${label(o)} response ${r}`);
    }
  });

  it('the Promise form gives what the Sync form gives on a bench-sized batch', async () => {
    const c = randomCase(9, 256, 16, 24, 1024);
    const pending = grpoAdvantages(c, { backend: 'cpu' });
    expect(pending).toBeInstanceOf(Promise);
    expect(await pending).toEqual(grpoAdvantagesSync(c, { backend: 'cpu' }));
  });
});

describe('grpoAdvantages semantics', () => {
  // two responses of 3 and 2 tokens; rewards 0.9, 0.1 | 0.5; mean 0.5, sample std 0.4
  const small: AdvantageArrays = {
    stepRewards: Float32Array.of(0.9, 0.1, 0.5),
    stepOffsets: Int32Array.of(0, 2, 3),
    responseOffsets: Int32Array.of(0, 2),
    stepEnds: Int32Array.of(1, 2, 1),
    responseTokens: Int32Array.of(3, 2),
  };

  it('sums the normalized rewards of the steps at or after each token', () => {
    const a = grpoAdvantagesSync(small, { backend: 'js', eps: 0 });
    const z = (x: number) => (Math.fround(x) - (Math.fround(0.9) + Math.fround(0.1) + Math.fround(0.5)) / 3);
    expect(a[0]).toBeCloseTo(0, 6); // (0.9 - m)/s + (0.1 - m)/s
    expect(a[2]).toBeCloseTo(-1, 5); // only the second step is at or after token 2
    expect(a[3]).toBeCloseTo(0, 6);
    expect(Math.sign(a[2])).toBe(Math.sign(z(0.1)));
  });

  it('gives an all-equal group zeros, also with eps 0', () => {
    const equal = { ...small, stepRewards: Float32Array.of(0.3, 0.3, 0.3) };
    for (const mode of ['process', 'outcome'] as const)
      for (const backend of native ? (['js', 'cpu'] as const) : (['js'] as const))
        expect(Array.from(grpoAdvantagesSync(equal, { mode, eps: 0, backend }))).toEqual([0, 0, 0, 0, 0]);
  });

  it('keeps a NaN inside its own group', () => {
    const two: AdvantageArrays = {
      stepRewards: Float32Array.of(NaN, 0.2, 0.8, 0.1, 0.7),
      stepOffsets: Int32Array.of(0, 1, 2, 3, 5),
      responseOffsets: Int32Array.of(0, 2, 4),
      stepEnds: Int32Array.of(0, 1, 1, 0, 2),
      responseTokens: Int32Array.of(1, 2, 2, 3),
    };
    for (const backend of native ? (['js', 'cpu'] as const) : (['js'] as const)) {
      const a = grpoAdvantagesSync(two, { backend });
      expect(a.subarray(0, 3).every(Number.isNaN), backend).toBe(true);
      expect(a.subarray(3).some(Number.isNaN), backend).toBe(false);
    }
  });

  it('outcome mode gives every token of a response its normalized final reward', () => {
    const a = grpoAdvantagesSync(small, { mode: 'outcome', std: 'population', eps: 0, backend: 'js' });
    // finals: 0.1 (response 0) and 0.5 (response 1): population std 0.2, mean 0.3
    expect(Array.from(a, (v) => Math.round(v * 1e5) / 1e5)).toEqual([-1, -1, -1, 1, 1]);
  });
});

describe('grpoAdvantages into a caller buffer', () => {
  it('writes options.out and returns it', () => {
    const c = randomCase(5, 9, 5, 4, 20);
    const out = new Float32Array(c.responseTokens.reduce((a, b) => a + b, 0)).fill(7);
    for (const backend of native ? (['js', 'cpu'] as const) : (['js'] as const)) {
      out.fill(7);
      expect(grpoAdvantagesSync(c, { backend, out })).toBe(out);
      expectMatches(out, definition(c, 'process', 'sample', ADVANTAGE_EPS), backend);
    }
  });
});

describe('grpoAdvantages argument errors', () => {
  const good = (): AdvantageArrays => ({
    stepRewards: Float32Array.of(0.9, 0.1, 0.5),
    stepOffsets: Int32Array.of(0, 2, 3),
    responseOffsets: Int32Array.of(0, 2),
    stepEnds: Int32Array.of(1, 2, 1),
    responseTokens: Int32Array.of(3, 2),
  });
  const backendsToTry = native ? (['js', 'cpu'] as const) : (['js'] as const);
  const bad: Array<[string, (a: AdvantageArrays) => unknown, typeof TypeError | typeof RangeError, RegExp]> = [
    ['stepRewards type', (a) => ({ ...a, stepRewards: [0.9, 0.1, 0.5] }), TypeError, /stepRewards must be a Float32Array/],
    ['stepOffsets type', (a) => ({ ...a, stepOffsets: Float32Array.of(0, 2, 3) }), TypeError, /stepOffsets must be a Int32Array/],
    ['stepOffsets end', (a) => ({ ...a, stepOffsets: Int32Array.of(0, 2, 2) }), RangeError, /stepOffsets\[2\] must equal stepRewards.length \(3\)/],
    ['stepOffsets order', (a) => ({ ...a, stepOffsets: Int32Array.of(0, 4, 3) }), RangeError, /stepOffsets must be non-decreasing/],
    ['responseOffsets end', (a) => ({ ...a, responseOffsets: Int32Array.of(0, 1) }), RangeError, /responseOffsets\[1\] must equal the number of responses/],
    ['stepEnds length', (a) => ({ ...a, stepEnds: Int32Array.of(1, 2) }), RangeError, /stepEnds must have one entry per step/],
    ['stepEnds outside', (a) => ({ ...a, stepEnds: Int32Array.of(1, 3, 1) }), RangeError, /stepEnds\[1\] = 3 \(response 0\) is outside \[0, responseTokens\[0\] = 3\)/],
    ['stepEnds order', (a) => ({ ...a, stepEnds: Int32Array.of(2, 1, 1) }), RangeError, /stepEnds must be non-decreasing within a response/],
    ['responseTokens length', (a) => ({ ...a, responseTokens: Int32Array.of(3) }), RangeError, /responseTokens must have one entry per response \(2\)/],
    ['responseTokens negative', (a) => ({ ...a, responseTokens: Int32Array.of(3, -1), stepOffsets: Int32Array.of(0, 3, 3), stepEnds: Int32Array.of(0, 1, 2) }), RangeError, /responseTokens\[1\] = -1 must be >= 0/],
  ];
  for (const [what, mutate, kind, message] of bad)
    it(`rejects bad ${what} before any work`, async () => {
      for (const backend of backendsToTry) {
        expect(() => grpoAdvantagesSync(mutate(good()) as AdvantageArrays, { backend })).toThrow(kind);
        expect(() => grpoAdvantagesSync(mutate(good()) as AdvantageArrays, { backend })).toThrow(message);
        // the Promise form rejects the same way (it checks before starting)
        await expect(grpoAdvantages(mutate(good()) as AdvantageArrays, { backend })).rejects.toThrow(message);
      }
    });

  it('rejects bad options, naming them', () => {
    expect(() => grpoAdvantagesSync(good(), { mode: 'proces' as never })).toThrow(/options.mode must be one of 'process', 'outcome' \(did you mean 'process'\?\)/);
    expect(() => grpoAdvantagesSync(good(), { std: 'unbiased' as never })).toThrow(RangeError);
    expect(() => grpoAdvantagesSync(good(), { eps: -1 })).toThrow(/options.eps must be a number/);
    expect(() => grpoAdvantagesSync(good(), { eps: '1e-6' as never })).toThrow(TypeError);
    expect(() => grpoAdvantagesSync(good(), { mdoe: 'process' } as never)).toThrow(/options.mdoe is not an option; did you mean 'mode'\?/);
    expect(() => grpoAdvantagesSync(good(), { backend: 'cuda' })).toThrow(/no CUDA backend/);
    expect(() => grpoAdvantagesSync(good(), { threads: 1.5 })).toThrow(RangeError);
    expect(() => grpoAdvantagesSync(null as never)).toThrow(TypeError);
    expect(() => grpoAdvantagesSync(good(), { out: new Float32Array(4) })).toThrow(/options.out must have length sum\(responseTokens\) = 5, got 4/);
    expect(() => grpoAdvantagesSync(good(), { out: new Float64Array(5) as never })).toThrow(/options.out must be a Float32Array/);
  });
});

const rawArgs = () => ({
  stepRewards: Float32Array.of(0.9, 0.1, 0.5), stepOffsets: Int32Array.of(0, 2, 3), responseOffsets: Int32Array.of(0, 2),
  stepEnds: Int32Array.of(1, 2, 1), responseTokens: Int32Array.of(3, 2), out: new Float32Array(5),
  mode: 'process' as const, std: 'sample' as const, eps: 1e-6, threads: 0,
});

describeWhen(native, 'the native binding checks its own arguments', NO_NATIVE, () => {
  it('refuses an out array of the wrong length and an index outside a response', () => {
    const b = loadNative().binding!;
    const args = { ...rawArgs(), out: new Float32Array(4) };
    expect(() => b.advantagesSync(args)).toThrow(/out must have length sum\(responseTokens\) = 5, got 4/);
    expect(() => b.advantagesSync({ ...args, out: new Float32Array(5), stepEnds: Int32Array.of(1, 2, 2) })).toThrow(RangeError);
    expect(() => b.advantagesSync({ ...args, out: new Float32Array(5), eps: NaN })).toThrow(/options.eps/);
  });

  it('takes mode and std by name: the old integer codes are refused with a TypeError naming the names', () => {
    const b = loadNative().binding!;
    expect(() => b.advantagesSync({ ...rawArgs(), mode: 0 as never })).toThrow(new TypeError("mode must be one of 'process', 'outcome'"));
    expect(() => b.advantagesSync({ ...rawArgs(), std: 1 as never })).toThrow(new TypeError("std must be one of 'sample', 'population'"));
    expect(() => b.advantagesSync({ ...rawArgs(), mode: 'Process' as never })).toThrow(TypeError);
    // each name gives what the public API gives for it
    const small = rawArgs();
    for (const mode of ['process', 'outcome'] as const)
      for (const std of ['sample', 'population'] as const) {
        const a = { ...rawArgs(), mode, std };
        b.advantagesSync(a);
        expect([...a.out], `${mode}/${std}`).toEqual([...grpoAdvantagesSync(small, { mode, std, backend: 'js' })]);
      }
  });
});

const allBackends = native ? (['cpu', 'js'] as const) : (['js'] as const);
const KEYS = ['stepRewards', 'stepOffsets', 'responseOffsets', 'stepEnds', 'responseTokens'] as const;

describe('grpoAdvantages reads each property of the inputs once', () => {
  for (const backend of allBackends)
    for (const key of KEYS)
      it(`a ${key} getter that answers with another array the second time is not followed (${backend})`, async () => {
        const c = randomCase(31, 12, 6, 8, 40);
        const expected = grpoAdvantagesSync(c, { backend });
        // the second answer would index far outside every array
        const wrong = key === 'stepRewards' ? new Float32Array(c.stepRewards.length).fill(NaN) : new Int32Array(c[key].length).fill(1 << 30);
        let reads = 0;
        const inputs = { ...c };
        Object.defineProperty(inputs, key, { get: () => (reads++ === 0 ? c[key] : wrong), enumerable: true });
        expect(grpoAdvantagesSync(inputs, { backend })).toEqual(expected);
        expect(reads).toBe(1);
        reads = 0;
        expect(await grpoAdvantages(inputs, { backend })).toEqual(expected);
        expect(reads).toBe(1);
      });

  it('options are read once too', () => {
    const c = randomCase(32, 4, 4, 4, 10);
    let reads = 0;
    const options = { get mode() { return reads++ === 0 ? 'outcome' : 'nonsense'; }, backend: 'js' } as AdvantageOptions;
    expect(grpoAdvantagesSync(c, options)).toEqual(grpoAdvantagesSync(c, { mode: 'outcome', backend: 'js' }));
    expect(reads).toBe(1);
  });
});

describe('grpoAdvantages and the buffers under its arrays', () => {
  const RESIZABLE = /^(stepRewards|stepOffsets|responseOffsets|stepEnds|responseTokens|options\.out) must not be on a resizable ArrayBuffer or growable SharedArrayBuffer \(it could shrink while the kernels read it\)$/;
  const onResizable = <T extends Float32Array | Int32Array>(a: T): T => {
    const buf = new ArrayBuffer(a.byteLength, { maxByteLength: a.byteLength * 2 });
    const r = new (a.constructor as new (b: ArrayBuffer, o: number, n: number) => T)(buf, 0, a.length);
    r.set(a as never);
    return r;
  };
  const shared = <T extends Float32Array | Int32Array>(a: T): T => {
    const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
    s.set(a as never);
    return s;
  };

  it('refuses a resizable buffer under any array with the same TypeError on every backend (and the raw binding)', async () => {
    const c = randomCase(33, 5, 4, 4, 10);
    for (const key of KEYS) {
      const inputs = { ...c, [key]: onResizable(c[key]) };
      const messages: string[] = [];
      for (const backend of allBackends) {
        let e: unknown;
        try {
          grpoAdvantagesSync(inputs, { backend });
        } catch (err) {
          e = err;
        }
        expect(e, `${key} ${backend}`).toBeInstanceOf(TypeError);
        messages.push((e as Error).message);
        await expect(grpoAdvantages(inputs, { backend })).rejects.toThrow(new TypeError((e as Error).message));
      }
      expect(messages[0]).toMatch(RESIZABLE);
      expect(messages[0].startsWith(key)).toBe(true);
      expect(new Set(messages).size, key).toBe(1);
      if (native) {
        const b = loadNative().binding!;
        const raw = { ...rawArgs(), ...c, [key]: inputs[key], out: new Float32Array(c.responseTokens.reduce((a, t) => a + t, 0)) };
        if (b.info().pinned) expect(() => b.advantagesSync(raw)).toThrow(new TypeError(messages[0]));
      }
    }
    const total = c.responseTokens.reduce((a, t) => a + t, 0);
    for (const backend of allBackends)
      expect(() => grpoAdvantagesSync(c, { backend, out: onResizable(new Float32Array(total)) })).toThrow(/^options\.out must not be on a resizable/);
  });

  it('accepts SharedArrayBuffer-backed arrays (and out) with the results of ordinary ones', async () => {
    const c = randomCase(34, 20, 8, 10, 60);
    const sc = Object.fromEntries(KEYS.map((key) => [key, shared(c[key])])) as unknown as AdvantageArrays;
    for (const backend of allBackends) {
      const plain = grpoAdvantagesSync(c, { backend });
      expect(grpoAdvantagesSync(sc, { backend }), backend).toEqual(plain);
      expect(await grpoAdvantages(sc, { backend }), backend).toEqual(plain);
      const out = shared(new Float32Array(plain.length));
      expect(await grpoAdvantages(sc, { backend, out })).toBe(out);
      expect(Float32Array.from(out)).toEqual(plain);
    }
  });
});

function hostile(name: string) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(repoRoot, 'test', 'rewards', 'hostile-advantages.mjs'), name], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.signal, `killed by ${r.signal}: ${r.stderr}`).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describeWhen(hasDist, 'inputs changed while the Promise form runs (child processes on the compiled dist/)', NO_DIST, () => {
  const expectedBackends = native ? ['cpu', 'js'] : ['js'];
  it('every input array rewritten right after grpoAdvantages returns changes nothing', () => {
    const r = hostile('mutate');
    expect(r).toEqual(Object.fromEntries(expectedBackends.flatMap((b) => ['process', 'outcome'].map((m) => [`${b} ${m}`, true]))));
  });

  it('every input buffer transferred and collected during the call: same result, no crash', () => {
    const r = hostile('transfer');
    for (const b of expectedBackends) expect(r[b], b).toEqual({ detached: true, same: true, moved: null });
    // the raw binding's output, transferred away mid-call: the writes land in held memory
    if (native) expect(r['raw out']).toEqual({ detached: true, gone: null });
  });

  it('a resizable buffer shrunk right after the call is refused up front with the same TypeError everywhere', () => {
    const r = hostile('resizable');
    expect(r.js).toMatch(/^TypeError: stepRewards must not be on a resizable ArrayBuffer or growable SharedArrayBuffer/);
    if (native) {
      expect(r.cpu).toBe(r.js);
      // a build that cannot hold buffers runs every call inline, where a resize cannot interleave
      if (r.pinned) expect(r.raw).toBe(r.js);
      else expect(r.raw).toBe('accepted');
    }
  });
});
