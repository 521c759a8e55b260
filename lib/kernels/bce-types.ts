// Types of the BCE kernel (lib/kernels/bce.ts): a trainable head and its loss over gathered
// boundary rows.
import type { KernelOptions } from './types.js';

/**
 * A head to train, without its numbers (those are `params`, flat float32):
 * - `linear`: z = W x + b; params `W [outputs, H]`, then `b [outputs]`;
 * - `mlp`, the Qwen-style score head Linear(H, hidden) → ReLU → Linear(hidden, outputs):
 *   params `W1 [hidden, H]`, `b1 [hidden]`, `W2 [outputs, hidden]`, `b2 [outputs]`
 * (PyTorch's nn.Linear layout, `[out, in]`). `sigmoid` with 1 output gives P(correct) =
 * sigmoid(z); `softmax` with 2 outputs gives P(correct) = softmax(z)[positive].
 */
export type TrainHead =
  | { kind: 'linear'; activation: 'sigmoid' | 'softmax'; outputs: 1 | 2; positive?: number }
  | { kind: 'mlp'; hidden: number; activation: 'sigmoid' | 'softmax'; outputs: 1 | 2; positive?: number };

export interface BceArgs {
  /** Gathered boundary rows `[N, H]` (one per labelled step, or per solution for an outcome head). */
  rows: { data: Float32Array; dims: readonly [number, number] };
  /** `[N]` P(correct) per row: 0 or 1, or a soft label in between (Monte-Carlo rollouts). */
  labels: Float32Array;
  head: TrainHead;
  /** `[headParamCount(head, H)]`, in the layout of `TrainHead`. */
  params: Float32Array;
}

export interface BceOptions extends KernelOptions {
  /**
   * Weights of the two terms of each row's loss,
   * `-(positive * y * log p + negative * (1 - y) * log(1 - p))`; default 1 and 1.
   */
  classWeights?: { positive?: number; negative?: number };
  /** Compute the gradient (default true); false gives the loss alone (validation). */
  gradient?: boolean;
  /** Where to write the gradient (length: the parameter count); default a new array. */
  out?: Float32Array;
}

export interface BceResult {
  /** Mean over the rows of each row's (class-weighted) binary cross-entropy. */
  loss: number;
  /** d loss / d params, in the params layout (absent with `gradient: false`). */
  gradient?: Float32Array;
  backend: 'cpu' | 'js';
}
