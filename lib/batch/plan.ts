// Length-bucketed, memory-bounded chunks: items sorted by length so each chunk pads little,
// and each chunk's backbone output (B x T x bytesPerToken) stays under a byte budget.
import { keysOf, knownKeys, nonNegativeInt, number, object, oneOf, positiveInt } from '../is.js';
import { PAD_SIDES } from './pad.js';
import type { PadSide } from './pad.js';

/** What one backbone call may hold. */
export interface ChunkBudgets {
  /** Padded tokens B x T of one call (default 16384). */
  maxPaddedTokens?: number;
  /** Bytes of one call's backbone output (default 64 MiB). */
  maxOutputBytes?: number;
  /** Chains in one call (default 64). */
  maxBatch?: number;
  /**
   * Largest share of a call's B x T that may be padding before a new length bucket starts
   * (default 0.25; 1 disables bucketing by waste). Fewer, fuller calls vs less wasted work.
   */
  maxPadFraction?: number;
}

/** How a local backbone's calls are cut and padded: the budgets, then the padding. */
export interface ChunkingOptions extends ChunkBudgets {
  /** Padding side (default 'right'; scores are the same either way). */
  padding?: PadSide;
  /** Pad token id (default: the tokenizer's pad_token, else 0). */
  padId?: number;
}

export interface PlanOptions extends ChunkBudgets {
  /** Bytes of backbone output per token (e.g. 4 x hidden for float32 hidden states, 4 x V for LM logits). */
  bytesPerToken: number;
}

export interface Chunk {
  /** Item indices, shortest first. */
  items: number[];
  /** Padded length = the longest item of the chunk. */
  T: number;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 64 << 20;
export const DEFAULT_MAX_PADDED_TOKENS = 16384;
export const DEFAULT_MAX_BATCH = 64;
export const DEFAULT_MAX_PAD_FRACTION = 0.25;

export const CHUNKING_KEYS = keysOf<ChunkingOptions>()({ maxPaddedTokens: true, maxOutputBytes: true, maxBatch: true, maxPadFraction: true, padding: true, padId: true });

/** The budgets with their defaults, each checked under `prefix + key`. */
function resolveBudgets(o: ChunkBudgets, prefix: string): Required<ChunkBudgets> {
  const int = (k: 'maxPaddedTokens' | 'maxOutputBytes' | 'maxBatch', dflt: number) => (o[k] === undefined ? dflt : positiveInt(o[k], prefix + k));
  return {
    maxPaddedTokens: int('maxPaddedTokens', DEFAULT_MAX_PADDED_TOKENS),
    maxOutputBytes: int('maxOutputBytes', DEFAULT_MAX_OUTPUT_BYTES),
    maxBatch: int('maxBatch', DEFAULT_MAX_BATCH),
    maxPadFraction: number(o.maxPadFraction ?? DEFAULT_MAX_PAD_FRACTION, prefix + 'maxPadFraction', 0, 1),
  };
}

/** Checks a chunking options object (its keys and values) before any model is opened. */
export function checkChunking(v: unknown, name = 'chunking'): ChunkingOptions {
  if (v === undefined) return {};
  const o = object(v, name, `an object { ${CHUNKING_KEYS.join(', ')} }`);
  knownKeys(o, CHUNKING_KEYS, name);
  const c = o as ChunkingOptions;
  resolveBudgets(c, `${name}.`);
  if (c.padding !== undefined) oneOf(c.padding, `${name}.padding`, PAD_SIDES);
  if (c.padId !== undefined) nonNegativeInt(c.padId, `${name}.padId`);
  return c;
}

/** Every option with its value: the caller's where given, else `defaults`, else prmkit's. */
export function resolveChunking(c: ChunkingOptions, defaults: ChunkingOptions = {}): Required<ChunkingOptions> {
  const merged: ChunkingOptions = { ...defaults };
  for (const k of CHUNKING_KEYS) if (c[k] !== undefined) (merged as Record<string, unknown>)[k] = c[k];
  return { ...resolveBudgets(merged, 'chunking.'), padding: merged.padding ?? 'right', padId: merged.padId ?? 0 };
}

/**
 * Groups items (given their token counts) into chunks. An item too long for the budget on
 * its own still gets a chunk of one: the budget bounds batching, it never refuses work
 * (the context limit is checked when encoding).
 */
export function planChunks(lengths: readonly number[], options: PlanOptions): Chunk[] {
  const bpt = number(options.bytesPerToken, 'bytesPerToken', 0, Infinity, { openMin: true });
  const { maxPaddedTokens: maxTokens, maxOutputBytes: maxBytes, maxBatch, maxPadFraction: maxPad } = resolveBudgets(options, '');
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
