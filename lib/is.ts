// One argument-checking vocabulary for every layer. Each check throws a TypeError (wrong
// kind of value) or a RangeError (right kind, bad value) whose message names the argument
// and shows the value with its type, so `workers: '2'` reads "got '2' (string)", not "got 2".
import { AGGREGATIONS } from './interfaces.js';
import type { Aggregation } from './interfaces.js';

/** A value as a message shows it: strings quoted, then its type. */
export function show(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `${JSON.stringify(v.length > 60 ? v.slice(0, 57) + '...' : v)} (string)`;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return `${String(v)} (${typeof v})`;
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return `an array of length ${v.length}`;
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return `an object (${(v as object).constructor?.name ?? 'null prototype'})`;
}

export const defined = <T>(v: T | undefined): v is T => v !== undefined;
export const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
export const isInteger = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
export const isString = (v: unknown): v is string => typeof v === 'string';

export function invalidType(name: string, expected: string, actual: unknown): TypeError {
  return new TypeError(`${name} must be ${expected}, got ${show(actual)}`);
}

export function invalidRange(name: string, expected: string, actual: unknown): RangeError {
  return new RangeError(`${name} must be ${expected}, got ${show(actual)}`);
}

export function object(v: unknown, name: string, shape = 'an object'): Record<string, unknown> {
  if (!isObject(v)) throw invalidType(name, shape, v);
  return v;
}

export function string(v: unknown, name: string, { nonEmpty = false } = {}): string {
  if (!isString(v)) throw invalidType(name, nonEmpty ? 'a non-empty string' : 'a string', v);
  if (nonEmpty && v.length === 0) throw invalidRange(name, 'a non-empty string', v);
  return v;
}

export function boolean(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw invalidType(name, 'true or false', v);
  return v;
}

/** An optional AbortSignal (cancellation options everywhere). */
export function signal(v: unknown, name = 'signal'): AbortSignal | undefined {
  if (v !== undefined && !(v instanceof AbortSignal)) throw invalidType(name, 'an AbortSignal', v);
  return v;
}

/** An optional callback (progress hooks, extractors). */
export function optionalFunction<F extends (...args: never[]) => unknown>(v: unknown, name: string): F | undefined {
  if (v !== undefined && typeof v !== 'function') throw invalidType(name, 'a function', v);
  return v as F | undefined;
}

/** An integer in [min, max]. */
export function integer(v: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): number {
  const expected =
    min === 1 && max === Number.MAX_SAFE_INTEGER ? 'a positive integer'
    : min === 0 && max === Number.MAX_SAFE_INTEGER ? 'a non-negative integer'
    : max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}`
    : `an integer in [${min}, ${max}]`;
  if (typeof v !== 'number') throw invalidType(name, expected, v);
  if (!Number.isInteger(v) || v < min || v > max) throw invalidRange(name, expected, v);
  return v;
}

export const positiveInt = (v: unknown, name: string, max?: number): number => integer(v, name, 1, max);
export const nonNegativeInt = (v: unknown, name: string, max?: number): number => integer(v, name, 0, max);

/** A finite number in [min, max] (or the open interval where `open` says so). */
export function number(
  v: unknown,
  name: string,
  min = -Infinity,
  max = Infinity,
  { openMin = false, openMax = false }: { openMin?: boolean; openMax?: boolean } = {},
): number {
  const lo = openMin ? '(' : '[';
  const hi = openMax ? ')' : ']';
  const expected =
    min === -Infinity && max === Infinity ? 'a finite number'
    : max === Infinity ? `a number ${openMin ? '>' : '>='} ${min}`
    : min === -Infinity ? `a number ${openMax ? '<' : '<='} ${max}`
    : `a number in ${lo}${min}, ${max}${hi}`;
  if (typeof v !== 'number') throw invalidType(name, expected, v);
  if (!Number.isFinite(v) || v < min || v > max || (openMin && v === min) || (openMax && v === max)) throw invalidRange(name, expected, v);
  return v;
}

/** One of a fixed set of strings. */
export function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T {
  const list = allowed.map((a) => `'${a}'`).join(', ');
  if (typeof v !== 'string') throw invalidType(name, `one of ${list}`, v);
  if (!(allowed as readonly string[]).includes(v)) {
    const near = nearest(v, allowed);
    throw invalidRange(name, `one of ${list}${near ? ` (did you mean '${near}'?)` : ''}`, v);
  }
  return v as T;
}

export function aggregation(v: unknown, name = 'aggregate'): Aggregation {
  return oneOf(v, name, AGGREGATIONS);
}

/**
 * An error threshold on P(step correct), strictly inside (0, 1). Every backend compares
 * log-probabilities against log(threshold) in double precision, so any such number (even
 * 0.99999999 or 5e-324) means the same on cpu, cuda and js.
 */
export function threshold(v: unknown, name = 'errorThreshold'): number {
  return number(v, name, 0, 1, { openMin: true, openMax: true });
}

/** Levenshtein distance, for "did you mean" suggestions. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length];
}

/** The closest of `known` to `key`, when it is close enough to be a typo. */
export function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const typed = key.toLowerCase();
  for (const k of known) {
    // an abbreviation (`trunc` for `truncate`) is as near as a one-letter typo
    const d = typed.length >= 3 && k.toLowerCase().startsWith(typed) ? 1 : distance(typed, k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * The keys of an options type, listed once as an object so the compiler checks the list: a
 * key added to the interface but not here (or the reverse) is a type error, never a silently
 * refused option. `keysOf<PrmLoadOptions>()({ model: true, ... })`.
 */
export function keysOf<T>(): (all: { [K in keyof Required<T>]: true }) => readonly (keyof T & string)[] {
  return (all) => Object.keys(all) as (keyof T & string)[];
}

/** Refuses keys of an options object that no one reads (`modle`, `agregate`), naming the nearest known key. */
export function knownKeys(o: Record<string, unknown>, known: readonly string[], name = 'options'): void {
  for (const key of Object.keys(o)) {
    if (known.includes(key)) continue;
    const near = nearest(key, known);
    throw new TypeError(`${name}.${key} is not an option${near ? `; did you mean '${near}'?` : ''} (known: ${known.join(', ')})`);
  }
}

/**
 * Whether parsed JSON nests at most `max` arrays/objects deep, walked without recursion: a
 * file nested a million levels deep parses, then overflows the stack of whatever recurses
 * into it next (a library, JSON.stringify), far from the file that caused it.
 */
export function nestsAtMost(v: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, depth] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (depth >= max) return false;
    for (const child of Array.isArray(x) ? x : Object.values(x)) if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
  }
  return true;
}
