// Encoded chains as Prm takes them back: the tokenizer's output (ids + boundaries) plus the
// items' ids, so that scoring an encoding gives exactly what scoring its items gives. Callers
// that tokenize once for their own reasons (a server checking token limits, a search that
// counts tokens before deciding) then score that encoding instead of tokenizing again.
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import type { PrmFormat } from '../formats/types.js';
import { boolean, invalidType, keysOf, knownKeys, object, show, signal as abortSignal } from '../is.js';
import { overContext } from '../formats/encode.js';
import type { EncodedBatch } from '../formats/encode.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';

export interface PrmEncoding extends EncodedBatch {
  /** Each item's id, undefined where it had none (results carry them back). */
  ids: Array<string | undefined>;
}

export interface PrmEncodeOptions {
  /**
   * Leave chains longer than maxContext whole (default false). Every row then shows the
   * chain's full token count, and `scoreEncoded` applies the model's overflow policy (the
   * same RangeError, or the same truncation, that `score` applies).
   */
  deferContext?: boolean;
}

/** One row of an encoding: rows of several encodings make up a new one with `pickRows`. */
export interface EncodedRow {
  encoding: PrmEncoding;
  row: number;
}

/** `Prm.encode`'s options. */
export function checkEncodeOptions(o: unknown): { deferContext: boolean } {
  knownKeys(object(o, 'encode options'), ['deferContext'], 'encode options');
  const d = (o as PrmEncodeOptions).deferContext;
  return { deferContext: d === undefined ? false : boolean(d, 'deferContext') };
}

function isInt32(v: unknown): v is Int32Array {
  return v instanceof Int32Array;
}

/**
 * Checks what `scoreEncoded` is handed, before any work: a malformed encoding would otherwise
 * reach the backbone or the kernels as out-of-range reads. Messages name the field.
 */
export function checkEncoding(enc: unknown, format: PrmFormat): asserts enc is EncodedBatch & { ids?: Array<string | undefined> } {
  if (enc === null || typeof enc !== 'object') throw new PrmInputTypeError('encoded', `must be the result of prm.encode(items): { inputIds, boundaries, truncated, format }, got ${show(enc)}`);
  const e = enc as Partial<PrmEncoding>;
  if (!Array.isArray(e.inputIds)) throw new PrmInputTypeError('encoded.inputIds', `must be an array of Int32Array rows, got ${show(e.inputIds)}`);
  const n = e.inputIds.length;
  const b = e.boundaries;
  if (b === null || typeof b !== 'object') throw new PrmInputTypeError('encoded.boundaries', `must be { offsets, positions }, got ${show(b)}`);
  if (!isInt32(b.offsets)) throw new PrmInputTypeError('encoded.boundaries.offsets', `must be an Int32Array, got ${show(b.offsets)}`);
  if (!isInt32(b.positions)) throw new PrmInputTypeError('encoded.boundaries.positions', `must be an Int32Array, got ${show(b.positions)}`);
  if (b.offsets.length !== n + 1) throw new PrmInputError('encoded.boundaries.offsets', `must hold inputIds.length + 1 = ${n + 1} entries, got ${b.offsets.length}`);
  if (b.offsets[0] !== 0) throw new PrmInputError('encoded.boundaries.offsets[0]', `must be 0, got ${b.offsets[0]}`);
  if (b.offsets[n] !== b.positions.length)
    throw new PrmInputError(`encoded.boundaries.offsets[${n}]`, `must equal positions.length (${b.positions.length}), got ${b.offsets[n]}`);
  if (!Array.isArray(e.truncated) || e.truncated.length !== n || e.truncated.some((t) => typeof t !== 'boolean'))
    throw new PrmInputTypeError('encoded.truncated', `must be an array of ${n} booleans`);
  if (e.ids !== undefined && (!Array.isArray(e.ids) || e.ids.length !== n || e.ids.some((id) => id !== undefined && typeof id !== 'string')))
    throw new PrmInputTypeError('encoded.ids', `must be an array of ${n} strings or undefined`);
  const f = e.format as PrmFormat | undefined;
  if (f === null || typeof f !== 'object' || typeof f.name !== 'string') throw new PrmInputTypeError('encoded.format', 'must be the PrmFormat the chains were encoded with');
  // boundaries mean what the format's head reads there: another family's encoding would score garbage
  if (f !== format && f.name !== format.name) throw new PrmInputError('encoded.format', `is '${f.name}', but this model reads '${format.name}'`);
  const starts = (e as { starts?: unknown }).starts;
  if (format.implicit && !(starts instanceof Int32Array && starts.length === n))
    throw new PrmInputTypeError('encoded.starts', `must be an Int32Array of ${n} response starts (an implicit PRM's encoding has them), got ${show(starts)}`);
  for (let i = 0; i < n; i++) {
    const ids = e.inputIds[i];
    if (!isInt32(ids)) throw new PrmInputTypeError(`encoded.inputIds[${i}]`, `must be an Int32Array, got ${show(ids)}`);
    if (ids.length === 0) throw new PrmInputError(`encoded.inputIds[${i}]`, `is empty`);
    for (let t = 0; t < ids.length; t++)
      if (ids[t] < 0) throw new PrmInputError(`encoded.inputIds[${i}][${t}]`, `is ${ids[t]}; token ids are non-negative`);
    const lo = b.offsets[i];
    const hi = b.offsets[i + 1];
    if (hi < lo) throw new PrmInputError('encoded.boundaries.offsets', `must not decrease (offsets[${i + 1}] = ${hi} < offsets[${i}] = ${lo})`);
    let prev = -1;
    for (let k = lo; k < hi; k++) {
      const p = b.positions[k];
      if (p <= prev || p >= ids.length)
        throw new PrmInputError(`encoded.boundaries.positions[${k}]`, `= ${p} must be increasing within chain ${i} and inside its ${ids.length} tokens`);
      prev = p;
    }
    // the token before a response's first one predicts it, so a response starts at 1 or later
    if (format.implicit) {
      const st = (starts as Int32Array)[i];
      const limit = hi > lo ? b.positions[lo] : ids.length;
      if (!(st >= 1 && st <= limit)) throw new PrmInputError(`encoded.starts[${i}]`, `= ${st} must be in [1, ${limit}] (the chain's first step end, or its length)`);
    }
  }
}

/** A new encoding of the given rows, in order (rows are shared, not copied). */
export function pickRows(rows: readonly EncodedRow[], format: PrmFormat): PrmEncoding {
  const offsets = new Int32Array(rows.length + 1);
  let S = 0;
  rows.forEach(({ encoding: e, row }, i) => {
    S += e.boundaries.offsets[row + 1] - e.boundaries.offsets[row];
    offsets[i + 1] = S;
  });
  const positions = new Int32Array(S);
  rows.forEach(({ encoding: e, row }, i) => positions.set(e.boundaries.positions.subarray(e.boundaries.offsets[row], e.boundaries.offsets[row + 1]), offsets[i]));
  const starts = format.implicit ? Int32Array.from(rows, ({ encoding: e, row }) => e.starts?.[row] ?? 0) : undefined;
  return {
    inputIds: rows.map(({ encoding: e, row }) => e.inputIds[row]),
    boundaries: { offsets, positions },
    truncated: rows.map(({ encoding: e, row }) => e.truncated[row]),
    ids: rows.map(({ encoding: e, row }) => e.ids[row]),
    format,
    ...(starts ? { starts } : {}),
  };
}

/** Encodings one after the other, as one. */
export function joinEncodings(parts: readonly PrmEncoding[], format: PrmFormat): PrmEncoding {
  return pickRows(parts.flatMap((encoding) => encoding.inputIds.map((_, row) => ({ encoding, row }))), format);
}

export interface ClassifyOptions {
  signal?: AbortSignal;
  /** Probabilities (default true), or the head's raw outputs (vLLM's `use_activation: false`). */
  activation?: boolean;
}

const CLASSIFY_KEYS = keysOf<ClassifyOptions>()({ signal: true, activation: true });

/**
 * `classifyTokens`' arguments, checked before any work: each input as token ids (text is
 * tokenized with the tokenizer's special tokens), inside the context.
 */
export function checkClassifyCall(
  inputs: unknown,
  options: ClassifyOptions | undefined,
  tokenizer: PrmTokenizer,
  maxContext: number | undefined,
): { rows: number[][]; signal?: AbortSignal; activation: boolean } {
  if (!Array.isArray(inputs)) throw invalidType('inputs', 'an array of strings or token-id arrays', inputs);
  const o = options === undefined ? {} : object(options, 'classify options');
  knownKeys(o, CLASSIFY_KEYS, 'classify options');
  const signal = abortSignal(o.signal);
  const activation = o.activation === undefined ? true : boolean(o.activation, 'activation');
  const rows = inputs.map((x: unknown, i) => {
    let ids: number[];
    if (typeof x === 'string') ids = tokenizer.encode(x, true);
    else if (Array.isArray(x)) {
      x.forEach((t: unknown, k) => {
        const bad = `must hold non-negative integer token ids; [${k}] is ${show(t)}`;
        if (typeof t !== 'number') throw new PrmInputTypeError(`inputs[${i}]`, bad);
        if (!Number.isInteger(t) || t < 0) throw new PrmInputError(`inputs[${i}]`, bad);
      });
      ids = [...(x as number[])];
    } else throw new PrmInputTypeError(`inputs[${i}]`, `must be a string or an array of token ids, got ${show(x)}`);
    if (ids.length === 0) throw new PrmInputError(`inputs[${i}]`, 'is empty');
    if (maxContext !== undefined && ids.length > maxContext) throw overContext(`inputs[${i}]`, ids.length, maxContext);
    return ids;
  });
  return { rows, signal, activation };
}
