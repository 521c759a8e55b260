// Load options of a Prm, checked up front so bad input fails before any model is opened.
import type { PadSide } from '../batch/index.js';
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

export interface PrmLoadOptions extends CommonOptions {
  /** Path of the .onnx decoder. */
  model: string;
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

export function checkCommon(o: unknown): asserts o is CommonOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object { model, tokenizer, format, ... }');
  const c = o as Record<string, unknown>;
  if (typeof c.tokenizer !== 'string' || c.tokenizer.length === 0) throw new TypeError('options.tokenizer must be a path to tokenizer.json or its directory');
  if (c.format === undefined) throw new TypeError('options.format is required');
  if (c.addedTokens !== undefined && !Array.isArray(c.addedTokens)) throw new TypeError('options.addedTokens must be an array of { id, content }');
  if (c.name !== undefined && typeof c.name !== 'string') throw new TypeError('options.name must be a string');
}
