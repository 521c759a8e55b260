// A tiny Hugging Face checkpoint of a real PRM family (config.json, model.safetensors, the
// tiny byte-level tokenizer), with seeded random weights: same seed, same files. It is what
// `createTinyModel` converts, and what converter tests feed `convert` without any download.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import { mulberry32 } from '../random.js';
import { writeSafetensors } from './safetensors-write.js';
import { tinyTokenizer } from './tiny-tokenizer.js';

export interface TinyCheckpointOptions {
  /** Folder to write config.json, model.safetensors, tokenizer.json and tokenizer_config.json into. */
  dir: string;
  layers?: number;
  hidden?: number;
  /** Attention heads (hidden must be divisible by it); default hidden / 16, at least 1. */
  heads?: number;
  /** Key/value heads (dividing heads); default heads. */
  kvHeads?: number;
  seed?: number;
  /** Which PRM (or ORM) family's architecture and head to imitate (default 'math-shepherd'). */
  format?: FormatName | OrmFormatName;
  /** max_position_embeddings and the tokenizer's model_max_length (default 4096). */
  maxPositions?: number;
}

export interface TinyCheckpoint {
  dir: string;
  config: Record<string, unknown>;
  /** The head's tensors (torch layout [K, H]), as the checkpoint holds them. */
  head: { weight: string; bias?: string; rows: number };
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  maxPositions: number;
}

/** Each format's architecture, as its real checkpoints name it, and the head tensors it carries. */
const FAMILY: Record<FormatName | OrmFormatName, { modelType: string; architecture: string; head: 'lm_head' | 'score' | 'v_head.summary' | 'score.2'; rows: number | 'vocab' }> = {
  'qwen2.5-math-prm': { modelType: 'qwen2', architecture: 'Qwen2ForTokenClassification', head: 'score', rows: 2 },
  'math-shepherd': { modelType: 'mistral', architecture: 'MistralForCausalLM', head: 'lm_head', rows: 'vocab' },
  rlhflow: { modelType: 'llama', architecture: 'LlamaForCausalLM', head: 'lm_head', rows: 'vocab' },
  skywork: { modelType: 'qwen2', architecture: 'Qwen2ForPrmModel', head: 'v_head.summary', rows: 1 },
  trl: { modelType: 'qwen2', architecture: 'Qwen2ForTokenClassification', head: 'score', rows: 2 },
  'eurus-prm': { modelType: 'qwen2', architecture: 'Qwen2ForCausalLM', head: 'lm_head', rows: 'vocab' },
  // a causal LM read as P("Y") over its whole vocabulary (Granite's architecture itself is not converted)
  'granite-prm': { modelType: 'llama', architecture: 'LlamaForCausalLM', head: 'lm_head', rows: 'vocab' },
  // outcome reward models: one value per solution
  'qwen2.5-math-rm': { modelType: 'qwen2', architecture: 'Qwen2ForRewardModel', head: 'score.2', rows: 1 },
  'skywork-reward': { modelType: 'llama', architecture: 'LlamaForSequenceClassification', head: 'score', rows: 1 },
  'plain-orm': { modelType: 'qwen2', architecture: 'Qwen2ForSequenceClassification', head: 'score', rows: 1 },
};

/** Seeded normals: Box-Muller over mulberry32. */
function normals(seed: number): (n: number, std: number) => Float32Array {
  const uniform = mulberry32(seed);
  return (n, std) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const u = Math.max(uniform(), 1e-12);
      out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
    }
    return out;
  };
}

function int(v: unknown, name: string, min: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new RangeError(`createTinyModel: ${name} must be an integer >= ${min}, got ${String(v)}`);
  return v;
}

export function createTinyCheckpoint(options: TinyCheckpointOptions): TinyCheckpoint {
  if (options === null || typeof options !== 'object' || typeof options.dir !== 'string' || options.dir.length === 0)
    throw new TypeError('createTinyModel: options.dir must be a directory path');
  const layers = int(options.layers, 'layers', 1, 2);
  const hidden = int(options.hidden, 'hidden', 2, 32);
  const heads = int(options.heads, 'heads', 1, Math.max(1, Math.floor(hidden / 16)));
  if (hidden % heads !== 0) throw new RangeError(`createTinyModel: hidden (${hidden}) must be divisible by heads (${heads})`);
  if ((hidden / heads) % 2 !== 0) throw new RangeError(`createTinyModel: the head size hidden / heads (${hidden / heads}) must be even (rotary positions)`);
  const kvHeads = int(options.kvHeads, 'kvHeads', 1, heads);
  if (heads % kvHeads !== 0) throw new RangeError(`createTinyModel: kvHeads (${kvHeads}) must divide heads (${heads})`);
  const seed = int(options.seed, 'seed', 0, 1);
  const maxPositions = int(options.maxPositions, 'maxPositions', 8, 4096);
  const format = options.format ?? 'math-shepherd';
  if (!Object.hasOwn(FAMILY, format)) throw new RangeError(`createTinyModel: unknown format '${String(format)}'`);
  const family = FAMILY[format];
  const tok = tinyTokenizer(maxPositions);
  const V = tok.vocabSize;
  const I = 2 * hidden;
  const hd = hidden / heads;
  const rand = normals(seed);
  const tensors: Record<string, { shape: number[]; data: Float32Array }> = {};
  const put = (name: string, shape: number[], data: Float32Array) => (tensors[name] = { shape, data });
  const gain = (salt: number) => Float32Array.from({ length: hidden }, (_, i) => 1 + 0.1 * Math.sin(i + seed + salt));
  const std = 1 / Math.sqrt(hidden);

  put('model.embed_tokens.weight', [V, hidden], rand(V * hidden, 1));
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    put(`${p}.input_layernorm.weight`, [hidden], gain(2 * l));
    for (const [n, rows] of [['q_proj', heads * hd], ['k_proj', kvHeads * hd], ['v_proj', kvHeads * hd]] as const) {
      put(`${p}.self_attn.${n}.weight`, [rows, hidden], rand(rows * hidden, std));
      if (family.modelType === 'qwen2') put(`${p}.self_attn.${n}.bias`, [rows], rand(rows, 0.1));
    }
    put(`${p}.self_attn.o_proj.weight`, [hidden, heads * hd], rand(hidden * heads * hd, std));
    put(`${p}.post_attention_layernorm.weight`, [hidden], gain(2 * l + 1));
    put(`${p}.mlp.gate_proj.weight`, [I, hidden], rand(I * hidden, std));
    put(`${p}.mlp.up_proj.weight`, [I, hidden], rand(I * hidden, std));
    put(`${p}.mlp.down_proj.weight`, [hidden, I], rand(hidden * I, 1 / Math.sqrt(I)));
  }
  put('model.norm.weight', [hidden], gain(-1));
  // this std spreads boundary probabilities over (0, 1)
  const rows = family.rows === 'vocab' ? V : family.rows;
  const head = { weight: `${family.head}.weight`, rows, ...(family.head === 'lm_head' ? {} : { bias: `${family.head}.bias` }) };
  if (family.head === 'score.2') {
    // Qwen2ForRewardModel's score MLP: Linear(H,H) → ReLU → Linear(H,1)
    put('score.0.weight', [hidden, hidden], rand(hidden * hidden, 2 / Math.sqrt(hidden)));
    put('score.0.bias', [hidden], rand(hidden, 0.5));
  }
  put(head.weight, [rows, hidden], rand(rows * hidden, 2 / Math.sqrt(hidden)));
  if (head.bias) put(head.bias, [rows], rand(rows, 0.5));

  const config = {
    architectures: [family.architecture],
    model_type: family.modelType,
    vocab_size: V,
    hidden_size: hidden,
    intermediate_size: I,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    head_dim: hd,
    hidden_act: 'silu',
    max_position_embeddings: maxPositions,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: false,
    torch_dtype: 'float32',
    ...(family.rows === 'vocab' ? {} : { num_labels: rows }),
  };
  mkdirSync(options.dir, { recursive: true });
  writeFileSync(join(options.dir, 'config.json'), JSON.stringify(config, null, 2));
  writeSafetensors(join(options.dir, 'model.safetensors'), tensors);
  writeFileSync(join(options.dir, 'tokenizer.json'), JSON.stringify(tok.json));
  writeFileSync(join(options.dir, 'tokenizer_config.json'), JSON.stringify(tok.config, null, 1));
  return { dir: options.dir, config, head, vocabSize: V, hidden, layers, heads, kvHeads, maxPositions };
}
