// Block-wise symmetric weight quantization in the layout of onnxruntime's com.microsoft
// MatMulNBits: for a torch Linear weight W [N, K] (out, in), each run of `block` weights
// along K shares one float scale; codes are unsigned with the zero point in the middle
// (8 for 4 bits, 128 for 8 bits, the operator's default when no zero points are given) and
// packed low bits first.

export interface QuantizedWeight {
  bits: 4 | 8;
  block: number;
  N: number;
  K: number;
  /** [N, K / block, block * bits / 8] */
  codes: Uint8Array;
  /** [N, K / block] */
  scales: Float32Array;
}

/**
 * Clipping ratios tried for a block's scale: with 4 bits, clipping the largest weight a
 * little often lowers the block's squared error (each step is finer); with 8 bits the steps
 * are fine already.
 */
const CLIPS_4BIT = [1, 0.95, 0.9, 0.85, 0.8, 0.75];
const CLIPS_8BIT = [1, 0.97, 0.94];

function bestScale(w: Float32Array, base: number, block: number, amax: number, qmax: number, zero: number, hi: number, clips: readonly number[]): number {
  let best = Math.fround(amax / qmax);
  if (amax === 0 || clips.length === 1) return best;
  let bestErr = Infinity;
  for (const c of clips) {
    const scale = Math.fround((amax * c) / qmax);
    const inv = 1 / scale;
    let err = 0;
    for (let i = 0; i < block; i++) {
      const q = Math.min(hi, Math.max(0, Math.round(w[base + i] * inv) + zero));
      const d = (q - zero) * scale - w[base + i];
      err += d * d;
    }
    if (err < bestErr) {
      bestErr = err;
      best = scale;
    }
  }
  return best;
}

export function quantizeBlockwise(w: Float32Array, N: number, K: number, bits: 4 | 8, block: number): QuantizedWeight {
  if (K % block !== 0) throw new RangeError(`quantize: in-features ${K} is not a multiple of the block size ${block}`);
  const blocks = K / block;
  const blob = (block * bits) / 8;
  const codes = new Uint8Array(N * blocks * blob);
  const scales = new Float32Array(N * blocks);
  const qmax = bits === 4 ? 7 : 127;
  const zero = bits === 4 ? 8 : 128;
  const hi = bits === 4 ? 15 : 255;
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      const base = n * K + b * block;
      let amax = 0;
      for (let i = 0; i < block; i++) amax = Math.max(amax, Math.abs(w[base + i]));
      const scale = bestScale(w, base, block, amax, qmax, zero, hi, bits === 4 ? CLIPS_4BIT : CLIPS_8BIT);
      scales[n * blocks + b] = scale;
      const inv = scale > 0 ? 1 / scale : 0;
      const out = (n * blocks + b) * blob;
      for (let i = 0; i < block; i++) {
        const q = Math.min(hi, Math.max(0, Math.round(w[base + i] * inv) + zero));
        if (bits === 8) codes[out + i] = q;
        else if ((i & 1) === 0) codes[out + (i >> 1)] = q;
        else codes[out + (i >> 1)] |= q << 4;
      }
    }
  }
  return { bits, block, N, K, codes, scales };
}

/** The float weights a quantized matrix stands for (W' [N, K]), for measuring its error. */
export function dequantize(q: QuantizedWeight): Float32Array {
  const { N, K, block, bits } = q;
  const blocks = K / block;
  const blob = (block * bits) / 8;
  const zero = bits === 4 ? 8 : 128;
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++)
    for (let b = 0; b < blocks; b++) {
      const s = q.scales[n * blocks + b];
      const at = (n * blocks + b) * blob;
      for (let i = 0; i < block; i++) {
        const code = bits === 8 ? q.codes[at + i] : (q.codes[at + (i >> 1)] >> ((i & 1) * 4)) & 15;
        w[n * K + b * block + i] = (code - zero) * s;
      }
    }
  return w;
}

/**
 * Per-channel symmetric int8 for an integer GEMM (onnxruntime's MatMulIntegerToFloat and
 * DynamicQuantizeMatMul): each output channel n of W [N, K] gets one scale, codes are signed
 * in [-127, 127] and stored transposed ([K, N], the operator's right-hand side). A channel
 * keeps all K weights under one scale, so its largest weight sets the step for the rest:
 * `clip` < 1 trades that weight's error for finer steps (tried per channel, least squared
 * error kept).
 */
export interface ChannelQuantized {
  N: number;
  K: number;
  /** [K, N] */
  codes: Int8Array;
  /** [N] */
  scales: Float32Array;
}

const CLIPS_CHANNEL = [1, 0.98, 0.96, 0.93, 0.9];

export function quantizePerChannel(w: Float32Array, N: number, K: number, qmax = 127): ChannelQuantized {
  const rows = new Int8Array(N * K);
  const scales = new Float32Array(N);
  for (let n = 0; n < N; n++) {
    const base = n * K;
    let amax = 0;
    let at = 0;
    for (let k = 0; k < K; k++) {
      const a = Math.abs(w[base + k]);
      if (a > amax) {
        amax = a;
        at = k;
      }
    }
    let best = Math.fround(amax / qmax);
    if (amax > 0) {
      let bestErr = Infinity;
      // the clips are compared on about 512 of the row's weights (a 7B model has 6.5 G of
      // them): the channel's largest weight always among them, since it is what clipping costs
      const step = Math.max(1, Math.floor(K / 512));
      for (const c of CLIPS_CHANNEL) {
        const scale = Math.fround((amax * c) / qmax);
        const inv = 1 / scale;
        let err = 0;
        for (let k = 0; k < K; k += step) {
          const q = Math.min(qmax, Math.max(-qmax, Math.round(w[base + k] * inv)));
          const d = q * scale - w[base + k];
          err += d * d;
        }
        if (at % step !== 0) {
          const q = Math.min(qmax, Math.max(-qmax, Math.round(w[base + at] * inv)));
          const d = q * scale - w[base + at];
          err += d * d;
        }
        if (err < bestErr) {
          bestErr = err;
          best = scale;
        }
      }
    }
    scales[n] = best;
    const inv = best > 0 ? 1 / best : 0;
    for (let k = 0; k < K; k++) rows[base + k] = Math.min(qmax, Math.max(-qmax, Math.round(w[base + k] * inv)));
  }
  return { N, K, codes: transposeCodes(rows, N, K), scales };
}

/** [N, K] → [K, N] in 64 × 64 tiles, so neither side is walked with a stride of a whole row per element. */
function transposeCodes(rows: Int8Array, N: number, K: number): Int8Array {
  const out = new Int8Array(N * K);
  const T = 64;
  for (let n0 = 0; n0 < N; n0 += T)
    for (let k0 = 0; k0 < K; k0 += T) {
      const n1 = Math.min(N, n0 + T);
      const k1 = Math.min(K, k0 + T);
      for (let n = n0; n < n1; n++) for (let k = k0; k < k1; k++) out[k * N + n] = rows[n * K + k];
    }
  return out;
}

/** The float weights per-channel codes stand for, W' [N, K] (torch layout), for measuring error. */
export function dequantizePerChannel(q: ChannelQuantized): Float32Array {
  const { N, K } = q;
  const w = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = q.codes[k * N + n] * q.scales[n];
  return w;
}
