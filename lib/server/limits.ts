// Size limits, checked after the schema and before any model work, the same on every route
// that tokenizes. Text is first measured by its length alone (characters per tokenizer call,
// and the fewest tokens it can be); chains are then tokenized here, once, in slices that
// leave the event loop free between them: an oversize request fails fast with the field that
// is too big, instead of after it has cost a batch, and the batch then scores this encoding.
import { ApiError, tooLarge } from './errors.js';
import { isInputError, reroot } from '../errors.js';
import type { InputError } from '../errors.js';
import type { ChainScorer, ModelEncodedChain, ServerLimits } from './types.js';
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
 * Text per tokenizer call between event-loop turns. Tokenizing runs on the event loop; in
 * slices this size a request of any accepted size keeps /health and the other requests moving.
 */
const SLICE_CHARS = 8192;

const turn = () => new Promise<void>((r) => setImmediate(r));

/**
 * The fewest tokens a text of `chars` UTF-16 units can be when one token covers at most
 * `maxTokenChars` of it. Halved again because a normalizer may compose characters (NFC
 * turns "e" + a combining accent into one): the bound must never refuse text that fits.
 */
export function minTokens(chars: number, maxTokenChars: number | undefined): number {
  return maxTokenChars === undefined ? 0 : Math.floor(chars / (2 * maxTokenChars));
}

function chainChars(item: ChainItem): number {
  let n = item.problem.length;
  for (const s of item.steps) n += s.length;
  return n;
}

/**
 * Checks chain counts and steps, refuses chains whose text alone is over the token limits,
 * then tokenizes the chains (once, in slices with event-loop turns between them, stopping at
 * the first chain or running total over a limit) and checks their tokens. Returns the
 * encoded chains, to be scored as they are.
 */
export async function checkChains(
  items: readonly ChainItem[],
  field: string,
  itemField: (i: number) => string,
  stepField: (i: number, k: number) => string,
  limits: ServerLimits,
  chains: ChainScorer,
  /** The field that holds the problem, where all chains share one (rerank's `problem`). */
  problemField?: string,
): Promise<ModelEncodedChain[]> {
  checkCount(items.length, limits.maxItems, field, 'entries');
  items.forEach((item, i) => checkCount(item.steps.length, limits.maxSteps, `${itemField(i)}.steps`, 'steps'));

  // shed by length first: what the tokenizer would need seconds for is refused in microseconds
  const chars = items.map(chainChars);
  let floor = 0;
  const perToken = usableBound(chains.maxTokenChars);
  chars.forEach((n, i) => {
    const least = minTokens(n, perToken);
    if (least > limits.maxItemTokens) {
      throw tooLarge(`${itemField(i)} is ${n} characters, at least ${least} tokens; the limit is ${limits.maxItemTokens} tokens per chain`, itemField(i));
    }
    if (n > limits.maxItemChars) throw tooLarge(`${itemField(i)} is ${n} characters; the limit is ${limits.maxItemChars} characters per chain`, itemField(i));
    floor += least;
  });
  if (floor > limits.maxRequestTokens) {
    throw tooLarge(`${field} add up to at least ${floor} tokens (from their length); the limit is ${limits.maxRequestTokens} tokens per request`, field);
  }

  const toRequestField = requestField(itemField, stepField, problemField);
  const encoded: ModelEncodedChain[] = [];
  let total = 0;
  for (let start = 0; start < items.length; ) {
    let end = start + 1;
    for (let size = chars[start]!; end < items.length && size + chars[end]! <= SLICE_CHARS; end++) size += chars[end]!;
    if (start > 0) await turn();
    const slice = items.slice(start, end) as ChainItem[];
    const part = countOrFail(() => {
      try {
        return chains.encode(slice);
      } catch (err) {
        // the model names chains by their place in the slice; the client knows the request
        const k = isInputError(err) ? (err as InputError).itemIndex : undefined;
        throw k === undefined || start === 0 ? err : reroot(err as InputError, `items[${k}]`, `items[${k + start}]`);
      }
    }, toRequestField);
    if (!Array.isArray(part) || part.length !== slice.length) {
      throw new ApiError(500, 'server_error', `the model encoded ${Array.isArray(part) ? part.length : 'no'} chains for ${slice.length} items`, null);
    }
    part.forEach((chain, j) => {
      const i = start + j;
      const c = chain?.tokens;
      if (typeof c !== 'number' || !Number.isInteger(c) || c < 0) {
        throw new ApiError(500, 'server_error', `the model gave ${itemField(i)} a token count of ${String(c)}`, null);
      }
      if (c > limits.maxItemTokens) {
        throw tooLarge(`${itemField(i)} is ${c} tokens long; the limit is ${limits.maxItemTokens} tokens per chain`, itemField(i));
      }
      total += c;
      if (total > limits.maxRequestTokens) {
        // stop here: the chains after this one cannot bring the total back under
        const counted = i + 1 < items.length ? ` by ${itemField(i)}` : '';
        throw tooLarge(`${field} add up to ${total} tokens${counted}; the limit is ${limits.maxRequestTokens} tokens per request`, field);
      }
      encoded.push(chain);
    });
    start = end;
  }
  return encoded;
}

/** A model's characters-per-token bound, when it is one that can be used. */
export function usableBound(m: number | undefined): number | undefined {
  return typeof m === 'number' && Number.isFinite(m) && m >= 1 ? m : undefined;
}

/**
 * Refuses text inputs (/pooling's, /tokenize's prompt, a rendered chat) whose length alone
 * puts them over the limits, before the tokenizer sees them: characters per text always;
 * the fewest tokens they can be unless `tokens` is false (text to be cut to fit).
 */
export function checkTexts(
  inputs: ReadonlyArray<string | number[]>,
  field: (i: number) => string,
  limits: ServerLimits,
  maxTokenChars: number | undefined,
  tokens = true,
): void {
  const perToken = usableBound(maxTokenChars);
  let floor = 0;
  inputs.forEach((x, i) => {
    if (typeof x !== 'string') {
      floor += x.length;
      return;
    }
    const least = minTokens(x.length, perToken);
    if (tokens && least > limits.maxItemTokens) {
      throw tooLarge(`${field(i)} is at least ${least} tokens long (from its length); the limit is ${limits.maxItemTokens} tokens per input`, field(i));
    }
    if (x.length > limits.maxItemChars) throw tooLarge(`${field(i)} is ${x.length} characters; the limit is ${limits.maxItemChars} characters per input`, field(i));
    floor += least;
  });
  if (tokens && floor > limits.maxRequestTokens) {
    throw tooLarge(`${field(-1)} adds up to at least ${floor} tokens (from its length); the limit is ${limits.maxRequestTokens} tokens per request`, field(-1));
  }
}

/** `tokenize` over many texts, in slices with event-loop turns between them. */
export async function tokenizeInSlices(tokenize: (texts: string[]) => number[][], texts: readonly string[]): Promise<number[][]> {
  const out: number[][] = [];
  for (let start = 0; start < texts.length; ) {
    let end = start + 1;
    for (let size = texts[start]!.length; end < texts.length && size + texts[end]!.length <= SLICE_CHARS; end++) size += texts[end]!.length;
    if (start > 0) await turn();
    out.push(...countOrFail(() => tokenize(texts.slice(start, end))));
    start = end;
  }
  return out;
}

/**
 * Token costs of tokenized inputs (or of text the model tokenizes itself, bounded by its
 * bytes), checked against the token limits: 413 naming the input past one.
 */
export function checkTokens(inputs: ReadonlyArray<string | number[]>, field: (i: number) => string, limits: ServerLimits): number[] {
  let total = 0;
  const costs = inputs.map((x, i) => {
    // without the model's tokenizer, a byte count bounds the tokens of any byte-level BPE
    const c = typeof x === 'string' ? Buffer.byteLength(x, 'utf8') + 2 : x.length;
    if (c === 0) throw new ApiError(400, 'invalid_request_error', `${field(i)} is empty (no tokens)`, field(i));
    if (c > limits.maxItemTokens) throw tooLarge(`${field(i)} is ${c} tokens long; the limit is ${limits.maxItemTokens} tokens per input`, field(i));
    total += c;
    return c;
  });
  if (total > limits.maxRequestTokens) {
    throw tooLarge(`${field(-1)} adds up to ${total} tokens; the limit is ${limits.maxRequestTokens} tokens per request`, field(-1));
  }
  return costs;
}

