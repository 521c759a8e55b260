// config.json → the shape of the decoder to build. Every field that changes the math is
// either understood here or refused by name: a field this converter does not implement
// must never yield a silently different model.
import { MODEL_BOUNDS } from '../model/bounds.js';

export type Family = 'qwen2' | 'llama' | 'mistral';

export interface RopeSpec {
  theta: number;
  /** Llama 3.1 frequency scaling. */
  llama3?: { factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number };
  /** Linear position scaling (positions divided by factor). */
  linearFactor?: number;
}

export interface DecoderSpec {
  family: Family;
  architecture: string;
  vocab: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  eps: number;
  rope: RopeSpec;
  /** q/k/v projections have biases (Qwen2, or Llama's attention_bias). */
  qkvBias: boolean;
  /** o_proj has a bias (Llama attention_bias). */
  oBias: boolean;
  mlpBias: boolean;
  tiedEmbeddings: boolean;
  /** Keys beyond this distance are not attended to (Mistral); undefined = full attention. */
  slidingWindow?: number;
  maxPositions: number;
  numLabels?: number;
}

export class UnsupportedConfigError extends RangeError {
  constructor(
    readonly field: string,
    readonly detail: string,
    file = 'config.json',
  ) {
    super(`${file}: ${field} ${detail}`);
    this.name = 'UnsupportedConfigError';
  }
}

/** Config numbers past these are refused by name (see lib/model/bounds.ts). */
export const CONFIG_BOUNDS = MODEL_BOUNDS;

const FAMILY: Record<string, Family> = { qwen2: 'qwen2', llama: 'llama', mistral: 'mistral' };

/** Fields known not to change the forward pass of a scoring model (bookkeeping, generation, training). */
const INERT = new Set([
  'architectures', 'auto_map', 'model_type', 'transformers_version', 'torch_dtype', 'dtype', 'output_hidden_states',
  'output_attentions', 'return_dict', 'chunk_size_feed_forward', 'is_encoder_decoder', 'id2label', 'label2id',
  'problem_type', 'initializer_range', 'use_cache', 'pad_token_id', 'bos_token_id', 'eos_token_id', '_name_or_path',
  'attention_dropout', 'hidden_dropout', 'dropout', 'max_window_layers', 'tokenizer_class', 'prefix',
  'sep_token_id', 'decoder_start_token_id', 'task_specific_params', 'finetuning_task', 'tf_legacy_loss', 'pruned_heads',
  'torchscript', 'use_bfloat16', 'add_cross_attention', 'tie_encoder_decoder', 'cross_attention_hidden_size',
  'is_decoder', 'max_length', 'min_length', 'do_sample', 'early_stopping', 'num_beams', 'num_beam_groups',
  'diversity_penalty', 'temperature', 'top_k', 'top_p', 'typical_p', 'repetition_penalty', 'length_penalty',
  'no_repeat_ngram_size', 'encoder_no_repeat_ngram_size', 'bad_words_ids', 'num_return_sequences',
  'output_scores', 'return_dict_in_generate', 'forced_bos_token_id', 'forced_eos_token_id', 'remove_invalid_values',
  'exponential_decay_length_penalty', 'suppress_tokens', 'begin_suppress_tokens', 'quantization_config_ignored',
  'pretraining_tp', 'num_labels', 'classifier_dropout', 'summary_type', 'summary_use_proj', 'summary_activation',
  'summary_proj_to_labels', 'summary_first_dropout', 'use_sliding_window', 'sliding_window', 'layer_types',
  'vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads',
  'head_dim', 'hidden_act', 'max_position_embeddings', 'rms_norm_eps', 'tie_word_embeddings', 'rope_theta',
  'rope_scaling', 'rope_parameters', 'attention_bias', 'mlp_bias', 'use_return_dict', 'keys_to_ignore_at_inference',
]);

function num(c: Record<string, unknown>, field: string, dflt?: number): number {
  const v = c[field] ?? dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new UnsupportedConfigError(field, `must be a number, got ${JSON.stringify(v)?.slice(0, 60)}`);
  return v;
}

function int(c: Record<string, unknown>, field: keyof typeof CONFIG_BOUNDS, dflt?: number): number {
  const v = num(c, field, dflt);
  const max = CONFIG_BOUNDS[field];
  if (!Number.isInteger(v) || v < 1 || v > max) throw new UnsupportedConfigError(field, `must be an integer in [1, ${max}], got ${v}`);
  return v;
}

function parseRope(c: Record<string, unknown>): RopeSpec {
  // transformers 5 writes rope_parameters (theta inside); 4.x writes rope_theta + rope_scaling
  const params = (c.rope_parameters ?? c.rope_scaling ?? null) as Record<string, unknown> | null;
  if (params !== null && (typeof params !== 'object' || Array.isArray(params)))
    throw new UnsupportedConfigError(c.rope_parameters !== undefined ? 'rope_parameters' : 'rope_scaling', 'must be an object');
  const field = c.rope_parameters !== undefined ? 'rope_parameters' : 'rope_scaling';
  const theta = typeof params?.rope_theta === 'number' ? params.rope_theta : num(c, 'rope_theta', 10000);
  if (!(theta > 1 && Number.isFinite(theta))) throw new UnsupportedConfigError(c.rope_parameters !== undefined ? 'rope_parameters.rope_theta' : 'rope_theta', `must be a finite number above 1, got ${theta}`);
  const type = (params?.rope_type ?? params?.type ?? 'default') as string;
  const rope: RopeSpec = { theta };
  if (type === 'default') return rope;
  if (type === 'llama3') {
    const f = (k: string) => {
      const v = params![k];
      if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) throw new UnsupportedConfigError(`${field}.${k}`, `must be a positive number for rope_type 'llama3', got ${JSON.stringify(v)}`);
      return v;
    };
    rope.llama3 = { factor: f('factor'), lowFreqFactor: f('low_freq_factor'), highFreqFactor: f('high_freq_factor'), originalMaxPositions: f('original_max_position_embeddings') };
    return rope;
  }
  if (type === 'linear') {
    const factor = params!.factor;
    if (typeof factor !== 'number' || !(factor > 0) || !Number.isFinite(factor)) throw new UnsupportedConfigError(`${field}.factor`, `must be a positive number, got ${JSON.stringify(factor)}`);
    rope.linearFactor = factor;
    return rope;
  }
  throw new UnsupportedConfigError(`${field}.rope_type`, `'${type}' is not supported (default, linear and llama3 are)`);
}

/** Parses a decoder config; throws UnsupportedConfigError naming `file` and the first field it cannot honour. */
export function parseConfig(c: Record<string, unknown>, file = 'config.json'): DecoderSpec {
  try {
    return parse(c);
  } catch (e) {
    if (e instanceof UnsupportedConfigError && file !== 'config.json') throw new UnsupportedConfigError(e.field, e.detail, file);
    throw e;
  }
}

function parse(c: Record<string, unknown>): DecoderSpec {
  const modelType = c.model_type;
  if (typeof modelType !== 'string' || !(modelType in FAMILY))
    throw new UnsupportedConfigError('model_type', `${JSON.stringify(modelType)} is not supported (qwen2, llama and mistral are)`);
  const family = FAMILY[modelType];
  const archs = c.architectures;
  const architecture = Array.isArray(archs) && typeof archs[0] === 'string' ? archs[0] : '';
  if (c.quantization_config !== undefined) throw new UnsupportedConfigError('quantization_config', 'is set: pre-quantized checkpoints are not read; convert the float weights');
  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') throw new UnsupportedConfigError('hidden_act', `'${String(act)}' is not supported (silu is)`);
  const hidden = int(c, 'hidden_size');
  const heads = int(c, 'num_attention_heads');
  const kvHeads = int(c, 'num_key_value_heads', heads);
  if (heads % kvHeads !== 0) throw new UnsupportedConfigError('num_key_value_heads', `(${kvHeads}) must divide num_attention_heads (${heads})`);
  const headDim = c.head_dim === undefined || c.head_dim === null ? hidden / heads : int(c, 'head_dim');
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new UnsupportedConfigError('head_dim', `must be an even integer, got ${headDim}`);
  if (kvHeads > heads) throw new UnsupportedConfigError('num_key_value_heads', `(${kvHeads}) must not exceed num_attention_heads (${heads})`);
  const layers = int(c, 'num_hidden_layers');
  const maxPositions = int(c, 'max_position_embeddings', 4096);
  const eps = num(c, 'rms_norm_eps', 1e-6);
  if (!(eps > 0 && eps < 1)) throw new UnsupportedConfigError('rms_norm_eps', `must be in (0, 1), got ${eps}`);
  const spec: DecoderSpec = {
    family, architecture,
    vocab: int(c, 'vocab_size'), hidden, layers, heads, kvHeads, headDim,
    intermediate: int(c, 'intermediate_size'),
    eps,
    rope: parseRope(c),
    qkvBias: family === 'qwen2' || c.attention_bias === true,
    oBias: family !== 'qwen2' && c.attention_bias === true,
    mlpBias: c.mlp_bias === true,
    tiedEmbeddings: c.tie_word_embeddings === true,
    maxPositions,
  };
  if (c.num_labels !== undefined && c.num_labels !== null) spec.numLabels = int(c, 'num_labels');
  // sliding window: Qwen2 only uses it when use_sliding_window is true; Mistral always
  const sw = c.sliding_window;
  const swOn = family === 'mistral' ? sw !== null && sw !== undefined : c.use_sliding_window === true;
  if (swOn) {
    const window = int(c, 'sliding_window');
    if (family === 'qwen2') throw new UnsupportedConfigError('use_sliding_window', 'is true: Qwen2 per-layer sliding windows are not supported');
    spec.slidingWindow = window;
  }
  const lt = c.layer_types;
  if (Array.isArray(lt) && lt.some((t) => t !== 'full_attention') && !swOn)
    throw new UnsupportedConfigError('layer_types', `lists ${JSON.stringify(lt.find((t) => t !== 'full_attention'))}: only full attention is supported`);
  for (const k of Object.keys(c)) {
    if (INERT.has(k)) continue;
    const v = c[k];
    // a null/false/empty extra is the absence of a feature
    if (v === null || v === false || (Array.isArray(v) && v.length === 0)) continue;
    throw new UnsupportedConfigError(k, `(${JSON.stringify(v).slice(0, 60)}) is not understood by the converter; it may change the model's math, so conversion stops`);
  }
  return spec;
}
