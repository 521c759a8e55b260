// Chains → token ids + boundaries (CSR), the input of every backbone and of the kernels.
import { PrmInputError } from '../errors.js';
import { checkItemShape } from './errors.js';
import { invalidType, keysOf, knownKeys, object, oneOf, positiveInt } from '../is.js';
import { resolveFormat } from './index.js';
import type { FormatSpec, PrmFormat } from './types.js';
import type { Boundaries } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';

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
  /** Per item, the first token of its response: formats that read a response (implicit PRMs). */
  starts?: Int32Array;
}

export const OVERFLOWS: readonly Overflow[] = ['error', 'truncate'];
const ENCODE_KEYS = keysOf<EncodeOptions>()({ format: true, tokenizer: true, maxContext: true, overflow: true });

export function checkMaxContext(v: unknown, name = 'maxContext'): number | undefined {
  return v === undefined ? undefined : positiveInt(v, name);
}

export function checkOverflow(v: unknown, name = 'overflow'): Overflow {
  return v === undefined ? 'error' : oneOf(v, name, OVERFLOWS);
}

/** The refusal of a chain longer than the context, the same from every entry point. */
export function overContext(path: string, tokens: number, maxContext: number): PrmInputError {
  return new PrmInputError(path, `is ${tokens} tokens, over maxContext ${maxContext}; pass overflow: 'truncate' to score the steps that fit`);
}

/**
 * One chain under the context policy: a chain over `maxContext` throws (overflow 'error') or
 * keeps its first `maxContext` tokens and the boundaries inside them ('truncate').
 */
export function fitRow(ids: Int32Array, positions: Int32Array, maxContext: number | undefined, overflow: Overflow, path: string): { ids: Int32Array; positions: Int32Array; cut: boolean } {
  if (maxContext === undefined || ids.length <= maxContext) return { ids, positions, cut: false };
  if (overflow === 'error') throw overContext(path, ids.length, maxContext);
  return { ids: ids.subarray(0, maxContext), positions: positions.filter((p) => p < maxContext), cut: true };
}

/**
 * The context policy over a whole encoding (`fitRow` per chain): the same rows, cut where
 * they are over, flagged `truncated`. Returns the input itself when nothing is over.
 */
export function fitContext<E extends EncodedBatch>(enc: E, maxContext: number | undefined, overflow: Overflow): E {
  if (maxContext === undefined || enc.inputIds.every((r) => r.length <= maxContext)) return enc;
  const { offsets, positions } = enc.boundaries;
  const inputIds: Int32Array[] = [];
  const truncated: boolean[] = [];
  const kept: number[] = [];
  const newOffsets = new Int32Array(offsets.length);
  enc.inputIds.forEach((row, i) => {
    const fit = fitRow(row, positions.subarray(offsets[i], offsets[i + 1]), maxContext, overflow, `items[${i}]`);
    inputIds.push(fit.ids);
    truncated.push(fit.cut || enc.truncated[i]);
    for (const p of fit.positions) kept.push(p);
    newOffsets[i + 1] = kept.length;
  });
  return { ...enc, inputIds, boundaries: { offsets: newOffsets, positions: Int32Array.from(kept) }, truncated };
}

export function encodeChains(items: readonly ChainItem[], options: EncodeOptions): EncodedBatch {
  if (!Array.isArray(items)) throw invalidType('items', 'an array of { problem, steps }', items);
  knownKeys(object(options, 'options', '{ format, tokenizer }'), ENCODE_KEYS);
  const format = resolveFormat(options.format);
  const tokenizer = typeof options.tokenizer === 'string' ? PrmTokenizer.load(options.tokenizer) : options.tokenizer;
  if (!(tokenizer instanceof PrmTokenizer)) throw invalidType('options.tokenizer', 'a PrmTokenizer or a path to tokenizer.json', tokenizer);
  const maxContext = checkMaxContext(options.maxContext, 'options.maxContext');
  const overflow = checkOverflow(options.overflow, 'options.overflow');
  items.forEach((it, i) => checkItemShape(it, i));

  const inputIds: Int32Array[] = [];
  const truncated: boolean[] = [];
  const offsets = new Int32Array(items.length + 1);
  const positions: number[] = [];
  const starts = format.implicit ? new Int32Array(items.length) : undefined;
  items.forEach((item, i) => {
    const enc = format.encode(item, tokenizer, i);
    if (starts) starts[i] = enc.start ?? 0;
    const fit = fitRow(Int32Array.from(enc.ids), Int32Array.from(enc.positions), maxContext, overflow, `items[${i}]`);
    inputIds.push(fit.ids);
    truncated.push(fit.cut);
    for (const p of fit.positions) positions.push(p);
    offsets[i + 1] = positions.length;
  });
  return { inputIds, boundaries: { offsets, positions: Int32Array.from(positions) }, truncated, format, ...(starts ? { starts } : {}) };
}
