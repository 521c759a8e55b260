// The fp8 encoders behind /pooling's embed_dtype fp8_e4m3 / fp8_e5m2, against a brute-force
// reference written here from the formats' definitions: every code's value, the nearest one
// chosen, ties to the even code, and what lies past the largest finite value.
import { describe, expect, it } from 'vitest';
import { encodeRows, floatToFp8E4m3, floatToFp8E5m2 } from '../../lib/server/vllm/encoding.js';

interface Format {
  name: string;
  encode: (x: number) => number;
  expBits: number;
  bias: number;
  /** e4m3fn: no infinities, only S.1111.111 is NaN. */
  fn: boolean;
}

const FORMATS: Format[] = [
  { name: 'e4m3fn', encode: floatToFp8E4m3, expBits: 4, bias: 7, fn: true },
  { name: 'e5m2', encode: floatToFp8E5m2, expBits: 5, bias: 15, fn: false },
];

function value(c: number, f: Format): number {
  const mant = 7 - f.expBits;
  const s = c & 0x80 ? -1 : 1;
  const e = (c >> mant) & ((1 << f.expBits) - 1);
  const m = c & ((1 << mant) - 1);
  const top = (1 << f.expBits) - 1;
  if (f.fn && e === top && m === (1 << mant) - 1) return NaN;
  if (!f.fn && e === top) return m ? NaN : s * Infinity;
  return e === 0 ? s * m * 2 ** (1 - f.bias - mant) : s * 2 ** (e - f.bias) * (1 + m / (1 << mant));
}

/** The reference: nearest finite code, ties to the even code; past max + half a step, the overflow code. */
function reference(x: number, f: Format): number {
  const finite: number[] = [];
  for (let c = 0; c < 0x80; c++) if (Number.isFinite(value(c, f))) finite.push(c);
  const max = finite.at(-1)!;
  const step = value(max, f) - value(max - 1, f);
  const a = Math.abs(x);
  const sign = x < 0 ? 0x80 : 0;
  if (a > value(max, f) + step / 2 || (a === value(max, f) + step / 2 && max % 2 === 1)) return sign | (max + 1);
  let best = 0;
  for (const c of finite) {
    const d = Math.abs(value(c, f) - a);
    const bd = Math.abs(value(best, f) - a);
    if (d < bd || (d === bd && c % 2 === 0)) best = c;
  }
  return sign | best;
}

describe('fp8 encoding', () => {
  for (const f of FORMATS) {
    it(`${f.name}: every code round-trips, every midpoint ties to even, a sweep rounds to nearest`, () => {
      for (let c = 0; c < 256; c++) {
        const v = value(c, f);
        if (Number.isFinite(v) && !(v === 0 && c === 0x80)) expect(f.encode(v), `code ${c}`).toBe(c);
      }
      const positives = Array.from({ length: 0x80 }, (_, c) => value(c, f)).filter(Number.isFinite);
      for (let i = 0; i + 1 < positives.length; i++) {
        const mid = (positives[i]! + positives[i + 1]!) / 2;
        expect(f.encode(mid), `midpoint ${mid}`).toBe(reference(mid, f));
        expect(f.encode(-mid)).toBe(reference(-mid, f));
      }
      for (let x = -3; x <= 3; x += 0.0137) expect(f.encode(x), `x = ${x}`).toBe(reference(x, f));
      for (const x of [1e-9, 2 ** -12, 0.3, 0.999, 100, 239, 240, 255, 448, 449, 464, 465, 479, 500, 57344, 61440, 61441, 1e6]) {
        expect(f.encode(x), `x = ${x}`).toBe(reference(x, f));
      }
    });
  }

  it('e4m3fn has no infinity: overflow and NaN are NaN; e5m2 overflows to infinity', () => {
    expect(Number.isNaN(value(floatToFp8E4m3(1e6), FORMATS[0]!))).toBe(true);
    expect(Number.isNaN(value(floatToFp8E4m3(NaN), FORMATS[0]!))).toBe(true);
    expect(value(floatToFp8E5m2(1e6), FORMATS[1]!)).toBe(Infinity);
    expect(value(floatToFp8E5m2(-Infinity), FORMATS[1]!)).toBe(-Infinity);
    expect(Number.isNaN(value(floatToFp8E5m2(NaN), FORMATS[1]!))).toBe(true);
  });

  it('encodeRows lays rows out flat, in the byte order asked for', () => {
    const rows = [
      [0.25, 0.75],
      [1, -2],
    ];
    const le = encodeRows(rows, 'float32', 'little');
    const be = encodeRows(rows, 'float32', 'big');
    expect([0, 4, 8, 12].map((o) => le.readFloatLE(o))).toEqual([0.25, 0.75, 1, -2]);
    expect([0, 4, 8, 12].map((o) => be.readFloatBE(o))).toEqual([0.25, 0.75, 1, -2]);
    // float16 of 1 is 0x3c00; bfloat16 of 1 is 0x3f80
    expect(encodeRows([[1]], 'float16', 'big')).toEqual(Buffer.from([0x3c, 0x00]));
    expect(encodeRows([[1]], 'float16', 'little')).toEqual(Buffer.from([0x00, 0x3c]));
    expect(encodeRows([[1]], 'bfloat16', 'big')).toEqual(Buffer.from([0x3f, 0x80]));
    expect(encodeRows([[1]], 'fp8_e4m3', 'big')).toEqual(Buffer.from([0x38]));
    expect(encodeRows([[1]], 'fp8_e5m2', 'little')).toEqual(Buffer.from([0x3c]));
  });
});
