// Chains → token ids + boundaries (CSR), the input of every backbone and of the kernels.
import { checkItemShape } from '../formats/errors.js';
import { resolveFormat } from '../formats/index.js';
import type { FormatSpec, PrmFormat } from '../formats/types.js';
import type { Boundaries } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';
import { PrmTokenizer } from './tokenizer.js';

export type Overflow = 'error' | 'truncate';

export interface EncodeOptions {
  format: FormatSpec;
  tokenizer: PrmTokenizer | string;
  /** Longest chain the backbone accepts, in tokens (default: none). */
  maxContext?: number;
  /**
   * What a longer chain does: 'error' (default) throws a RangeError naming the item;
   * 'truncate' keeps the first `maxContext` tokens, scores the steps whose boundary falls
   * inside, and flags the item `truncated`.
   */
  overflow?: Overflow;
}

export interface EncodedBatch {
  /** One row per item, unpadded. */
  inputIds: Int32Array[];
  /** Boundary token indices, CSR over items. */
  boundaries: Boundaries;
  /** Per item: steps lost to `maxContext` (only with overflow 'truncate'). */
  truncated: boolean[];
  format: PrmFormat;
}

export function checkMaxContext(v: unknown, name = 'maxContext'): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

export function encodeChains(items: readonly ChainItem[], options: EncodeOptions): EncodedBatch {
  if (!Array.isArray(items)) throw new TypeError('items must be an array of { problem, steps }');
  if (options === null || typeof options !== 'object') throw new TypeError('options must be { format, tokenizer }');
  const format = resolveFormat(options.format);
  const tokenizer = typeof options.tokenizer === 'string' ? PrmTokenizer.load(options.tokenizer) : options.tokenizer;
  if (!(tokenizer instanceof PrmTokenizer)) throw new TypeError('options.tokenizer must be a PrmTokenizer or a path to tokenizer.json');
  const maxContext = checkMaxContext(options.maxContext);
  const overflow = options.overflow ?? 'error';
  if (overflow !== 'error' && overflow !== 'truncate') throw new RangeError(`overflow must be 'error' or 'truncate', got '${String(overflow)}'`);
  items.forEach((it, i) => checkItemShape(it, i));

  const inputIds: Int32Array[] = [];
  const truncated: boolean[] = [];
  const offsets = new Int32Array(items.length + 1);
  const positions: number[] = [];
  items.forEach((item, i) => {
    const enc = format.encode(item, tokenizer, i);
    let ids = enc.ids;
    let pos = enc.positions;
    let cut = false;
    if (maxContext !== undefined && ids.length > maxContext) {
      if (overflow === 'error')
        throw new RangeError(`items[${i}] is ${ids.length} tokens, over maxContext ${maxContext}; pass overflow: 'truncate' to score the steps that fit`);
      ids = ids.slice(0, maxContext);
      pos = pos.filter((p) => p < maxContext);
      cut = true;
    }
    inputIds.push(Int32Array.from(ids));
    truncated.push(cut);
    for (const p of pos) positions.push(p);
    offsets[i + 1] = positions.length;
  });
  return { inputIds, boundaries: { offsets, positions: Int32Array.from(positions) }, truncated, format };
}
