// The messages between an OnnxBackbone and its worker threads, one union per direction.
// Both sides are written against these types: the parent in backbone.ts, the worker in
// worker.mjs (checked through JSDoc). Every large array crosses as a transferred buffer.
import type { ProviderName } from './providers.js';

/** Keys/values: float32, or float16 as raw bits (the model's past_key_values type). */
export type KvArray = Float32Array | Uint16Array;

/** What a worker needs to open its session (its workerData). */
export interface WorkerInit {
  /** Absolute path of onnxruntime-node's entry. */
  ortPath: string;
  modelPath: string;
  threads: number;
  /** Execution providers to try, in order. */
  providers: ProviderName[];
  providerNote: string;
}

/** One padded forward pass. `ids`, `mask`, `positions` are row-major; `mask` covers the
 * cached prefix P and the T new tokens. */
export interface ForwardRequest {
  B: number;
  T: number;
  /** Cached prefix length (KV cache); 0 without one. */
  P: number;
  ids: Int32Array;
  mask: Int32Array;
  positions: Int32Array;
  /** Per layer key then value, each [B, kvHeads, P, headDim]. */
  past?: KvArray[];
  /** Which output to fetch ('logits' or 'last_hidden_state'). */
  output: string;
  /** Also return the `present.*` tensors. */
  present?: boolean;
}

export interface RunMessage extends ForwardRequest {
  type: 'run';
  id: number;
  kvHeads: number;
  headDim: number;
}

/**
 * Finish the runs in flight, release the session and end. A worker is never terminated from
 * outside while onnxruntime runs: that aborts the whole process.
 */
export interface CloseMessage {
  type: 'close';
}

export type ToWorker = RunMessage | CloseMessage;

export interface ReadyMessage {
  type: 'ready';
  inputNames: string[];
  outputNames: string[];
  provider: ProviderName;
  providerNote: string;
  /** Layers with past_key_values inputs (0: no KV cache). */
  layers: number;
  /** past_key_values.0.key's declared shape; null where a dimension is symbolic. */
  kvShape: Array<number | null> | null;
  kvType: 'float32' | 'float16';
  threadId: number;
}

export interface PresentTensor {
  data: KvArray;
  dims: number[];
}

export interface ForwardResult {
  /** float32, or float16 bits (`dtype`). */
  data: Float32Array | Uint16Array;
  dtype: 'float32' | 'float16';
  dims: [number, number, number];
  present?: PresentTensor[];
}

export interface DoneMessage extends ForwardResult {
  type: 'done';
  id: number;
}

export interface ErrorMessage {
  type: 'error';
  /** The run that failed; absent when the session could not be opened. */
  id?: number;
  message: string;
}

export type FromWorker = ReadyMessage | DoneMessage | ErrorMessage;
