// Public types of the kernel API (ARCHITECTURE.md, "The kernel contract").

/** Element type of the hidden states; 16-bit types arrive as `Uint16Array` bit patterns. */
export type Dtype = 'float32' | 'float16' | 'bfloat16';

/** Backbone output `[B, T, H]`, row-major (for a logits head, H is the vocabulary size V). */
export interface Hidden {
  data: Float32Array | Uint16Array;
  dtype: Dtype;
  dims: readonly [number, number, number];
}

/**
 * Step boundaries in CSR form: candidate b owns steps `offsets[b] .. offsets[b+1]-1`, and
 * `positions[s]` is the token index (into row b) where step s is scored.
 */
export interface Boundaries {
  offsets: Int32Array;
  positions: Int32Array;
}

export type Activation = 'sigmoid' | 'softmax';

/** A linear head `weight [K, H]` (+ `bias [K]`) applied to each boundary row. */
export interface LinearHead {
  kind: 'linear';
  weight: Float32Array;
  bias?: Float32Array;
  outputs: number;
  activation: Activation;
  /** Class whose probability means "step correct"; default 0 for sigmoid, K-1 for softmax. */
  positive?: number;
}

/** The backbone already produced logits `[B, T, V]`; `columns` picks e.g. the +/- token ids. */
export interface LogitsHead {
  kind: 'logits';
  activation: Activation;
  /** Index into `columns` (or into V when there are no columns); same defaults as LinearHead. */
  positive?: number;
  columns?: Int32Array;
}

export type Head = LinearHead | LogitsHead;

// the names live below every layer (argument checks, formats and the service name them too)
export { AGGREGATIONS } from '../interfaces.js';
import type { Aggregation } from '../interfaces.js';
export type { Aggregation };

export type BackendName = 'cpu' | 'cuda' | 'js';
export type BackendChoice = 'auto' | BackendName;

export interface KernelOptions {
  backend?: BackendChoice;
  /** Threads for the cpu backend (default: all cores; capped at the pool size). */
  threads?: number;
}

export interface ScoreOptions extends KernelOptions {
  /** Which chain aggregates to compute (default: all five). */
  aggregations?: Aggregation[];
  /** A step is an error when its probability is below this (default 0.5). */
  errorThreshold?: number;
}

/** `aggregate`'s argument: step log-probabilities `[S]` in CSR by candidate (`offsets [B + 1]`). */
export interface AggregateArgs {
  stepLogProbs: Float32Array;
  offsets: Int32Array;
  how: Aggregation;
}

/** `firstError`'s argument; a step is an error when its probability is below `threshold` (default 0.5). */
export interface FirstErrorArgs {
  stepLogProbs: Float32Array;
  offsets: Int32Array;
  threshold?: number;
}

/** `rankGroups`' argument: one score per candidate, candidates grouped by `groupOffsets [G + 1]`. */
export interface RankGroupsArgs {
  scores: Float32Array;
  groupOffsets: Int32Array;
}

export interface ScoreResult {
  /** `[S]` log P(step correct). */
  stepLogProbs: Float32Array;
  /** `[B]` each, in log space: prod = Σ log p, min, last, mean = log(mean p), geomean = mean log p. */
  aggregates: Partial<Record<Aggregation, Float32Array>>;
  /** `[B]` index (within the chain) of the first step with p < threshold, -1 if none. */
  firstError: Int32Array;
  backend: BackendName;
}

export interface BackendsInfo {
  js: true;
  /**
   * `source`: where the loaded addon came from ('build' = compiled here, 'prebuild' = shipped in
   * the package). `pinned`: whether Promise-form calls hold their buffers and run off the event
   * loop (true wherever the running Node exports the V8 calls the addon uses for that); when
   * false they run on the calling thread.
   */
  cpu: { available: boolean; reason?: string; threads: number; simd: string; pinned: boolean; source?: 'env' | 'build' | 'prebuild'; path?: string };
  cuda: { compiled: boolean; available: boolean; devices: number; reason?: string; deviceName?: string };
}
