// Load options of a Prm, checked up front so bad input fails before any model is opened.
import { PAD_SIDES, planChunks } from '../batch/index.js';
import type { PadSide } from '../batch/index.js';
import { integer, invalidType, keysOf, knownKeys, nonNegativeInt, object, oneOf, string } from '../is.js';
import type { ProviderChoice } from '../backbones/onnx/providers.js';
import type { VllmClientOptions } from '../backbones/vllm/client.js';
import type { CustomFormat, FormatName, PrmFormat } from '../formats/types.js';
import type { Aggregation } from '../kernels/types.js';
import type { Overflow } from '../tokenize/encode.js';
import type { AddedTokenSpec } from '../tokenize/tokenizer.js';
import type { HeadSource } from './head.js';

interface CommonOptions {
  /** tokenizer.json path, or a directory holding tokenizer.json + tokenizer_config.json. */
  tokenizer: string;
  format: FormatName | CustomFormat | PrmFormat;
  /** Tokens to add or rename by id (e.g. `{ id: 151651, content: '<extra_0>' }` for the Qwen PRM). */
  addedTokens?: readonly AddedTokenSpec[];
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
  tokenizer?: string;
  format?: FormatName | CustomFormat | PrmFormat;
  /** Head weights when the model outputs last_hidden_state (a .safetensors file or an ONNX initializer). */
  head?: HeadSource;
  /** Which model output to read (default: 'logits' when the model has it, else 'last_hidden_state'). */
  output?: 'logits' | 'last_hidden_state';
  /** onnxruntime intra-op threads per worker. */
  threads?: number;
  /** Worker threads (sessions), default 1. */
  workers?: number;
  /** Most padded tokens (B x T) per backbone call (default 16384). */
  maxBatchTokens?: number;
  /** Byte budget for one backbone call's output (default 64 MiB). */
  maxOutputBytes?: number;
  /** Most chains per backbone call (default 64). */
  maxBatch?: number;
  /** Largest share of padding in a backbone call before chains go to another length bucket (default 0.25). */
  maxPadFraction?: number;
  /** Padding side (default 'right'; scores are the same either way). */
  padding?: PadSide;
  /** Pad token id (default: the tokenizer's pad_token, else 0). */
  padId?: number;
  executionProvider?: ProviderChoice;
}

export interface PrmConnectOptions extends CommonOptions {
  vllm: VllmClientOptions;
}

const COMMON = { tokenizer: true, format: true, addedTokens: true, maxContext: true, overflow: true, aggregate: true, name: true } as const;
export const LOAD_KEYS = keysOf<PrmLoadOptions>()({
  ...COMMON, model: true, head: true, output: true, threads: true, workers: true, maxBatchTokens: true, maxOutputBytes: true,
  maxBatch: true, maxPadFraction: true, padding: true, padId: true, executionProvider: true,
});
export const CONNECT_KEYS = keysOf<PrmConnectOptions>()({ ...COMMON, vllm: true });

export function checkCommon(o: unknown): asserts o is CommonOptions {
  const c = object(o, 'options', 'an object { model, tokenizer, format, ... }');
  if (typeof c.tokenizer !== 'string' || c.tokenizer.length === 0) throw invalidType('options.tokenizer', 'a path to tokenizer.json or its directory', c.tokenizer);
  if (c.format === undefined) throw new TypeError('options.format is required');
  if (c.addedTokens !== undefined && !Array.isArray(c.addedTokens)) throw invalidType('options.addedTokens', 'an array of { id, content }', c.addedTokens);
  if (c.name !== undefined) string(c.name, 'options.name');
}

/**
 * What `Prm.load` can check without opening a file, so a typo fails at once (the common
 * options are checked once a converted folder has filled in its tokenizer and format).
 */
export function checkLoadOptions(o: unknown): asserts o is PrmLoadOptions {
  knownKeys(object(o, 'options', 'an object { model, tokenizer, format, ... }'), LOAD_KEYS);
  const l = o as PrmLoadOptions;
  if (typeof l.model !== 'string' || l.model.length === 0) throw invalidType('options.model', 'a path to an .onnx file or a converted folder', l.model);
  if (l.output !== undefined) oneOf(l.output, 'options.output', ['logits', 'last_hidden_state'] as const);
  if (l.padId !== undefined) nonNegativeInt(l.padId, 'options.padId');
  if (l.padding !== undefined) oneOf(l.padding, 'options.padding', PAD_SIDES);
  if (l.workers !== undefined) integer(l.workers, 'options.workers', 1, 64);
  if (l.threads !== undefined) integer(l.threads, 'options.threads', 1, 256);
  if (l.executionProvider !== undefined) oneOf(l.executionProvider, 'options.executionProvider', ['auto', 'cpu', 'cuda'] as const);
  // budgets are checked now, not at the first score call
  planChunks([1], { bytesPerToken: 4, maxOutputBytes: l.maxOutputBytes, maxBatchTokens: l.maxBatchTokens, maxBatch: l.maxBatch, maxPadFraction: l.maxPadFraction });
}

export function checkConnectOptions(o: unknown): asserts o is PrmConnectOptions {
  knownKeys(object(o, 'options', 'an object { vllm, tokenizer, format, ... }'), CONNECT_KEYS);
  object((o as PrmConnectOptions).vllm, 'options.vllm', 'an object { url, model?, ... }');
}
