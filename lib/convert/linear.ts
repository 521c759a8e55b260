// A torch Linear (y = x W^T + b, W [N, K] out × in) as ONNX nodes, in the weight type the
// conversion asked for: float32 MatMul, float16 storage widened at load, int8 as an integer
// GEMM (per-channel weights, activations quantized as they come), or block-wise int8/int4
// codes for onnxruntime's MatMulNBits. Weights are stored transposed ([K, N]) for MatMul, as
// onnxruntime expects its right-hand side.
import { toHalf } from '../kernels/half.js';
import type { Manifest, ModelDtype } from '../model/manifest.js';
import { TYPE } from './onnx-writer.js';
import type { OnnxWriter } from './onnx-writer.js';
import { quantizeBlockwise, quantizePerChannel } from './quantize.js';

export type ConvertDtype = ModelDtype;

/**
 * How int8 weights are multiplied: 'integer' (per-channel int8 weights, activations
 * quantized to uint8 at run time, onnxruntime's u8×s8 GEMM: VNNI/AMX/dot-product
 * instructions) or 'blockwise' (MatMulNBits, 16-weight blocks).
 */
export type Int8Form = 'integer' | 'blockwise';
export const INT8_FORMS: readonly Int8Form[] = ['integer', 'blockwise'];

/** Which projection of a decoder layer a Linear is. */
export type ProjectionRole = 'qkv' | 'o' | 'gate_up' | 'down';

/**
 * How one projection's input is quantized in the integer form: one scale per row (token), or
 * not at all (`float`: the projection stays a float32 MatMul).
 */
export type ActivationScale = 'row' | 'float';

/** The integer form's choice per projection. */
export type QuantPlan = (layer: number, role: ProjectionRole) => ActivationScale;

export interface LinearWeights {
  /** [N, K], torch layout. */
  weight: Float32Array;
  N: number;
  K: number;
  bias?: Float32Array;
}

export interface LinearOptions {
  dtype: ConvertDtype;
  /** Block size of block-wise int8/int4 weights along K. */
  block: number;
  /** MatMulNBits accuracy_level (4: int8 activations, fastest on CPU). */
  accuracyLevel: number;
  /** int8 only (int4 is always block-wise). */
  int8Form: Int8Form;
  /** The integer form's activation scales per projection (default: every projection by row). */
  quantPlan?: QuantPlan;
}

/** What prmkit.json records of a conversion's quantization (undefined for float weights). */
export function quantizationOf(o: LinearOptions): Manifest['quantization'] {
  if (o.dtype === 'int8' && o.int8Form === 'integer') return { scheme: 'integer', bits: 8, weights: 'per-channel', activations: 'per-row' };
  if (o.dtype === 'int8' || o.dtype === 'int4') return { scheme: 'MatMulNBits', bits: o.dtype === 'int8' ? 8 : 4, block: o.block, accuracyLevel: o.accuracyLevel };
  return undefined;
}

export function transpose(w: Float32Array, N: number, K: number): Float32Array {
  const t = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k];
  return t;
}

export { concatRows } from '../model/safetensors.js';

/** Where a projection sits, for the quantization plan; absent: the head (float32 always). */
export interface ProjectionSite {
  layer: number;
  role: ProjectionRole;
}

export class Linears {
  private ids = '';
  private rows = '';
  private readonly quantized = new Map<string, { xq: string; rowScale: string }>();
  constructor(
    private readonly g: OnnxWriter,
    private readonly o: LinearOptions,
  ) {}

  /** `ids` [batch, sequence]: its shape gives the leading dimensions of every projection. */
  useRowsOf(ids: string): void {
    this.ids = ids;
  }

  /** Whether the projection at `site` is an integer GEMM. */
  integerAt(site: ProjectionSite): boolean {
    const { o } = this;
    return o.dtype === 'int8' && o.int8Form === 'integer' && (o.quantPlan?.(site.layer, site.role) ?? 'row') !== 'float';
  }

  /**
   * `path` names the projection (`/model/layers.0/attn/qkv_proj`); its nodes are `path/MatMul`
   * (`path/MatMulNBits`, `path/MatMulIntegerToFloat`, ...) and `path/Add`, its weights
   * `path.weight…`. Without a `site` the projection stays float32 whatever the conversion's
   * dtype (the head: small, and its error would land on every score).
   */
  project(x: string, path: string, w: LinearWeights, site?: ProjectionSite): string {
    const { g, o } = this;
    const { N, K } = w;
    const dtype = site ? o.dtype : 'float32';
    let y: string;
    if (dtype === 'int8' && o.int8Form === 'integer') {
      const scale = (o.quantPlan ?? (() => 'row'))(site!.layer, site!.role);
      if (scale !== 'float') return this.integer(x, path, w);
      y = g.op(`${path}/MatMul`, 'MatMul', [x, g.floats(`${path}.weight`, [K, N], transpose(w.weight, N, K))]);
    } else if ((dtype === 'int8' || dtype === 'int4') && K % o.block === 0) {
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

  /**
   * uint8 × int8 → int32 → float: weights per output channel, activations symmetric around
   * 128 in uint8 (onnxruntime's fast integer GEMMs take unsigned activations and signed
   * weights), one scale per row (token), so a token with huge activations does not coarsen
   * every other token's steps. onnxruntime applies a per-row input scale after the GEMM, bias
   * included, so the bias is added after.
   */
  private integer(x: string, path: string, w: LinearWeights): string {
    const { g } = this;
    const { N, K } = w;
    const q = quantizePerChannel(w.weight, N, K);
    const codes = g.tensor(`${path}.weight_int8`, 'int8', [K, N], q.codes);
    const scales = g.floats(`${path}.weight_scales`, [N], q.scales);
    const bias = w.bias ? g.floats(`${path}.bias`, [N], w.bias) : undefined;
    const { xq, rowScale } = this.quantizeRows(x, `${path}/input_quant`, K);
    const y2 = g.op(`${path}/MatMulIntegerToFloat`, 'MatMulIntegerToFloat', [xq, codes, rowScale, scales, g.scalar('uint8', 128)], {}, undefined, 'com.microsoft');
    const y = g.op(`${path}/Reshape`, 'Reshape', [y2, this.shapeWith(N)]);
    return bias ? g.op(`${path}/Add`, 'Add', [y, bias]) : y;
  }

  /** uint8 rows of `x` [..., K] around 128 and their scales [rows, 1], once per input (gate and up share theirs). */
  private quantizeRows(x: string, p: string, K: number): { xq: string; rowScale: string } {
    const known = this.quantized.get(x);
    if (known) return known;
    const { g } = this;
    const flat = g.op(`${p}/Reshape`, 'Reshape', [x, g.ints([-1, K])]);
    // max |x| per row as max(max x, -min x): two reads of the row, where Abs would write a copy first
    const hi = g.op(`${p}/ReduceMax`, 'ReduceMax', [flat], { axes: [1], keepdims: 0 });
    const lo = g.op(`${p}/ReduceMin`, 'ReduceMin', [flat], { axes: [1], keepdims: 0 });
    const amax = g.op(`${p}/Max_abs`, 'Max', [hi, g.op(`${p}/Neg`, 'Neg', [lo])]);
    // a row of zeros (padding) gets a tiny scale instead of a division by zero
    const s = g.op(`${p}/Max`, 'Max', [g.op(`${p}/Mul`, 'Mul', [amax, g.scalar('float32', 1 / 127)]), g.scalar('float32', 1e-30)]);
    const zeros = g.op(`${p}/zero_point/Expand`, 'Expand', [g.scalar('uint8', 128), g.op(`${p}/Shape`, 'Shape', [s])]);
    const out = {
      xq: g.op(`${p}/QuantizeLinear`, 'QuantizeLinear', [flat, s, zeros], { axis: 0 }),
      rowScale: g.op(`${p}/Unsqueeze`, 'Unsqueeze', [s, g.ints([1])]),
    };
    this.quantized.set(x, out);
    return out;
  }

  /** [batch, sequence, n] as a shape tensor, written once per n. */
  private shapeWith(n: number): string {
    if (!this.ids) throw new Error('Linears: useRowsOf(ids) must come before an integer projection');
    this.rows ||= this.g.op('/model/rows/Shape', 'Shape', [this.ids]);
    const name = `/model/rows/shape_${n}/Concat`;
    return this.g.has(name) ? `${name}/output_0` : this.g.op(name, 'Concat', [this.rows, this.g.ints([n])], { axis: 0 });
  }
}
