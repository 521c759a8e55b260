// The js backend of `tokenLogProbs`: one row at a time, the head's logits streamed through a
// running maximum and rescaled sum (float64), so it holds no more than the native kernel
// does. Correct and slow (a plain loop over vocabulary x hidden per row).
import { bf16ToFloat, f16ToFloat } from './half.js';
import type { Dtype } from './types.js';

export interface ResolvedLmHead {
  weight: Float32Array | Uint16Array;
  dtype: Dtype;
  V: number;
  H: number;
}

/** The head as float32 rows, decoded once per call (16-bit weights). */
export function headFloats(head: ResolvedLmHead): Float32Array {
  if (head.weight instanceof Float32Array) return head.weight;
  const decode = head.dtype === 'float16' ? f16ToFloat : bf16ToFloat;
  const w = head.weight;
  const out = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) out[i] = decode(w[i]);
  return out;
}

/** Hidden row `row` (of the flattened [B * T] rows) as float32. */
export function hiddenRow(data: Float32Array | Uint16Array, dtype: Dtype, row: number, H: number): Float32Array {
  if (data instanceof Float32Array) return data.subarray(row * H, (row + 1) * H);
  const decode = dtype === 'float16' ? f16ToFloat : bf16ToFloat;
  const out = new Float32Array(H);
  for (let k = 0; k < H; k++) out[k] = decode(data[row * H + k]);
  return out;
}

/** log softmax(W x)[target] for one row x (float64 throughout; NaN where a logit is not finite). */
export function referenceTokenLogProb(x: Float32Array, W: Float32Array, V: number, target: number): number {
  const H = x.length;
  let m = -Infinity;
  let s = 0;
  let picked = NaN;
  for (let v = 0; v < V; v++) {
    let z = 0;
    const o = v * H;
    for (let k = 0; k < H; k++) z += x[k] * W[o + k];
    if (!Number.isFinite(z)) return NaN;
    if (v === target) picked = z;
    if (z > m) {
      s = s * Math.exp(m - z) + 1;
      m = z;
    } else s += Math.exp(z - m);
  }
  return picked - m - Math.log(s);
}
