// An independent float64 reference of the kernel contract for the parity tests: its own
// 16-bit decoding (by bit layout and by arithmetic, not lib/kernels/half.ts), its own head
// defaults, and every log-probability, aggregate and first error computed in double
// precision. The shipped js backend shares code with nothing here.
import type { Aggregation, Head, Hidden } from '../../lib/kernels/types.js';

/** float16 by bit layout: rebias the exponent into a float32 pattern (subnormals by arithmetic). */
export function f16Reference(h: number): number {
  const sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  const view = new DataView(new ArrayBuffer(4));
  if (exp === 0) return ((sign ? -1 : 1) * mant) / 16777216; // mant * 2^-24, exact in a double
  if (exp === 31) view.setUint32(0, ((sign << 31) | 0x7f800000 | (mant << 13)) >>> 0);
  else view.setUint32(0, ((sign << 31) | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0);
  return view.getFloat32(0);
}

/** bfloat16 by arithmetic: (-1)^s * 2^(e-127) * (1 + m/128), subnormals 2^-126 * m/128. */
export function bf16Reference(h: number): number {
  const sign = h >> 15 ? -1 : 1, exp = (h >> 7) & 255, mant = h & 127;
  if (exp === 255) return mant ? NaN : sign * Infinity;
  if (exp === 0) return sign * 2 ** -126 * (mant / 128);
  return sign * 2 ** (exp - 127) * (1 + mant / 128);
}

function element(hidden: Hidden): (i: number) => number {
  const d = hidden.data;
  if (hidden.dtype === 'float32') return (i) => d[i];
  return hidden.dtype === 'float16' ? (i) => f16Reference(d[i]) : (i) => bf16Reference(d[i]);
}

/** log of softmax(z)[k] in float64, by the log-sum-exp of the whole vector. */
export function logSoftmax64(z: number[], k: number): number {
  if (z.some(Number.isNaN)) return NaN;
  const m = Math.max(...z);
  if (!Number.isFinite(m)) return NaN;
  return z[k] - m - Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
}

export const logSigmoid64 = (z: number): number => (z >= 0 ? -Math.log1p(Math.exp(-z)) : z - Math.log1p(Math.exp(z)));

/** The logits of one boundary row (head outputs, or the picked/whole logits row). */
export function rowLogits(hidden: Hidden, head: Head, b: number, pos: number): number[] {
  const [, T, H] = hidden.dims;
  const at = element(hidden);
  const base = (b * T + pos) * H;
  if (head.kind === 'linear') {
    const z: number[] = [];
    for (let k = 0; k < head.outputs; k++) {
      let acc = head.bias ? head.bias[k] : 0;
      for (let i = 0; i < H; i++) acc += at(base + i) * head.weight[k * H + i];
      z.push(acc);
    }
    return z;
  }
  if (head.columns) return Array.from(head.columns, (c) => at(base + c));
  return Array.from({ length: H }, (_, i) => at(base + i));
}

/** log P(step correct) of every step, in float64. */
export function stepLogProbs64(hidden: Hidden, offsets: Int32Array, positions: Int32Array, head: Head): Float64Array {
  const out = new Float64Array(positions.length);
  for (let b = 0; b + 1 < offsets.length; b++)
    for (let s = offsets[b]; s < offsets[b + 1]; s++) {
      const z = rowLogits(hidden, head, b, positions[s]);
      const K = z.length;
      const positive = head.positive ?? (head.activation === 'sigmoid' ? 0 : K - 1);
      out[s] = head.activation === 'sigmoid' ? logSigmoid64(z[0]) : logSoftmax64(z, positive);
    }
  return out;
}

/** One chain aggregate in float64 from its step log-probs; NaN for an empty chain or a NaN step. */
export function aggregate64(lp: ArrayLike<number>, how: Aggregation): number {
  const v = Array.from(lp);
  if (v.length === 0 || v.some(Number.isNaN)) return NaN;
  switch (how) {
    case 'prod':
      return v.reduce((s, x) => s + x, 0);
    case 'geomean':
      return v.reduce((s, x) => s + x, 0) / v.length;
    case 'min':
      return Math.min(...v);
    case 'last':
      return v[v.length - 1];
    case 'mean': {
      const m = Math.max(...v);
      return m === -Infinity ? -Infinity : m + Math.log(v.reduce((s, x) => s + Math.exp(x - m), 0) / v.length);
    }
  }
}

/**
 * The first step below the threshold, from float64 log-probs, or undefined when a step up to
 * it lies within `margin` of log(threshold) (float32 rounding may then decide either way).
 */
export function firstError64(lp: ArrayLike<number>, threshold: number, margin = 1e-4): number | undefined {
  const t = Math.log(threshold);
  for (let i = 0; i < lp.length; i++) {
    if (Math.abs(lp[i] - t) < margin) return undefined;
    if (lp[i] < t) return i;
  }
  return -1;
}
