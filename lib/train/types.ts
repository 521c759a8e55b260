// Types of head training over gathered rows (lib/train/fit.ts).
import type { TrainHead } from '../kernels/bce-types.js';

/**
 * Where the training rows come from: one row of width `width` per labelled step (the
 * backbone's hidden state at the step's boundary token) or per solution (an outcome head).
 * Labels (and groups) are small and live in memory; the rows may not (an on-disk cache of
 * gathered rows implements `read` with file reads), so they are asked for by index.
 */
export interface RowSource {
  /** H, the row width. */
  readonly width: number;
  /** `[N]` P(correct) per row, in [0, 1]: hard 0/1 labels or soft ones. */
  readonly labels: Float32Array;
  /**
   * `[N]` the group of each row (e.g. the chain its step belongs to): a validation split
   * keeps a group's rows together. Absent: every row is its own group.
   */
  readonly groups?: Int32Array;
  /** Copies rows `indices` into `out` (`[indices.length, width]`, row-major). */
  read(indices: Int32Array, out: Float32Array): void | Promise<void>;
}

export interface EpochReport {
  epoch: number;
  /** Mean objective over the epoch's batches (BCE, plus the L2 term when `l2` is set). */
  trainLoss: number;
  /** BCE on the validation rows after the epoch (absent without a validation split). */
  validationLoss?: number;
  learningRate: number;
}

export interface FitOptions {
  head: TrainHead;
  /** Passes over the training rows (default 100). */
  epochs?: number;
  /** Rows per optimizer step; 0 (default) = all training rows (full batch). */
  batchSize?: number;
  /** AdamW's step size (default 1e-3). */
  learningRate?: number;
  /** 'constant' (default) or 'cosine' (from learningRate down to minLearningRate over all steps). */
  schedule?: 'constant' | 'cosine';
  minLearningRate?: number;
  /** AdamW's decoupled weight decay on the weight matrices (not the biases); default 0. */
  weightDecay?: number;
  /** An L2 penalty (l2 / 2) * ||W||^2 on the weight matrices, added to the objective and its gradient; default 0. */
  l2?: number;
  /** AdamW's betas (default [0.9, 0.999]) and epsilon (default 1e-8). */
  betas?: readonly [number, number];
  eps?: number;
  /** A fraction of the rows (by group) held out, in [0, 1) (default 0.1), or separate rows. */
  validation?: number | RowSource;
  /** Epochs without a validation improvement before stopping (default 10; 0: never stop early). */
  patience?: number;
  /** An improvement smaller than this does not count (default 0). */
  minDelta?: number;
  /** Weights of the positive and negative terms of the BCE; 'balanced': inversely to each class's label mass. */
  classWeights?: 'balanced' | { positive?: number; negative?: number };
  /** Seeds the split, the initial weights of an MLP and the batch order (default 0): the same seed gives the same weights. */
  seed?: number;
  /** Starting parameters (default: zeros for a linear head, PyTorch's nn.Linear initialization for an MLP). */
  init?: Float32Array;
  /** Kernel threads (default all). */
  threads?: number;
  /** 'auto' (default), 'cpu' or 'js', as for the other kernels. */
  backend?: 'auto' | 'cpu' | 'js';
  onEpoch?: (report: EpochReport) => void;
  signal?: AbortSignal;
}

export interface FitResult {
  /** The head trained, with its defaults filled in. */
  head: TrainHead & { positive: number };
  width: number;
  /** The parameters of the best epoch on the validation rows (the last epoch without validation). */
  params: Float32Array;
  epochs: EpochReport[];
  bestEpoch: number;
  stopReason: 'epochs' | 'early-stopping';
  trainRows: number;
  validationRows: number;
  classWeights: { positive: number; negative: number };
}
