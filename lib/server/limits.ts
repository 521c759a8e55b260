// Size limits, checked after the schema and before any model work. Chains are tokenized here,
// once, on the event loop: that lets an oversize request fail fast with the field that is
// too big, instead of after it has cost a batch, and the batch then scores this encoding.
import { ApiError, tooLarge } from './errors.js';
import { isInputError, reroot } from '../errors.js';
import type { ChainPath } from './chains.js';
import type { ModelEncodedChain, ServerLimits, ServerModel } from './types.js';
import type { ChainItem } from '../interfaces.js';

export function checkCount(n: number, max: number, field: string, what: string): void {
  if (n > max) throw tooLarge(`${field} has ${n} ${what}; the limit is ${max}`, field);
}

/**
 * Runs the tokenizer; a PrmInputError (e.g. a step holding the format's separator) is the
 * client's mistake: a 400 whose `param` is its path in this request's terms. Any other
 * error is a bug and stays a 500.
 */
function countOrFail<T>(fn: () => T, field?: (path: string) => string): T {
  try {
    return fn();
  } catch (err) {
    if (!isInputError(err)) throw err;
    const param = field ? field(err.path) : err.path;
    throw new ApiError(400, 'invalid_request_error', param + err.message.slice(err.path.length), param);
  }
}

/** A chain path (`items[3].steps[1]`, `items[3].problem`) in the request's own field names. */
function requestField(itemField: (i: number) => string, stepField: (i: number, k: number) => string, problemField?: string) {
  return (path: string): string => {
    const m = /^items\[(\d+)\](?:\.(problem|steps)(?:\[(\d+)\])?)?/.exec(path);
    if (!m) return path;
    const i = Number(m[1]);
    if (m[2] === 'problem') return problemField ?? `${itemField(i)}.problem`;
    if (m[3] !== undefined) return stepField(i, Number(m[3]));
    return itemField(i);
  };
}

/**
 * Checks chain counts and steps, then tokenizes the chains (once) and checks their tokens;
 * returns the encoded chains, to be scored as they are.
 */
export function checkChains(
  items: readonly ChainItem[],
  field: string,
  itemField: (i: number) => string,
  stepField: (i: number, k: number) => string,
  limits: ServerLimits,
  chains: ChainPath,
  /** The field that holds the problem, where all chains share one (rerank's `problem`). */
  problemField?: string,
): ModelEncodedChain[] {
  checkCount(items.length, limits.maxItems, field, 'entries');
  items.forEach((item, i) => checkCount(item.steps.length, limits.maxSteps, `${itemField(i)}.steps`, 'steps'));
  const encoded = countOrFail(() => chains.encode(items as ChainItem[]), requestField(itemField, stepField, problemField));
  if (!Array.isArray(encoded) || encoded.length !== items.length) {
    throw new ApiError(500, 'server_error', `the model encoded ${Array.isArray(encoded) ? encoded.length : 'no'} chains for ${items.length} items`, null);
  }
  let total = 0;
  encoded.forEach((chain, i) => {
    const c = chain?.tokens;
    if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) {
      throw new ApiError(500, 'server_error', `the model gave ${itemField(i)} a token count of ${String(c)}`, null);
    }
    if (c > limits.maxItemTokens) {
      throw tooLarge(`${itemField(i)} is ${c} tokens long; the limit is ${limits.maxItemTokens} tokens per chain`, itemField(i));
    }
    total += c;
  });
  if (total > limits.maxRequestTokens) {
    throw tooLarge(`${field} add up to ${total} tokens; the limit is ${limits.maxRequestTokens} tokens per request`, field);
  }
  return encoded;
}

/** Token costs of /pooling inputs: exact for token ids, from the model's tokenizer for text. */
export function checkPoolingInputs(inputs: ReadonlyArray<string | number[]>, limits: ServerLimits, model: ServerModel): number[] {
  checkCount(inputs.length, limits.maxItems, 'input', 'entries');
  const texts: string[] = [];
  for (const x of inputs) if (typeof x === 'string') texts.push(x);
  let textCounts: number[] = [];
  if (texts.length > 0) {
    textCounts = model.countTextTokens
      ? countOrFail(() => model.countTextTokens!(texts))
      : // without a tokenizer count, a byte count bounds the tokens of any byte-level BPE
        texts.map((t) => Buffer.byteLength(t, 'utf8') + 2);
  }
  let t = 0;
  let total = 0;
  const costs = inputs.map((x, i) => {
    const c = typeof x === 'string' ? textCounts[t++]! : x.length;
    const field = inputs.length === 1 ? 'input' : `input[${i}]`;
    if (c === 0) throw new ApiError(400, 'invalid_request_error', `${field} is empty (no tokens)`, field);
    if (c > limits.maxItemTokens) throw tooLarge(`${field} is ${c} tokens long; the limit is ${limits.maxItemTokens} tokens per input`, field);
    total += c;
    return c;
  });
  if (total > limits.maxRequestTokens) {
    throw tooLarge(`input adds up to ${total} tokens; the limit is ${limits.maxRequestTokens} tokens per request`, 'input');
  }
  return costs;
}
