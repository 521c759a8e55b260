// (problem, solution) pairs → token ids, one row per item, read at its last token. A solution
// comes as steps (joined the family's way) or as one text. Input errors name the caller's
// field (`items[2].steps[1]`, `items[0].solution`) before any tokenizing of a later item.
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import type { OrmFormat } from '../formats/orm.js';
import { show } from '../is.js';
import type { Overflow } from '../formats/encode.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';

/** One solution to score: its steps, or its whole text. */
export type OrmItem =
  | { problem: string; steps: readonly string[]; solution?: undefined; id?: string }
  | { problem: string; solution: string; steps?: undefined; id?: string };

export interface OrmEncoding {
  /** One row per item, unpadded; the head is read at each row's last token. */
  inputIds: Int32Array[];
  /** Per item: tokens lost to maxContext (overflow 'truncate'); the value is read at the last token kept. */
  truncated: boolean[];
  ids: (string | undefined)[];
}

export function checkOrmItem(item: unknown, index: number): asserts item is OrmItem {
  const at = `items[${index}]`;
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw new PrmInputTypeError(at, `must be an object { problem, steps } or { problem, solution }, got ${show(item)}`);
  const it = item as { problem?: unknown; steps?: unknown; solution?: unknown; id?: unknown };
  if (typeof it.problem !== 'string') throw new PrmInputTypeError(`${at}.problem`, `must be a string, got ${show(it.problem)}`);
  if (it.steps !== undefined && it.solution !== undefined) throw new PrmInputTypeError(at, 'has both steps and solution; give the solution one way');
  if (it.solution !== undefined) {
    if (typeof it.solution !== 'string') throw new PrmInputTypeError(`${at}.solution`, `must be a string, got ${show(it.solution)}`);
  } else {
    if (!Array.isArray(it.steps)) throw new PrmInputTypeError(`${at}.steps`, `must be an array of strings (or give solution, a string), got ${show(it.steps)}`);
    for (let s = 0; s < it.steps.length; s++)
      if (typeof it.steps[s] !== 'string') throw new PrmInputTypeError(`${at}.steps[${s}]`, `must be a string, got ${show(it.steps[s])}`);
  }
  if (it.id !== undefined && typeof it.id !== 'string') throw new PrmInputTypeError(`${at}.id`, `must be a string, got ${show(it.id)}`);
}

/** Special-token text in the input would be read as the token itself, so it is refused where it is. */
function rejectSpecial(item: OrmItem, index: number, tok: PrmTokenizer, format: string): void {
  const specials = tok.specialTokens.filter((t) => t.length > 0);
  const check = (text: string, path: string) => {
    const hit = specials.find((t) => text.includes(t));
    if (hit !== undefined) throw new PrmInputError(path, `contains ${JSON.stringify(hit)}, a special token of the ${format} tokenizer; remove or replace it`);
  };
  if (item.solution !== undefined) check(item.solution, `items[${index}].solution`);
  else item.steps.forEach((s, k) => check(s, `items[${index}].steps[${k}]`));
  check(item.problem, `items[${index}].problem`);
}

export interface OrmEncodeOptions {
  format: OrmFormat;
  tokenizer: PrmTokenizer;
  maxContext?: number;
  overflow: Overflow;
}

/** The refusal of an input longer than the context. */
export function overOrmContext(index: number, tokens: number, maxContext: number): PrmInputError {
  return new PrmInputError(`items[${index}]`, `is ${tokens} tokens, over maxContext ${maxContext}; pass overflow: 'truncate' to read the score at the last token that fits`);
}

/** One item's row under the context policy (`index` names it in errors). */
export function encodeOrmItem(item: OrmItem, index: number, o: OrmEncodeOptions): { ids: Int32Array; cut: boolean } {
  rejectSpecial(item, index, o.tokenizer, o.format.name);
  const solution = item.solution ?? o.format.solution(item.steps);
  const ids = Int32Array.from(o.format.encode(item.problem, solution, o.tokenizer));
  if (ids.length === 0) throw new PrmInputError(`items[${index}]`, `encodes to no tokens in the ${o.format.name} format, so there is no last token to read`);
  if (o.maxContext === undefined || ids.length <= o.maxContext) return { ids, cut: false };
  if (o.overflow === 'error') throw overOrmContext(index, ids.length, o.maxContext);
  return { ids: ids.subarray(0, o.maxContext), cut: true };
}

/** Every item checked first, then encoded in order. */
export function encodeOrmItems(items: readonly unknown[], o: OrmEncodeOptions): OrmEncoding {
  items.forEach((it, i) => checkOrmItem(it, i));
  const inputIds: Int32Array[] = [];
  const truncated: boolean[] = [];
  (items as readonly OrmItem[]).forEach((item, i) => {
    const row = encodeOrmItem(item, i, o);
    inputIds.push(row.ids);
    truncated.push(row.cut);
  });
  return { inputIds, truncated, ids: (items as readonly OrmItem[]).map((it) => it.id) };
}
