// The JSON body parser. JSON.parse itself is iterative; everything after it here is too, so
// no depth of nesting a client can send reaches a recursion (a reviver would: a body nested
// a few thousand deep overflowed the stack, a 500 instead of a 400).
import { ApiError } from './errors.js';

/** Deepest nesting of arrays and objects a body may have; no route takes anything near it. */
export const MAX_BODY_DEPTH = 128;

const refuse = (message: string) => new ApiError(400, 'invalid_request_error', message, 'body');

// bodies that cannot hold a polluting key skip the key-by-key check (a key spelled with
// escapes, "\u005f_proto__", is the same key once parsed)
const POLLUTING = /"(?:__proto__|constructor)"|\\u/;

/**
 * Walks the parsed body with an explicit stack: refuses nesting past MAX_BODY_DEPTH and,
 * when `keys` is set, keys that would reach Object.prototype once the body is copied or
 * merged somewhere (`__proto__`, `constructor.prototype`).
 */
function check(root: unknown, keys: boolean): void {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) throw refuse(`body nests deeper than ${MAX_BODY_DEPTH} levels`);
    if (Array.isArray(value)) {
      for (const v of value) if (v !== null && typeof v === 'object') stack.push([v, depth + 1]);
      continue;
    }
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (keys && (key === '__proto__' || (key === 'constructor' && v !== null && typeof v === 'object' && Object.hasOwn(v, 'prototype'))))
        throw refuse('body holds a "__proto__" or "constructor.prototype" key; such keys are refused');
      if (v !== null && typeof v === 'object') stack.push([v, depth + 1]);
    }
  }
}

/** JSON.parse, then the checks above: a clear 400 for a body nested too deep or holding a polluting key. */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw refuse('body is empty; send a JSON object');
  const value: unknown = JSON.parse(text);
  check(value, POLLUTING.test(text));
  return value;
}
