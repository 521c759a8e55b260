// The one seam between Prm and whatever runs the model: a local ONNX backbone on worker
// threads, or a remote vLLM PRM. A backbone opens itself (`OnnxSource.open`,
// `VllmSource.connect`) and hands Prm a StepSource; Prm never knows which one it holds.
// Both receive the same encoded chains and give back log P(step correct) in CSR order.
import type { Boundaries } from '../kernels/types.js';
import type { CachedForward } from './cached-forward.js';

export type { CachedForward, CachedRow, ExtendOptions, ExtendResult, KvHandle } from './cached-forward.js';

/** A local ONNX decoder (onnxruntime on worker threads). */
export interface OnnxInfo {
  kind: 'onnx';
  /** The execution provider picked, and why. */
  provider: 'cpu' | 'cuda';
  providerNote: string;
  /** The model output read. */
  output: 'logits' | 'last_hidden_state';
  /** How the head is applied: the kernels' linear head on hidden states, a trained MLP head on them, or columns of the logits. */
  head: 'linear' | 'mlp' | 'logits' | 'vocabulary';
  workers: number;
  /** worker_threads ids of the sessions (never the main thread's 0). */
  threadIds: number[];
  inputNames: string[];
  outputNames: string[];
  /** The model has past_key_values (incremental scoring through `prm.session` works). */
  kvCache: boolean;
  /**
   * The KV cache's shape, element type and attention, when there is one: 'gqa'
   * (GroupQueryAttention with past keys/values, one row per call) or 'plain' (rows of several
   * prefixes in one call).
   */
  kv?: { layers: number; kvHeads: number; headDim: number; type: 'float32' | 'float16'; attention: 'gqa' | 'plain' };
}

/** A remote vLLM PRM (`POST /pooling`, task token_classify). */
export interface VllmInfo {
  kind: 'vllm';
  url: string;
  kvCache: false;
}

/** An implicit PRM: two local ONNX causal LMs (the PRM and its reference). */
export interface ImplicitInfo {
  kind: 'implicit';
  provider: 'cpu' | 'cuda';
  providerNote: string;
  /** Where a token's log-probability is computed: the native LM-head kernel, or the graph. */
  logProbs: 'kernel' | 'graph';
  /** The LM-head kernel's instruction set ('kernel' only). */
  kernel?: string;
  /** Whether the two models' forward passes run at the same time. */
  concurrency: 'auto' | 'parallel' | 'sequential';
  /** Workers of each model. */
  workers: number;
  threadIds: number[];
  kvCache: false;
}

/** What the backbone is, for diagnostics and metrics (`prm.backend`). */
export type BackendInfo = OnnxInfo | VllmInfo | ImplicitInfo;

/** Work a source has done since it opened (`prm.stats`). */
export interface SourceStats {
  /** Real (unpadded) tokens sent through the backbone. */
  tokens: number;
  /** Padded tokens (B x T of each call; equal to `tokens` for a remote source). */
  paddedTokens: number;
  /** Backbone calls (forward passes, or requests to a remote server). */
  calls: number;
}

/** The head's raw outputs at given positions: `outputs` numbers per position, in CSR order. */
export interface HeadValues {
  values: Float32Array;
  outputs: number;
}

export interface StepSource {
  readonly info: BackendInfo;
  /** log P(step correct) for every boundary of every chain, in CSR order. */
  stepLogProbs(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<Float32Array>;
  /**
   * The head's raw outputs (no activation) at every boundary, in CSR order: what an outcome
   * model reads at a chain's last token. Optional: a backbone that cannot read them leaves it out.
   */
  headValues?(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<HeadValues>;
  /**
   * Per row, every token's class probabilities [T][K] (vLLM's token_classify answer), or the
   * head's raw outputs with `activation: false` (vLLM's `use_activation: false`).
   */
  classify(rows: readonly Int32Array[], signal?: AbortSignal, options?: { activation?: boolean }): Promise<number[][][]>;
  /**
   * Implicit PRMs only: per step (CSR order), the sum over its response tokens of
   * log policy(y_i) - log reference(y_i); `starts` holds each chain's first response token.
   */
  stepLogRatios?(inputIds: readonly Int32Array[], boundaries: Boundaries, starts: Int32Array, signal?: AbortSignal): Promise<Float64Array>;
  /** Forward passes on top of cached prefixes, where the backbone keeps keys/values. */
  readonly cache?: CachedForward;
  /** A snapshot of the work done so far. */
  stats(): SourceStats;
  /**
   * Releases the backbone. Calls in flight settle (finished, or rejected with an error
   * saying the source is closed); later calls reject.
   */
  close(): Promise<void>;
}

/** The chains that have steps, each cut after its last boundary. */
export interface LiveRows {
  /** Index into the caller's chains of each live row. */
  live: number[];
  rows: Int32Array[];
}

/**
 * Chains without steps need no forward pass, and in a causal model tokens after the last
 * boundary cannot change any step's score, so they are never sent.
 */
export function liveRows(inputIds: readonly Int32Array[], boundaries: Boundaries): LiveRows {
  const { offsets, positions } = boundaries;
  const live: number[] = [];
  const rows: Int32Array[] = [];
  for (let i = 0; i < inputIds.length; i++) {
    if (offsets[i + 1] === offsets[i]) continue;
    live.push(i);
    rows.push(inputIds[i].subarray(0, positions[offsets[i + 1] - 1] + 1));
  }
  return { live, rows };
}
