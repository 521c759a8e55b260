// A trained head (lib/model/heads.ts) as the backbone applies it to hidden states: the
// kernels' linear head, after the first layer of the Qwen-style MLP (ReLU(W1 x + b1)) when
// the head has one. That first layer runs here, on the gathered boundary rows only: it costs
// S * M * H per call (S steps), against the backbone's cost per token, so it needs no kernel
// of its own; it is computed in slices with an event-loop turn between them, so a wide head
// never stalls a server. Its activations then go through `scoreBatch` like any hidden rows.
import type { LinearHead } from '../../kernels/types.js';
import { readHeadParams, selectHead } from '../../model/heads.js';
import type { SelectedHead, TrainedHeadSpec } from '../../model/heads.js';
import type { ModelFiles } from '../../model/manifest.js';

export interface MlpFirstLayer {
  /** `[hidden, H]` */
  weight: Float32Array;
  /** `[hidden]` */
  bias: Float32Array;
  hidden: number;
}

export interface AppliedHead {
  /** The MLP's first layer; absent for a linear head. */
  first?: MlpFirstLayer;
  /** The linear head over the rows (or over the first layer's activations). */
  head: LinearHead;
  /** Width of the hidden rows it reads. */
  width: number;
  /** 'linear' or 'mlp', for `info.head`. */
  kind: 'linear' | 'mlp';
}

/**
 * An applied head from a trained head's parameters (the layout of `TrainHead`). `oneLogit`
 * folds a 2-class softmax into the one logit log(p / (1 - p)) = z_pos - z_neg, which is what
 * an outcome model reads.
 */
export function appliedHead(spec: TrainedHeadSpec, params: Float32Array, H: number, { oneLogit = false } = {}): AppliedHead {
  const K = spec.outputs;
  let first: MlpFirstLayer | undefined;
  let D = H;
  let at = 0;
  if (spec.kind === 'mlp') {
    const M = spec.hidden;
    first = { weight: params.subarray(0, M * H), bias: params.subarray(M * H, M * H + M), hidden: M };
    D = M;
    at = M * H + M;
  }
  let weight = params.slice(at, at + K * D);
  let bias = params.slice(at + K * D, at + K * D + K);
  let head: LinearHead = { kind: 'linear', weight, bias, outputs: K, activation: spec.activation, positive: spec.positive };
  if (oneLogit && K === 2) {
    const pos = spec.positive;
    const neg = 1 - pos;
    weight = Float32Array.from({ length: D }, (_, d) => weight[pos * D + d] - weight[neg * D + d]);
    bias = Float32Array.of(bias[pos] - bias[neg]);
    head = { kind: 'linear', weight, bias, outputs: 1, activation: 'sigmoid', positive: 0 };
  }
  return { ...(first ? { first } : {}), head, width: H, kind: spec.kind };
}

/** Multiply-adds between event-loop turns (a few milliseconds). */
const SLICE = 1 << 22;

/** ReLU(W1 x + b1) for each of `n` rows `[n, H]`: `[n, hidden]`, accumulated in float64. */
export async function firstLayer(rows: Float32Array, n: number, H: number, layer: MlpFirstLayer): Promise<Float32Array> {
  const { weight: W, bias: b, hidden: M } = layer;
  const out = new Float32Array(n * M);
  const perSlice = Math.max(1, Math.floor(SLICE / (M * H)));
  for (let r0 = 0; r0 < n; r0 += perSlice) {
    if (r0 > 0) await new Promise((resolve) => setImmediate(resolve));
    for (let r = r0; r < Math.min(n, r0 + perSlice); r++) {
      const x = rows.subarray(r * H, (r + 1) * H);
      for (let m = 0; m < M; m++) {
        const w = m * H;
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        let h = 0;
        for (; h + 3 < H; h += 4) {
          a0 += W[w + h] * x[h];
          a1 += W[w + h + 1] * x[h + 1];
          a2 += W[w + h + 2] * x[h + 2];
          a3 += W[w + h + 3] * x[h + 3];
        }
        for (; h < H; h++) a0 += W[w + h] * x[h];
        const z = b[m] + (a0 + a1) + (a2 + a3);
        out[r * M + m] = z > 0 ? z : 0;
      }
    }
  }
  return out;
}

/**
 * The trained head a load uses (`name`, else the folder's active head) with its weights
 * read, or undefined for the converted head. `name` needs a converted folder.
 */
export function trainedHeadOf(model: ModelFiles, name: string | undefined, { oneLogit = false } = {}): (SelectedHead & { applied: AppliedHead }) | undefined {
  const m = model.manifest;
  if (!m) {
    if (name !== undefined) throw new TypeError(`options.headName selects a head of a converted folder, but ${model.path} is an .onnx file`);
    return undefined;
  }
  const sel = selectHead(m, model.path, name);
  if (!sel) return undefined;
  return { ...sel, applied: appliedHead(sel.entry.head, readHeadParams(model.path, sel.entry), sel.entry.width, { oneLogit }) };
}
