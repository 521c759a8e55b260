// A torch Linear (y = x W^T + b, W [N, K] out × in) as ONNX nodes, in the weight type the
// conversion asked for: float32 MatMul, float16 storage widened at load, or block-wise
// int8/int4 codes for onnxruntime's MatMulNBits. Weights are stored transposed ([K, N])
// for MatMul, as onnxruntime expects its right-hand side.
import { toHalf } from '../kernels/half.js';
import type { ModelDtype } from '../model/manifest.js';
import { TYPE } from './onnx-writer.js';
import type { OnnxWriter } from './onnx-writer.js';
import { quantizeBlockwise } from './quantize.js';

export type ConvertDtype = ModelDtype;

export interface LinearWeights {
  /** [N, K], torch layout. */
  weight: Float32Array;
  N: number;
  K: number;
  bias?: Float32Array;
}

export interface LinearOptions {
  dtype: ConvertDtype;
  /** Block size of int8/int4 weights along K. */
  block: number;
  /** MatMulNBits accuracy_level (4: int8 activations, fastest on CPU). */
  accuracyLevel: number;
}

export function transpose(w: Float32Array, N: number, K: number): Float32Array {
  const t = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k];
  return t;
}

export function concatRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export class Linears {
  constructor(
    private readonly g: OnnxWriter,
    private readonly o: LinearOptions,
  ) {}

  /**
   * `path` names the projection (`/model/layers.0/attn/qkv_proj`); its nodes are `path/MatMul`
   * (`path/MatMulNBits`) and `path/Add`, its weights `path.weight…`. `float32` keeps a
   * projection in float32 whatever the conversion's dtype (the head: small, and its error
   * would land on every score).
   */
  project(x: string, path: string, w: LinearWeights, float32 = false): string {
    const { g, o } = this;
    const { N, K } = w;
    const dtype = float32 ? 'float32' : o.dtype;
    let y: string;
    if ((dtype === 'int8' || dtype === 'int4') && K % o.block === 0) {
      const q = quantizeBlockwise(w.weight, N, K, dtype === 'int8' ? 8 : 4, o.block);
      const blocks = K / o.block;
      const codes = g.tensor(`${path}.weight_q${q.bits}`, 'uint8', [N, blocks, (o.block * q.bits) / 8], q.codes);
      const scales = g.floats(`${path}.weight_scales`, [N * blocks], q.scales);
      y = g.op(`${path}/MatMulNBits`, 'MatMulNBits', [x, codes, scales], { K, N, bits: q.bits, block_size: o.block, accuracy_level: o.accuracyLevel }, undefined, 'com.microsoft');
    } else if (dtype !== 'float32') {
      // half-precision storage (also the fallback of a quantized dtype whose K does not
      // divide into blocks); onnxruntime folds the Cast at load and computes in float32
      const wt = g.tensor(`${path}.weight_f16`, 'float16', [K, N], toHalf(transpose(w.weight, N, K), 'float16'));
      y = g.op(`${path}/MatMul`, 'MatMul', [x, g.op(`${path}/weight/Cast`, 'Cast', [wt], { to: TYPE.float32 })]);
    } else {
      y = g.op(`${path}/MatMul`, 'MatMul', [x, g.floats(`${path}.weight`, [K, N], transpose(w.weight, N, K))]);
    }
    return w.bias ? g.op(`${path}/Add`, 'Add', [y, g.floats(`${path}.bias`, [N], w.bias)]) : y;
  }
}
