// The one seam between Prm and whatever runs the model: a local ONNX backbone on worker
// threads, or a remote vLLM PRM. Both receive the same encoded chains and give back
// log P(step correct) in CSR order; Prm never knows which one it holds.
import type { Boundaries } from '../kernels/types.js';

export interface StepSource {
  /** log P(step correct) for every boundary of every chain, in CSR order. */
  stepLogProbs(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<Float32Array>;
  /**
   * Per row, every token's class probabilities [T][K] (vLLM's token_classify answer), or the
   * head's raw outputs with `activation: false` (vLLM's `use_activation: false`).
   */
  classify(rows: readonly Int32Array[], signal?: AbortSignal, options?: { activation?: boolean }): Promise<number[][][]>;
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
