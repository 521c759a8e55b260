// Size limits, checked after the schema and before any model work. Text is first measured
// against the token limits by its length alone; chains are then tokenized here, once, in
// slices that leave the event loop free between them: an oversize request fails fast with
// the field that is too big, instead of after it has cost a batch, and the batch then scores
// this encoding.
import { ApiError, tooLarge } from './errors.js';
import { isInputError, reroot } from '../errors.js';
import type { InputError } from '../errors.js';
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
  chains: ChainPath,
  /** The field that holds the problem, where all chains share one (rerank's `problem`). */
  problemField?: string,
): Promise<ModelEncodedChain[]> {
  checkCount(items.length, limits.maxItems, field, 'entries');
  items.forEach((item, i) => checkCount(item.steps.length, limits.maxSteps, `${itemField(i)}.steps`, 'steps'));

  // shed by length first: what the tokenizer would need seconds for is refused in microseconds
  const chars = items.map(chainChars);
  let floor = 0;
  chars.forEach((n, i) => {
    const least = minTokens(n, chains.maxTokenChars);
    if (least > limits.maxItemTokens) {
      throw tooLarge(`${itemField(i)} is ${n} characters, at least ${least} tokens; the limit is ${limits.maxItemTokens} tokens per chain`, itemField(i));
    }
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

/**
 * Refuses /pooling text whose length alone puts it over the token limits, before the
 * tokenizer sees it.
 */
export function checkPoolingText(inputs: ReadonlyArray<string | number[]>, limits: ServerLimits, maxTokenChars: number | undefined): void {
  if (maxTokenChars === undefined) return;
  let floor = 0;
  inputs.forEach((x, i) => {
    const least = typeof x === 'string' ? minTokens(x.length, maxTokenChars) : x.length;
    const field = inputs.length === 1 ? 'input' : `input[${i}]`;
    if (least > limits.maxItemTokens) {
      throw tooLarge(`${field} is at least ${least} tokens long (from its length); the limit is ${limits.maxItemTokens} tokens per input`, field);
    }
    floor += least;
  });
  if (floor > limits.maxRequestTokens) {
    throw tooLarge(`input adds up to at least ${floor} tokens (from its length); the limit is ${limits.maxRequestTokens} tokens per request`, 'input');
  }
}

/** `tokenize` over many texts, in slices with event-loop turns between them. */
export async function tokenizeInSlices(tokenize: (texts: string[]) => number[][], texts: readonly string[]): Promise<number[][]> {
  const out: number[][] = [];
  for (let start = 0; start < texts.length; ) {
    let end = start + 1;
    for (let size = texts[start]!.length; end < texts.length && size + texts[end]!.length <= SLICE_CHARS; end++) size += texts[end]!.length;
    if (start > 0) await turn();
    out.push(...tokenize(texts.slice(start, end)));
    start = end;
  }
  return out;
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
