// The binding contract (lib/kernels/binding.ts): the loaded addon implements every entry
// point at the contract's version, and a stale or foreign binary is refused at load with one
// clear reason instead of failing inside a call.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { BINDING_FUNCTIONS, BINDING_VERSION, bindingMismatch, native } from '../../lib/kernels/native.js';
import { describeWhen, distDir, hasDist, hasNative, NO_DIST, NO_NATIVE } from '../helpers/index.js';

describeWhen(hasNative, 'the loaded addon', NO_NATIVE, () => {
  it('reports this contract version and exports every entry point', () => {
    const b = native().binding as unknown as Record<string, unknown>;
    expect(b.bindingVersion).toBe(BINDING_VERSION);
    for (const f of BINDING_FUNCTIONS) expect(typeof b[f], f).toBe('function');
    expect(bindingMismatch(b)).toBeUndefined();
  });

  it('takes enums by name: the old integer codes are refused with a TypeError naming the names', () => {
    const b = native().binding!;
    const lp = new Float32Array(2), off = Int32Array.from([0, 2]), out = new Float32Array(1);
    expect(() => b.aggregate({ stepLogProbs: lp, offsets: off, how: 0 as never, out, threads: 0 })).toThrow(TypeError);
    expect(() => b.aggregate({ stepLogProbs: lp, offsets: off, how: 0 as never, out, threads: 0 })).toThrow(
      "how must be one of 'prod', 'min', 'last', 'mean', 'geomean'",
    );
    b.aggregate({ stepLogProbs: Float32Array.from([-1, -3]), offsets: off, how: 'min', out, threads: 0 });
    expect(out[0]).toBe(-3);
  });

  it('takes argument objects everywhere: the old positional forms are refused', () => {
    const b = native().binding!;
    const lp = Float32Array.from([-1, -3]), off = Int32Array.from([0, 2]);
    expect(() => (b.aggregate as (...a: unknown[]) => void)(lp, off, 'min', new Float32Array(1), 0)).toThrow(/stepLogProbs must be a Float32Array/);
    expect(() => (b.firstError as (...a: unknown[]) => void)(lp, off, 0.5, new Int32Array(1), 0)).toThrow(/stepLogProbs must be a Float32Array/);
    expect(() => (b.rankGroups as (...a: unknown[]) => void)(lp, off, new Int32Array(2), 0)).toThrow(/scores must be a Float32Array/);
    expect(() => (b.readBytes as (...a: unknown[]) => number)(lp, 0)).toThrow(/data must be a Float32Array/);
    expect(() => (b.writeBytes as (...a: unknown[]) => void)(lp, 0)).toThrow(/data must be a Float32Array/);
    const fe = new Int32Array(1);
    b.firstError({ stepLogProbs: lp, offsets: off, threshold: 0.3, out: fe, threads: 0 });
    expect(fe[0]).toBe(1); // p = e^-1 = 0.37 passes 0.3, p = e^-3 = 0.05 does not
    const ranks = new Int32Array(2);
    b.rankGroups({ scores: lp, groupOffsets: off, out: ranks, threads: 0 });
    expect([...ranks]).toEqual([0, 1]);
    expect(b.readBytes({ data: Float32Array.from([1.5, 2.5, -1]), threads: 0 })).toBe(3);
  });

  it('readBytes sums every byte with any pool size (it returned 0 above 256 threads)', () => {
    // a pool of 300 threads lives in a child process, sized by PRMKIT_THREADS at load
    const out = execFileSync(
      process.execPath,
      [
        '-e',
        `const b = require(${JSON.stringify(native().path)});
         const data = new Float32Array(100003).fill(0.5);
         console.log(JSON.stringify({ threads: b.info().threads, all: b.readBytes({ data, threads: 0 }), some: b.readBytes({ data, threads: 257 }) }));`,
      ],
      { encoding: 'utf8', env: { ...process.env, PRMKIT_THREADS: '300' } },
    );
    expect(JSON.parse(out)).toEqual({ threads: 300, all: 50001.5, some: 50001.5 });
  });
});

describeWhen(hasNative, 'the raw binding reads SharedArrayBuffer-backed arrays in place', NO_NATIVE, () => {
  it('with the results of ordinary arrays (it used to throw a bare "Invalid argument")', () => {
    const b = native().binding!;
    const shared = <T extends Float32Array | Int32Array>(a: T): T => {
      const s = new (a.constructor as new (b: SharedArrayBuffer) => T)(new SharedArrayBuffer(a.byteLength));
      s.set(a as never);
      return s;
    };
    const data = Float32Array.from({ length: 2 * 4 * 3 }, (_, i) => Math.sin(i));
    const args = (sab: boolean) => {
      const w = sab ? shared : <T>(a: T) => a;
      return {
        data: w(data), dtype: 'float32' as const, B: 2, T: 4, H: 3, offsets: w(Int32Array.from([0, 2, 3])), positions: w(Int32Array.from([0, 3, 1])),
        threads: 0, backend: 'cpu' as const, head: { kind: 'linear' as const, activation: 'softmax' as const, positive: 1, outputs: 2, weight: w(Float32Array.from([1, 2, 3, -1, 0, 2])) },
        threshold: 0.5, stepLogProbs: w(new Float32Array(3)), aggregates: { mean: w(new Float32Array(2)) }, firstError: w(new Int32Array(2)),
      };
    };
    const plain = args(false), sab = args(true);
    b.scoreSync(plain);
    b.scoreSync(sab);
    expect(sab.stepLogProbs.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect([...sab.stepLogProbs]).toEqual([...plain.stepLogProbs]);
    expect([...sab.aggregates.mean]).toEqual([...plain.aggregates.mean]);
    expect(Number.isFinite(plain.stepLogProbs[0])).toBe(true);
  });
});

describe('bindingMismatch', () => {
  const fns = Object.fromEntries(BINDING_FUNCTIONS.map((f) => [f, () => 0]));
  it('names what is wrong', () => {
    expect(bindingMismatch({})).toMatch(/not a prmkit addon/);
    expect(bindingMismatch({ ...fns })).toContain(`binding contract before 2, this package needs ${BINDING_VERSION}); it is stale`);
    expect(bindingMismatch({ ...fns, bindingVersion: 1 })).toContain(`binding contract 1, this package needs ${BINDING_VERSION}`);
    const { cudaTrim: _, ...partial } = fns;
    expect(bindingMismatch({ ...partial, bindingVersion: BINDING_VERSION })).toMatch(/lacks cudaTrim/);
    expect(bindingMismatch({ ...fns, bindingVersion: BINDING_VERSION })).toBeUndefined();
  });
});

describeWhen(hasDist, 'a stale binary at load (child process on the compiled dist/)', NO_DIST, () => {
  const dir = mkdtempSync(join(tmpdir(), 'prmkit-stale-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is refused with one reason naming the file and the fix; the js backend still runs', () => {
    // what an addon built before the contract had a version looks like from JS
    const stale = join(dir, 'stale.cjs');
    writeFileSync(stale, 'exports.scoreSync = () => {}; exports.info = () => ({ simd: "x", threads: 1, cuda: {} });\n');
    const out = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const k = await import(${JSON.stringify(join(distDir, 'kernels', 'index.js'))});
         let err = null;
         try { k.scoreBatchSync({ data: new Float32Array(2), dtype: 'float32', dims: [1, 2, 1] }, { offsets: Int32Array.from([0, 1]), positions: Int32Array.from([1]) },
           { kind: 'logits', activation: 'sigmoid' }, { backend: 'cpu' }); } catch (e) { err = e.message; }
         const js = k.scoreBatchSync({ data: new Float32Array(2), dtype: 'float32', dims: [1, 2, 1] }, { offsets: Int32Array.from([0, 1]), positions: Int32Array.from([1]) },
           { kind: 'logits', activation: 'sigmoid' }, { backend: 'js' });
         console.log(JSON.stringify({ cpu: k.backends().cpu, err, js: [...js.stepLogProbs] }));`,
      ],
      { encoding: 'utf8', env: { ...process.env, PRMKIT_NATIVE_PATH: stale } },
    );
    const r = JSON.parse(out);
    expect(r.cpu.available).toBe(false);
    expect(r.cpu.reason).toContain(`${stale}: it was built from other prmkit sources (binding contract before 2, this package needs ${BINDING_VERSION}); it is stale`);
    expect(r.cpu.reason).toMatch(/npm rebuild prmkit/);
    expect(r.err).toBe(`prmkit: backend 'cpu' is unavailable: ${r.cpu.reason}`);
    expect(r.js[0]).toBeCloseTo(Math.log(0.5), 6);
  });
});
