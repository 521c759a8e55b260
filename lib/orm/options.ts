// Options of Orm.load and of Orm's calls, checked before any model is opened or any chain
// tokenized. The backbone options (workers, chunking, head, output) are the ones Prm.load
// takes, checked by the same functions.
import { checkChunking } from '../batch/index.js';
import type { ChunkingOptions } from '../batch/index.js';
import type { HeadSource } from '../backbones/onnx/head.js';
import type { OrmFormatSpec } from '../formats/orm.js';
import { boolean, invalidType, isObject, keysOf, knownKeys, nonNegativeInt, object, oneOf, signal, string } from '../is.js';
import { workerOptions } from '../prm/options.js';
import type { TokenizerOptions, WorkerOptions } from '../prm/options.js';
import type { Overflow } from '../formats/encode.js';

export interface OrmLoadOptions {
  /** Path of the .onnx decoder, or a folder written by `prmkit convert` from an ORM checkpoint (its prmkit.json gives tokenizer, format and context). */
  model: string;
  /** Required with an .onnx file; a converted folder brings its own. */
  tokenizer?: string | TokenizerOptions;
  /** The ORM format (a converted folder names its own). */
  format?: OrmFormatSpec;
  /** Longest input in tokens (default: the folder's context, else the tokenizer's model_max_length). */
  maxContext?: number;
  /** Longer inputs: 'error' (default) or 'truncate' (keep the first maxContext tokens, read the last of them, flag `truncated`). */
  overflow?: Overflow;
  /** Display name (default: format:folder). */
  name?: string;
  /** Head weights when the model outputs last_hidden_state (a .safetensors file or an ONNX initializer). */
  head?: HeadSource;
  /** A head trained into the converted folder (`prmkit train`), by name; 'converted' for the checkpoint's own. Default: the folder's active head. */
  headName?: string;
  /** Which model output to read (default: 'logits' when the model has it, else 'last_hidden_state'). */
  output?: 'logits' | 'last_hidden_state';
  /** Worker threads: how many (default 1), or `{ count, threads, executionProvider }`. */
  workers?: number | WorkerOptions;
  /** How backbone calls are cut and padded. */
  chunking?: ChunkingOptions;
  /** Open a private snapshot of the model's weight files (default true), as `Prm.load` does: a file truncated in place cannot crash the process. */
  snapshot?: boolean;
}

/** Orm.demo's options: Orm.load's, less those that name or read the model (the demo brings its own). */
export type OrmDemoOptions = Omit<OrmLoadOptions, 'model' | 'tokenizer' | 'format' | 'head' | 'headName' | 'output'>;

export const ORM_LOAD_KEYS = keysOf<OrmLoadOptions>()({
  model: true, tokenizer: true, format: true, maxContext: true, overflow: true, name: true, head: true, headName: true, output: true, workers: true, chunking: true, snapshot: true,
});

export function checkOrmLoadOptions(o: unknown): asserts o is OrmLoadOptions {
  const l = object(o, 'options', 'an object { model, tokenizer?, format?, ... }');
  if (l.aggregate !== undefined) throw new TypeError('options.aggregate is not an option of Orm.load: an outcome reward model gives one score per solution, with no steps to aggregate');
  knownKeys(l, ORM_LOAD_KEYS);
  if (typeof l.model !== 'string' || l.model.length === 0) throw invalidType('options.model', 'a path to an .onnx file or a converted folder', l.model);
  const t = l.tokenizer;
  if (t !== undefined && !(typeof t === 'string' && t.length > 0)) {
    if (!isObject(t)) throw invalidType('options.tokenizer', 'a path to tokenizer.json or its directory, or { path, addedTokens }', t);
    knownKeys(t, ['path', 'addedTokens'], 'options.tokenizer');
    if (t.path !== undefined) string(t.path, 'options.tokenizer.path', { nonEmpty: true });
  }
  if (l.name !== undefined) string(l.name, 'options.name');
  if (l.headName !== undefined) string(l.headName, 'options.headName', { nonEmpty: true });
  if (l.headName !== undefined && l.head !== undefined) throw new TypeError('options.head and options.headName both name a head; pass one');
  if (l.output !== undefined) oneOf(l.output, 'options.output', ['logits', 'last_hidden_state'] as const);
  workerOptions(l.workers);
  checkChunking(l.chunking, 'options.chunking');
  if (l.snapshot !== undefined) boolean(l.snapshot, 'options.snapshot');
}

export interface OrmCallOptions {
  signal?: AbortSignal;
}

export interface OrmRerankOptions extends OrmCallOptions {
  /** Keep the best `topN` (default: all). */
  topN?: number;
}

const CALL_KEYS = keysOf<OrmCallOptions>()({ signal: true });
const RERANK_KEYS = keysOf<OrmRerankOptions>()({ signal: true, topN: true });

/** Options of score/chainScores; PRM-only ones (aggregate, errorThreshold) are named as such. */
export function checkOrmCall(o: unknown, what = 'score options'): OrmCallOptions {
  if (o === undefined) return {};
  const c = object(o, what);
  for (const k of ['aggregate', 'errorThreshold'])
    if (c[k] !== undefined) throw new TypeError(`${what}: ${k} is not an option of an outcome reward model: it gives one score per solution, with no step scores`);
  knownKeys(c, CALL_KEYS, what);
  return { signal: signal(c.signal, `${what}.signal`) };
}

export function checkOrmRerank(o: unknown, candidates: number): { topN: number; signal?: AbortSignal } {
  if (o === undefined) return { topN: candidates };
  const c = object(o, 'rerank options');
  for (const k of ['aggregate', 'errorThreshold'])
    if (c[k] !== undefined) throw new TypeError(`rerank options: ${k} is not an option of an outcome reward model: it gives one score per solution, with no step scores`);
  knownKeys(c, RERANK_KEYS, 'rerank options');
  return { topN: c.topN === undefined ? candidates : nonNegativeInt(c.topN, 'topN'), signal: signal(c.signal, 'rerank options.signal') };
}
