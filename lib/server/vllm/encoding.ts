// vLLM's encodings of pooling outputs: `float` (JSON rows), `base64` (the flattened rows in
// `embed_dtype` and `endianness`, base64 in the JSON) and `bytes` / `bytes_only` (the same
// bytes as the response body, one output after another; `bytes` describes each output in a
// `metadata` header: index, dtype, endianness, byte range and shape).
import { endianness as hostEndianness } from 'node:os';
import { floatToBf16, floatToF16 } from '../../kernels/half.js';
// the header items are the wire type the vLLM client reads
import type { PoolingBytesItem } from '../../backbones/vllm/protocol.js';

export const ENCODING_FORMATS = ['float', 'base64', 'bytes', 'bytes_only'] as const;
export const EMBED_DTYPES = ['float32', 'float16', 'bfloat16', 'fp8_e4m3', 'fp8_e5m2'] as const;
export const ENDIANNESS = ['native', 'big', 'little'] as const;

export type EncodingFormat = (typeof ENCODING_FORMATS)[number];
export type EmbedDtype = (typeof EMBED_DTYPES)[number];
export type Endianness = (typeof ENDIANNESS)[number];

const WIDTH: Record<EmbedDtype, number> = { float32: 4, float16: 2, bfloat16: 2, fp8_e4m3: 1, fp8_e5m2: 1 };

/** An 8-bit float format: mantissa bits and exponent bias; `fn` has no infinities (e4m3fn). */
interface Fp8 {
  mant: number;
  bias: number;
  fn: boolean;
}

function fp8Value(code: number, f: Fp8): number {
  const expBits = 7 - f.mant;
  const e = (code >> f.mant) & ((1 << expBits) - 1);
  const m = code & ((1 << f.mant) - 1);
  const top = (1 << expBits) - 1;
  if (f.fn ? e === top && m === (1 << f.mant) - 1 : e === top) return f.fn || m !== 0 ? NaN : Infinity;
  return e === 0 ? m * 2 ** (1 - f.bias - f.mant) : (1 + m / (1 << f.mant)) * 2 ** (e - f.bias);
}

/** Positive codes in order of value, up to and including the first non-finite one. */
function positiveCodes(f: Fp8): Float64Array {
  const out: number[] = [];
  for (let c = 0; c < 0x80; c++) {
    const v = fp8Value(c, f);
    out.push(v);
    if (!Number.isFinite(v)) break;
  }
  return Float64Array.from(out);
}

/**
 * Rounds to nearest, ties to the even code, as torch's cast does. A value past the largest
 * finite one rounds towards the next code, which is NaN in e4m3fn and infinity in e5m2.
 */
function fp8Encoder(f: Fp8): (x: number) => number {
  const values = positiveCodes(f);
  const last = values.length - 1; // the non-finite code just above the largest finite value
  const virtualTop = values[last - 1]! * 2 - values[last - 2]!; // where that code would sit if it were finite
  return (x: number) => {
    const sign = x < 0 || Object.is(x, -0) ? 0x80 : 0;
    const a = Math.abs(x);
    if (Number.isNaN(a)) return sign | 0x7f;
    let lo = 0;
    let hi = last;
    // the largest code whose value is <= a
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if ((mid === last ? virtualTop : values[mid]!) <= a) lo = mid;
      else hi = mid;
    }
    const up = hi === last ? virtualTop : values[hi]!;
    if (a >= up) return sign | hi;
    const dLo = a - values[lo]!;
    const dHi = up - a;
    return sign | (dLo < dHi || (dLo === dHi && lo % 2 === 0) ? lo : hi);
  };
}

export const E4M3: Fp8 = { mant: 3, bias: 7, fn: true };
export const E5M2: Fp8 = { mant: 2, bias: 15, fn: false };
export const floatToFp8E4m3 = fp8Encoder(E4M3);
export const floatToFp8E5m2 = fp8Encoder(E5M2);

/** One output's rows, flattened, as bytes of `dtype` in `endian` order. */
export function encodeRows(rows: readonly (readonly number[])[], dtype: EmbedDtype, endian: Endianness): Buffer {
  let n = 0;
  for (const r of rows) n += r.length;
  const w = WIDTH[dtype];
  const buf = Buffer.alloc(n * w);
  const little = endian === 'native' ? hostEndianness() === 'LE' : endian === 'little';
  let at = 0;
  for (const r of rows) {
    for (const v of r) {
      if (dtype === 'float32') at = little ? buf.writeFloatLE(v, at) : buf.writeFloatBE(v, at);
      else if (dtype === 'float16' || dtype === 'bfloat16') {
        const h = dtype === 'float16' ? floatToF16(v) : floatToBf16(v);
        at = little ? buf.writeUInt16LE(h, at) : buf.writeUInt16BE(h, at);
      } else {
        // from float32, as vLLM casts its float32 outputs (the 16-bit encoders round via float32 too)
        const f = Math.fround(v);
        at = buf.writeUInt8(dtype === 'fp8_e4m3' ? floatToFp8E4m3(f) : floatToFp8E5m2(f), at);
      }
    }
  }
  return buf;
}

export function shapeOf(rows: readonly (readonly number[])[], classes: number): number[] {
  return [rows.length, rows.length > 0 ? rows[0]!.length : classes];
}

/** The body and per-output metadata of a `bytes` / `bytes_only` answer. */
export function encodeBytes(outputs: ReadonlyArray<readonly (readonly number[])[]>, dtype: EmbedDtype, endian: Endianness, classes: number): { body: Buffer; items: PoolingBytesItem[] } {
  const parts: Buffer[] = [];
  const items: PoolingBytesItem[] = [];
  let offset = 0;
  outputs.forEach((rows, index) => {
    const b = encodeRows(rows, dtype, endian);
    items.push({ index, embed_dtype: dtype, endianness: endian, start: offset, end: offset + b.length, shape: shapeOf(rows, classes) });
    parts.push(b);
    offset += b.length;
  });
  return { body: Buffer.concat(parts), items };
}
