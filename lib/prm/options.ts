// Options of Prm.load and Prm.connect, checked up front so bad input fails before any model
// is opened. Grouped by what they configure: what is scored and how (top level), the
// tokenizer, the worker threads, and how backbone calls are chunked.
import { checkChunking } from '../batch/index.js';
import type { ChunkingOptions } from '../batch/index.js';
import { boolean, integer, invalidType, isObject, keysOf, knownKeys, object, oneOf, string } from '../is.js';
import { PROVIDER_CHOICES } from '../backbones/onnx/providers.js';
import type { WorkerOptions } from '../backbones/onnx/backbone.js';
import type { HeadSource } from '../backbones/onnx/head.js';
import type { VllmClientOptions } from '../backbones/vllm/client.js';
import type { FormatSpec } from '../formats/types.js';
import type { Aggregation } from '../kernels/types.js';
import type { Overflow } from '../formats/encode.js';
import type { AddedTokenSpec } from '../tokenize/tokenizer.js';
import { CONCURRENCIES } from '../backbones/implicit/source.js';
import type { Concurrency } from '../backbones/implicit/source.js';
import { checkBeta, REWARD_KINDS } from './rewards.js';
import type { RewardKind } from './rewards.js';

export type { ChunkingOptions } from '../batch/index.js';
export type { WorkerOptions } from '../backbones/onnx/backbone.js';

/** Where the tokenizer is and what to change in it. */
export interface TokenizerOptions {
  /** tokenizer.json, or a directory holding tokenizer.json + tokenizer_config.json. */
  path?: string;
  /** Tokens to add or rename by id (e.g. `{ id: 151651, content: '<extra_0>' }` for the Qwen PRM). */
  addedTokens?: readonly AddedTokenSpec[];
}

interface CommonOptions {
  /** A tokenizer.json path (or its directory), or `{ path, addedTokens }`. */
  tokenizer: string | TokenizerOptions;
  format: FormatSpec;
  /** Longest chain in tokens (default: the tokenizer's model_max_length, if it states one). */
  maxContext?: number;
  /** Longer chains: 'error' (default) or 'truncate' (score the steps that fit, flag `truncated`). */
  overflow?: Overflow;
  /** Default aggregation for score/rerank (default: the format's authors' choice). */
  aggregate?: Aggregation;
  /** Display name (default: derived from the model). */
  name?: string;
}

export interface PrmLoadOptions extends Omit<CommonOptions, 'tokenizer' | 'format'> {
  /** Path of the .onnx decoder, or a folder written by `prmkit convert` (its prmkit.json gives tokenizer, format and context). */
  model: string;
  /** Required with an .onnx file; a converted folder brings its own. */
  tokenizer?: string | TokenizerOptions;
  format?: FormatSpec;
  /** Head weights when the model outputs last_hidden_state (a .safetensors file or an ONNX initializer). */
  head?: HeadSource;
  /**
   * A head trained into the converted folder (`prmkit train`), by name; 'converted' for the
   * checkpoint's own head. Default: the folder's active head.
   */
  headName?: string;
  /** Which model output to read (default: 'logits' when the model has it, else 'last_hidden_state'). */
  output?: 'logits' | 'last_hidden_state';
  /** Worker threads: how many (default 1), or `{ count, threads, executionProvider }`. */
  workers?: number | WorkerOptions;
  /** How backbone calls are cut and padded: `{ maxPaddedTokens, maxOutputBytes, maxBatch, maxPadFraction, padding, padId }`. */
  chunking?: ChunkingOptions;
  /** An implicit PRM's settings (a folder converted with --reference). */
  implicit?: ImplicitLoadOptions;
  /**
   * Open a private snapshot of the model's weight files (default true: a reflink clone where
   * the file system has them, else a copy, unlinked once open), so a file truncated or
   * rewritten in place under the running process cannot crash it. false maps the files
   * themselves: no copy, but truncating them in place then kills the process (SIGBUS).
   */
  snapshot?: boolean;
}

/** Prm.demo's options: Prm.load's, less those that name or read the model (the demo brings its own). */
export type PrmDemoOptions = Omit<PrmLoadOptions, 'model' | 'tokenizer' | 'format' | 'head' | 'headName' | 'output' | 'implicit'>;

/** How an implicit PRM's two models run and what its rewards default to. */
export interface ImplicitLoadOptions {
  /** Run the policy and the reference at the same time: 'auto' (default: when free memory holds both calls), 'parallel', 'sequential'. */
  concurrency?: Concurrency;
  /** The reward scale (default: the folder's, 0.001 for EurusPRM). */
  beta?: number;
  /** 'cumulative' (q at each step end, the default) or 'step' (per-step differences). */
  rewards?: RewardKind;
}

export interface PrmConnectOptions extends CommonOptions {
  vllm: VllmClientOptions;
}

const COMMON = { tokenizer: true, format: true, maxContext: true, overflow: true, aggregate: true, name: true } as const;
export const LOAD_KEYS = keysOf<PrmLoadOptions>()({ ...COMMON, model: true, head: true, headName: true, output: true, workers: true, chunking: true, implicit: true, snapshot: true });
const IMPLICIT_KEYS = keysOf<ImplicitLoadOptions>()({ concurrency: true, beta: true, rewards: true });
export const CONNECT_KEYS = keysOf<PrmConnectOptions>()({ ...COMMON, vllm: true });
const TOKENIZER_KEYS = keysOf<TokenizerOptions>()({ path: true, addedTokens: true });
const WORKER_KEYS = keysOf<WorkerOptions>()({ count: true, threads: true, executionProvider: true, kvMemory: true });

/** Options that moved into a group: named with their new place instead of "not an option". */
const MOVED: Record<string, string> = {
  threads: 'workers.threads', executionProvider: 'workers.executionProvider', addedTokens: 'tokenizer.addedTokens',
  maxBatchTokens: 'chunking.maxPaddedTokens', maxOutputBytes: 'chunking.maxOutputBytes', maxBatch: 'chunking.maxBatch',
  maxPadFraction: 'chunking.maxPadFraction', padding: 'chunking.padding', padId: 'chunking.padId',
};

function checkKeys(o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of Object.keys(o)) if (Object.hasOwn(MOVED, k)) throw new TypeError(`options.${k} is not an option; did you mean options.${MOVED[k]}?`);
  knownKeys(o, keys);
}

/** The tokenizer option as `{ path, addedTokens }`. */
export function tokenizerOptions(v: string | TokenizerOptions | undefined): TokenizerOptions {
  return typeof v === 'string' ? { path: v } : (v ?? {});
}

function checkTokenizer(v: unknown, required: boolean): void {
  if (typeof v === 'string' && v.length > 0) return;
  if (v === undefined && !required) return;
  if (!isObject(v)) throw invalidType('options.tokenizer', 'a path to tokenizer.json or its directory, or { path, addedTokens }', v);
  knownKeys(v, TOKENIZER_KEYS, 'options.tokenizer');
  if (v.path !== undefined || required) string(v.path, 'options.tokenizer.path', { nonEmpty: true });
  if (v.addedTokens !== undefined && !Array.isArray(v.addedTokens)) throw invalidType('options.tokenizer.addedTokens', 'an array of { id, content }', v.addedTokens);
}

/** The workers option as `{ count, threads, executionProvider, kvMemory }`, checked. */
export function workerOptions(v: unknown): WorkerOptions {
  if (v === undefined) return {};
  if (!isObject(v)) return { count: integer(v, 'options.workers', 1, 64) };
  const w = v;
  knownKeys(w, WORKER_KEYS, 'options.workers');
  if (w.count !== undefined) integer(w.count, 'options.workers.count', 1, 64);
  if (w.threads !== undefined) integer(w.threads, 'options.workers.threads', 1, 256);
  if (w.executionProvider !== undefined) oneOf(w.executionProvider, 'options.workers.executionProvider', PROVIDER_CHOICES);
  if (w.kvMemory !== undefined) integer(w.kvMemory, 'options.workers.kvMemory', 0, Number.MAX_SAFE_INTEGER);
  return w as WorkerOptions;
}

/** The implicit option, checked (an empty object when absent). */
export function implicitOptions(v: unknown): ImplicitLoadOptions {
  if (v === undefined) return {};
  const o = object(v, 'options.implicit', `an object { ${IMPLICIT_KEYS.join(', ')} }`);
  knownKeys(o, IMPLICIT_KEYS, 'options.implicit');
  return {
    ...(o.concurrency !== undefined ? { concurrency: oneOf(o.concurrency, 'options.implicit.concurrency', CONCURRENCIES) } : {}),
    ...(o.beta !== undefined ? { beta: checkBeta(o.beta, 'options.implicit.beta') } : {}),
    ...(o.rewards !== undefined ? { rewards: oneOf(o.rewards, 'options.implicit.rewards', REWARD_KINDS) } : {}),
  };
}

export function checkCommon(o: unknown): asserts o is CommonOptions {
  const c = object(o, 'options', 'an object { model, tokenizer, format, ... }');
  checkTokenizer(c.tokenizer, true);
  if (c.format === undefined) throw new TypeError('options.format is required');
  if (c.name !== undefined) string(c.name, 'options.name');
}

/**
 * What `Prm.load` can check without opening a file, so a typo fails at once (the common
 * options are checked once a converted folder has filled in its tokenizer and format).
 */
export function checkLoadOptions(o: unknown): asserts o is PrmLoadOptions {
  checkKeys(object(o, 'options', 'an object { model, tokenizer, format, ... }'), LOAD_KEYS);
  const l = o as PrmLoadOptions;
  if (typeof l.model !== 'string' || l.model.length === 0) throw invalidType('options.model', 'a path to an .onnx file or a converted folder', l.model);
  checkTokenizer(l.tokenizer, false);
  if (l.output !== undefined) oneOf(l.output, 'options.output', ['logits', 'last_hidden_state'] as const);
  if (l.headName !== undefined) string(l.headName, 'options.headName', { nonEmpty: true });
  if (l.headName !== undefined && l.head !== undefined) throw new TypeError('options.head and options.headName both name a head; pass one');
  workerOptions(l.workers);
  checkChunking(l.chunking, 'options.chunking');
  implicitOptions(l.implicit);
  if (l.snapshot !== undefined) boolean(l.snapshot, 'options.snapshot');
}

export function checkConnectOptions(o: unknown): asserts o is PrmConnectOptions {
  checkKeys(object(o, 'options', 'an object { vllm, tokenizer, format, ... }'), CONNECT_KEYS);
  object((o as PrmConnectOptions).vllm, 'options.vllm', 'an object { url, model?, ... }');
}
