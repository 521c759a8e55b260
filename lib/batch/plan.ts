// Length-bucketed, memory-bounded chunks: items sorted by length so each chunk pads little,
// and each chunk's backbone output (B x T x bytesPerToken) stays under a byte budget.
import { number, positiveInt } from '../is.js';

export interface PlanOptions {
  /** Bytes of backbone output per token (e.g. 4 x hidden for float32 hidden states, 4 x V for LM logits). */
  bytesPerToken: number;
  /** Budget for one chunk's backbone output, in bytes (default 64 MiB). */
  maxOutputBytes?: number;
  /** Budget for one chunk's padded tokens B x T (default 16384). */
  maxBatchTokens?: number;
  /** Most items in one chunk (default 64). */
  maxBatch?: number;
  /**
   * Largest share of a chunk's B x T that may be padding before a new bucket starts
   * (default 0.25; 1 disables bucketing by waste). Fewer, fuller calls vs less wasted work.
   */
  maxPadFraction?: number;
}

export interface Chunk {
  /** Item indices, shortest first. */
  items: number[];
  /** Padded length = the longest item of the chunk. */
  T: number;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 64 << 20;
export const DEFAULT_MAX_BATCH_TOKENS = 16384;
export const DEFAULT_MAX_BATCH = 64;
export const DEFAULT_MAX_PAD_FRACTION = 0.25;

const orDefault = (v: unknown, name: string, dflt: number): number => (v === undefined ? dflt : positiveInt(v, name));

/**
 * Groups items (given their token counts) into chunks. An item too long for the budget on
 * its own still gets a chunk of one: the budget bounds batching, it never refuses work
 * (the context limit is checked when encoding).
 */
export function planChunks(lengths: readonly number[], options: PlanOptions): Chunk[] {
  const bpt = number(options.bytesPerToken, 'bytesPerToken', 0, Infinity, { openMin: true });
  const maxBytes = orDefault(options.maxOutputBytes, 'maxOutputBytes', DEFAULT_MAX_OUTPUT_BYTES);
  const maxTokens = orDefault(options.maxBatchTokens, 'maxBatchTokens', DEFAULT_MAX_BATCH_TOKENS);
  const maxBatch = orDefault(options.maxBatch, 'maxBatch', DEFAULT_MAX_BATCH);
  const maxPad = number(options.maxPadFraction ?? DEFAULT_MAX_PAD_FRACTION, 'maxPadFraction', 0, 1);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const chunks: Chunk[] = [];
  let cur: number[] = [];
  let T = 0;
  let real = 0;
  for (const i of order) {
    const t = Math.max(1, lengths[i]);
    const B = cur.length + 1;
    // sorted ascending: the newest item is the longest and sets the padded length
    const fits = B <= maxBatch && B * t <= maxTokens && B * t * bpt <= maxBytes && B * t - (real + t) <= maxPad * B * t;
    if (cur.length > 0 && !fits) {
      chunks.push({ items: cur, T });
      cur = [];
      real = 0;
    }
    cur.push(i);
    real += t;
    T = t;
  }
  if (cur.length > 0) chunks.push({ items: cur, T });
  return chunks;
}
