// float16 / bfloat16 conversion, exhaustively, against formulas written here that share
// nothing with lib/kernels/half.ts: every one of the 65,536 bit patterns decoded (js and the
// native kernels, SIMD and portable), and encoding's round-to-nearest-even at every midpoint
// between neighbouring 16-bit values.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

import { fromHalf, gatherRows, toHalf } from '../../lib/kernels/index.js';
import { describeWhen, hasNative, NO_NATIVE, repoRoot } from '../helpers/index.js';
import { bf16Reference, f16Reference } from './float64.js';

const ALL = Uint16Array.from({ length: 65536 }, (_, i) => i);

const REFERENCE = { float16: f16Reference, bfloat16: bf16Reference } as const;

function expectDecodes(got: Float32Array, dtype: keyof typeof REFERENCE, what: string) {
  let bad = -1;
  for (let h = 0; h < 65536 && bad < 0; h++) if (!Object.is(got[h], REFERENCE[dtype](h)) && !(Number.isNaN(got[h]) && Number.isNaN(REFERENCE[dtype](h)))) bad = h;
  expect(bad, bad >= 0 ? `${what} ${dtype} 0x${bad.toString(16)}: ${got[bad]} vs ${REFERENCE[dtype](bad)}` : '').toBe(-1);
}

describe('decoding: all 65,536 bit patterns', () => {
  for (const dtype of ['float16', 'bfloat16'] as const)
    it(`fromHalf ${dtype} matches the independent formula (signed zeros, subnormals, inf and NaN included)`, () => {
      expectDecodes(fromHalf(ALL, dtype), dtype, 'fromHalf');
    });

  describeWhen(hasNative, 'the native kernels widen every pattern the same way', NO_NATIVE, () => {
    // gatherRows on a [1, 1, 65536] hidden state returns the row widened by the row kernels
    const boundaries = { offsets: Int32Array.from([0, 1]), positions: Int32Array.from([0]) };
    for (const dtype of ['float16', 'bfloat16'] as const)
      it(`cpu gatherRows ${dtype} (${process.env.PRMKIT_SIMD ?? 'auto'} kernels)`, () => {
        expectDecodes(gatherRows({ data: ALL, dtype, dims: [1, 1, 65536] }, boundaries, { backend: 'cpu' }), dtype, 'native');
      });

    it('and so do the portable kernels (PRMKIT_SIMD=scalar, in a child process)', () => {
      const code = `
        const k = await import(${JSON.stringify(`${repoRoot}/dist/kernels/index.js`)});
        const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
        const b = { offsets: Int32Array.from([0, 1]), positions: Int32Array.from([0]) };
        const out = {};
        for (const dtype of ['float16', 'bfloat16'])
          out[dtype] = Buffer.from(k.gatherRows({ data: all, dtype, dims: [1, 1, 65536] }, b, { backend: 'cpu' }).buffer).toString('base64');
        console.log(JSON.stringify({ simd: k.backends().cpu.simd, ...out }));`;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', code], { encoding: 'utf8', env: { ...process.env, PRMKIT_SIMD: 'scalar' } });
      expect(r.status, r.stderr).toBe(0);
      const got = JSON.parse(r.stdout);
      expect(got.simd).toBe('scalar');
      for (const dtype of ['float16', 'bfloat16'] as const) {
        const bytes = Buffer.from(got[dtype], 'base64');
        expectDecodes(new Float32Array(bytes.buffer, bytes.byteOffset, 65536), dtype, 'scalar');
      }
    });
  });
});

/** The correctly rounded 16-bit pattern of x, by comparing distances to both neighbours. */
function nearestEven(x: number, dtype: keyof typeof REFERENCE, lo: number, hi: number): number {
  const a = REFERENCE[dtype](lo), b = REFERENCE[dtype](hi);
  const da = Math.abs(x - a), db = Math.abs(x - b);
  if (da !== db) return da < db ? lo : hi;
  return lo % 2 === 0 ? lo : hi;
}

describe('encoding: round to nearest, ties to even', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const maxFinite = dtype === 'float16' ? 0x7bff : 0x7f7f;
    it(`${dtype}: every value exactly representable round-trips`, () => {
      const finite = ALL.filter((h) => (h & 0x7fff) <= maxFinite);
      const back = toHalf(Array.from(finite, (h) => REFERENCE[dtype](h)), dtype);
      const bad = finite.findIndex((h, i) => back[i] !== h);
      expect(bad, bad >= 0 ? `0x${finite[bad].toString(16)} -> 0x${back[bad].toString(16)}` : '').toBe(-1);
    });

    it(`${dtype}: midpoints between neighbours go to the even one; one float32 step either side goes to the nearer`, () => {
      const inputs: number[] = [];
      const want: number[] = [];
      const f32 = new Float32Array(1), u32 = new Uint32Array(f32.buffer);
      let inexact = 0;
      for (const sign of [0, 0x8000])
        for (let m = 0; m < maxFinite; m++) {
          const lo = sign | m, hi = sign | (m + 1);
          const mid = (REFERENCE[dtype](lo) + REFERENCE[dtype](hi)) / 2; // exact in float32: one more bit
          f32[0] = mid;
          if (f32[0] !== mid) inexact++;
          const at = u32[0];
          for (const bits of [at - 1, at, at + 1]) {
            u32[0] = bits;
            inputs.push(f32[0]);
            want.push(nearestEven(f32[0], dtype, lo, hi));
          }
        }
      expect(inexact).toBe(0);
      const got = toHalf(inputs, dtype);
      const bad = want.findIndex((w, i) => got[i] !== w);
      expect(bad, bad >= 0 ? `${inputs[bad]} -> 0x${got[bad].toString(16)}, want 0x${want[bad].toString(16)}` : '').toBe(-1);
    });

    it(`${dtype}: overflow, underflow, signed zero and NaN`, () => {
      const max = REFERENCE[dtype](maxFinite);
      const ulpAtMax = max - REFERENCE[dtype](maxFinite - 1);
      const inf = 0x7c00 * (dtype === 'float16' ? 1 : 0) + 0x7f80 * (dtype === 'bfloat16' ? 1 : 0);
      const tiny = REFERENCE[dtype](1); // smallest subnormal
      const [toMax, toInf, negInf, zero, negZero, tieToZero, aboveTie] = toHalf(
        [max + ulpAtMax / 4, max + ulpAtMax / 2, -Infinity, 0, -0, tiny / 2, (tiny / 2) * (1 + 2 ** -10)],
        dtype,
      );
      expect(toMax).toBe(maxFinite);
      expect(toInf).toBe(inf); // the midpoint to the next power of two rounds to even: infinity
      expect(negInf).toBe(0x8000 | inf);
      expect(zero).toBe(0);
      expect(negZero).toBe(0x8000);
      expect(tieToZero).toBe(0); // half the smallest subnormal ties to even zero
      expect(aboveTie).toBe(1);
      const [nan, negNan] = toHalf([NaN, -NaN], dtype);
      expect(Number.isNaN(REFERENCE[dtype](nan))).toBe(true);
      expect(Number.isNaN(REFERENCE[dtype](negNan))).toBe(true);
    });
  }
});
