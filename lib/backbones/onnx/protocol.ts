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

/** Where a row's cached keys/values are in a worker: slots [start, start + length) of row `row` of block `block`. */
export interface PastSlice {
  block: number;
  row: number;
  start: number;
  length: number;
}

/**
 * The keys/values a forward pass reads and keeps, all inside the worker that runs it.
 * `past`: a block's tensors fed as they are (their slots are P), or per row a slice copied
 * right-aligned into P fresh slots (null: a row with no past). `keep`: the id under which the
 * worker stores the pass's present keys/values (a new block).
 */
export interface KvRequest {
  past?: { block: number } | { pack: Array<PastSlice | null> };
  keep?: number;
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
  /** Which output to fetch ('logits' or 'last_hidden_state'). */
  output: string;
  /** Past keys/values from blocks the worker keeps, and whether to keep this pass's. */
  kv?: KvRequest;
}

export interface RunMessage extends ForwardRequest {
  type: 'run';
  id: number;
  kvHeads: number;
  headDim: number;
}

/** Drop the keys/values of these blocks (their handles were released or evicted). */
export interface FreeMessage {
  type: 'free';
  blocks: number[];
}

/**
 * Finish the runs in flight, release the session and end. A worker is never terminated from
 * outside while onnxruntime runs: that aborts the whole process.
 */
export interface CloseMessage {
  type: 'close';
}

export type ToWorker = RunMessage | FreeMessage | CloseMessage;

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

export interface ForwardResult {
  /** float32, or float16 bits (`dtype`). */
  data: Float32Array | Uint16Array;
  dtype: 'float32' | 'float16';
  dims: [number, number, number];
  /** With `kv.keep`: the slots of the block the worker stored (present's third dimension). */
  keptSlots?: number;
  /** The worker that ran the pass (index into the backbone's workers): where a kept block lives. */
  worker?: number;
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
