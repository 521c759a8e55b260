// The kernels own what they read for the whole call: inputs changed, swapped, shrunk or
// transferred while a call runs cannot crash the process, steer what is read, or change the
// result; bad numeric environment variables are clear errors; every backend treats
// SharedArrayBuffer-backed arrays and thresholds alike. The crash cases run in a child
// process (hostile.mjs), where dying is an exit status rather than a lost test worker.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { firstError, scoreBatch, scoreBatchSync } from '../../lib/kernels/index.js';
import { kernelEnvError } from '../../lib/kernels/env.js';
import { native } from '../../lib/kernels/native.js';
import type { Boundaries, Head } from '../../lib/kernels/types.js';
import { describeWhen, hasDist, hasNative, itWhen, NO_DIST, NO_NATIVE, repoRoot } from '../helpers/index.js';
import { linearHead, randomCase } from './fixtures.js';

const pinned = hasNative && native().binding!.info().pinned;
const SHRINK_ERROR = /^TypeError: hidden\.data must not be on a resizable ArrayBuffer or growable SharedArrayBuffer/;

function hostile(name: string, env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--expose-gc', join(repoRoot, 'test', 'kernels', 'hostile.mjs'), name], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  expect(r.signal, `killed by ${r.signal}: ${r.stderr}`).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!);
}

describeWhen(hasDist && hasNative, 'inputs changed during a call (child processes on the compiled dist/)', hasDist ? NO_NATIVE : NO_DIST, () => {
  it('offsets, positions and head weights rewritten right after scoreBatch returns change nothing', () => {
    expect(hostile('mutate-small-arrays')).toEqual({ cpu: true, js: true });
  });

  it("hidden.data's buffer transferred and collected during the call: same result, no crash", () => {
    const r = hostile('transfer-hidden');
    for (const run of ['float32 cpu', 'bfloat16 cpu', 'float16 js']) expect(r[run], run).toEqual({ detached: true, same: true, moved: null });
    // outputs the raw binding writes, transferred away mid-call: the writes land in held memory
    expect(r['raw outputs']).toEqual({ detached: true, gone: null });
  });

  it.runIf(pinned)("bceLoss's rows and params transferred and collected during the call: same loss and gradient, no crash", () => {
    expect(hostile('transfer-bce')).toEqual({ detached: true, same: true, moved: null });
  });

  it('resizable buffers are refused with the same TypeError on cpu, js and the raw binding', () => {
    const r = hostile('resizable');
    expect(r.cpu).toMatch(SHRINK_ERROR);
    expect(r.js).toBe(r.cpu);
    // a build that cannot hold buffers runs every call inline, where a resize cannot interleave
    if (pinned) expect(r.raw).toBe(r.cpu);
    else expect(r.raw).toBe('accepted');
  });

  it('raw binding: getters that transfer or swap arrays after others were read give a clean error', () => {
    const r = hostile('raw-getters');
    expect(r['head getter transfers data']).toMatch(/^RangeError: hidden\.data has 0 elements/);
    expect(r['threshold getter transfers positions']).toMatch(/^RangeError: boundaries\.offsets\[8\] must equal boundaries\.positions\.length \(0\)/);
    // each property is read once, so the second (out-of-range) answer is never seen
    expect(r['positions getter answers differently each time']).toBe('ran');
    expect(r['stepLogProbs getter transfers data, async']).toMatch(/^RangeError: hidden\.data has 0 elements/);
  });

  it('SharedArrayBuffer-backed arrays score the same on cpu and js (and in gatherRows and the reductions)', () => {
    expect(hostile('shared')).toEqual({ cpu: true, js: true, gather: true, reductions: true });
  });

  it('PRMKIT_THREADS=100000 is a clear error naming the variable, not an abort', () => {
    const r = hostile('env', { PRMKIT_THREADS: '100000' });
    const message = "PRMKIT_THREADS must be an integer in [1, 1024], got '100000'";
    expect(r.cpu).toMatchObject({ available: false, reason: message });
    expect(r.cpuError).toBe(`Error: prmkit: backend 'cpu' is unavailable: ${message}`);
    // the addon checks on its own too: loading it directly throws instead of aborting later
    expect(r.rawLoad).toBe(`RangeError: prmkit: ${message}`);
  });

  it.each([
    ['PRMKIT_THREADS', 'abc', "PRMKIT_THREADS must be an integer in [1, 1024], got 'abc'"],
    ['PRMKIT_THREADS', '0', "PRMKIT_THREADS must be an integer in [1, 1024], got '0'"],
    ['PRMKIT_THREADS', '99999999999999999999', "PRMKIT_THREADS must be an integer in [1, 1024], got '99999999999999999999'"],
    ['PRMKIT_SIMD', 'avx512', "PRMKIT_SIMD must be 'auto' or 'scalar', got 'avx512'"],
  ])('%s=%s is refused by the addon and by the loader with the same message', (name, value, message) => {
    const r = hostile('env', { [name]: value });
    expect(r.cpu.reason).toBe(message);
    expect(r.rawLoad).toBe(`RangeError: prmkit: ${message}`);
  });

  it('valid values are used: PRMKIT_THREADS=3 sizes the pool, PRMKIT_SIMD=scalar picks the portable kernels', () => {
    expect(hostile('env', { PRMKIT_THREADS: '3' }).cpu).toMatchObject({ available: true, threads: 3 });
    expect(hostile('env', { PRMKIT_SIMD: 'scalar' }).cpu).toMatchObject({ available: true, simd: 'scalar' });
  });
});

describe('the environment check matches the addon', () => {
  it('accepts unset, empty and in-range values', () => {
    expect(kernelEnvError({})).toBeUndefined();
    expect(kernelEnvError({ PRMKIT_THREADS: '', PRMKIT_SIMD: '' })).toBeUndefined();
    expect(kernelEnvError({ PRMKIT_THREADS: '1024', PRMKIT_SIMD: 'auto' })).toBeUndefined();
    expect(kernelEnvError({ PRMKIT_THREADS: '1025' })).toMatch(/PRMKIT_THREADS must be an integer in \[1, 1024\], got '1025'/);
    expect(kernelEnvError({ PRMKIT_THREADS: '+4' })).toMatch(/got '\+4'/);
    expect(kernelEnvError({ PRMKIT_THREADS: '4.0' })).toMatch(/got '4\.0'/);
  });
});

const backendsHere = hasNative ? (['cpu', 'js'] as const) : (['js'] as const);

describe('getters on the caller objects are read once', () => {
  for (const backend of backendsHere)
    it(`a boundaries getter that answers with another array after validation is not followed (${backend})`, async () => {
      const c = randomCase(41, 6, 32, 16, 'float32', 5);
      const head = linearHead(42, 2, 16, 'softmax');
      const expected = scoreBatchSync(c.hidden, c.boundaries, head, { backend });
      // the second answer would make the js loop run to 2^30
      const huge = Int32Array.from(c.boundaries.offsets).fill(1 << 30);
      huge[0] = 0;
      let reads = 0;
      const boundaries = {
        get offsets() {
          return reads++ === 0 ? c.boundaries.offsets : huge;
        },
        positions: c.boundaries.positions,
      } as Boundaries;
      const got = await scoreBatch(c.hidden, boundaries, head, { backend });
      expect(reads).toBe(1);
      expect(got.stepLogProbs).toEqual(expected.stepLogProbs);
      reads = 0;
      expect(scoreBatchSync(c.hidden, boundaries, head, { backend }).stepLogProbs).toEqual(expected.stepLogProbs);
      expect(reads).toBe(1);
    });

  for (const backend of backendsHere)
    it(`a head whose weight getter swaps in a wrong-length array is not followed (${backend})`, () => {
      const c = randomCase(43, 3, 8, 4, 'float32', 3);
      const head = linearHead(44, 1, 4, 'sigmoid') as Extract<Head, { kind: 'linear' }>;
      let reads = 0;
      const tricky = { ...head, get weight() { return reads++ === 0 ? head.weight : new Float32Array(1); } } as Head;
      expect(scoreBatchSync(c.hidden, c.boundaries, tricky, { backend }).stepLogProbs).toEqual(
        scoreBatchSync(c.hidden, c.boundaries, head, { backend }).stepLogProbs,
      );
      expect(reads).toBe(1);
    });
});

describe('thresholds mean the same on every backend (compared in double precision)', () => {
  // 0.99999999 is 1 as a float32 and 5e-324 is 0: a float comparison would flag every step or none
  const cases: [number, number[], number[]][] = [
    [0.99999999, [Math.log(0.999999995), -1.5e-8, -1e-9], [-1, 0, -1]],
    [5e-324, [-744, -745, -Infinity], [-1, 0, 0]],
  ];
  for (const backend of backendsHere)
    it(`firstError at 0.99999999 and 5e-324 (${backend})`, () => {
      for (const [t, lps, want] of cases) {
        const lp = Float32Array.from(lps);
        const offsets = Int32Array.from(lps.map((_, i) => i).concat(lps.length));
        expect([...firstError({ stepLogProbs: lp, offsets, threshold: t }, { backend })]).toEqual(want);
      }
    });

  itWhen(hasNative, 'scoreBatch: cpu and js agree on firstError at extreme thresholds', NO_NATIVE, () => {
    const c = randomCase(45, 16, 32, 8, 'float32', 8, 40);
    const head = linearHead(46, 1, 8, 'sigmoid');
    for (const errorThreshold of [0.99999999, 1 - 2 ** -40, 5e-324, 1e-300, 1e-38]) {
      const cpu = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu', errorThreshold });
      const js = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'js', errorThreshold });
      // judged on the same log-probs, the decision is the same
      expect([...firstError({ stepLogProbs: cpu.stepLogProbs, offsets: c.boundaries.offsets, threshold: errorThreshold }, { backend: 'js' })]).toEqual([...cpu.firstError]);
      expect(js.firstError.length).toBe(cpu.firstError.length);
    }
  });
});
