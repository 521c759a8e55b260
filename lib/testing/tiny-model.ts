// A tiny causal transformer written as ONNX from TypeScript, with the input/output names of
// exported Hugging Face decoders, so prmkit's backbone code runs on it exactly as on a real
// PRM: pre-norm blocks (RMSNorm, multi-head attention with a causal + padding mask, SiLU
// MLP), learned positions read at `position_ids`, optional KV cache (`past_key_values.{i}.*`
// in, `present.{i}.*` out). Weights come from a seeded generator: same seed, same model.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FormatName } from '../formats/types.js';
import { mulberry32 } from '../search/random.js';
import { GraphBuilder } from './onnx-graph.js';
import { writeSafetensors } from './safetensors-write.js';
import { tinyTokenizer } from './tiny-tokenizer.js';

export interface TinyModelOptions {
  /** Directory to write model.onnx, tokenizer.json, tokenizer_config.json (and head.safetensors). */
  dir: string;
  layers?: number;
  hidden?: number;
  /** Attention heads (hidden must be divisible by it); default hidden / 16, at least 1. */
  heads?: number;
  seed?: number;
  /** 'hidden': `last_hidden_state` + a head file; 'logits': the head is in the graph. */
  output?: 'hidden' | 'logits';
  kvCache?: boolean;
  /** Which PRM family's head to imitate (default 'math-shepherd'). */
  format?: FormatName;
  /** Learned position table size = the model's context (default 4096). */
  maxPositions?: number;
  /**
   * Element type of the model's output and KV cache (default 'float32'). 'float16' imitates
   * a half-precision export: the math stays float32 inside, casts at the edges.
   */
  dtype?: 'float32' | 'float16';
}

export interface TinyModel {
  model: string;
  tokenizer: string;
  /** head.safetensors, when output is 'hidden'. */
  head?: string;
  /** Tensor names inside `head` (weight, and bias when there is one). */
  headTensors?: { weight: string; bias?: string };
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
}

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

const HEAD_OUTPUTS: Record<FormatName, number | 'vocab'> = {
  'qwen2.5-math-prm': 2, // in-graph 2-class score head
  'math-shepherd': 'vocab', // LM head; '+'/'-' columns are picked at scoring time
  rlhflow: 'vocab',
  skywork: 1, // value head
};

export async function createTinyModel(options: TinyModelOptions): Promise<TinyModel> {
  if (options === null || typeof options !== 'object' || typeof options.dir !== 'string' || options.dir.length === 0)
    throw new TypeError('createTinyModel: options.dir must be a directory path');
  const layers = int(options.layers, 'layers', 1, 2);
  const hidden = int(options.hidden, 'hidden', 2, 32);
  const heads = int(options.heads, 'heads', 1, Math.max(1, Math.floor(hidden / 16)));
  if (hidden % heads !== 0) throw new RangeError(`createTinyModel: hidden (${hidden}) must be divisible by heads (${heads})`);
  const seed = int(options.seed, 'seed', 0, 1);
  const maxPositions = int(options.maxPositions, 'maxPositions', 8, 4096);
  const output = options.output ?? 'hidden';
  if (output !== 'hidden' && output !== 'logits') throw new RangeError(`createTinyModel: output must be 'hidden' or 'logits', got '${String(output)}'`);
  const format = options.format ?? 'math-shepherd';
  if (!(format in HEAD_OUTPUTS)) throw new RangeError(`createTinyModel: unknown format '${String(format)}'`);
  const kv = options.kvCache ?? false;
  const dtype = options.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'float16') throw new RangeError(`createTinyModel: dtype must be 'float32' or 'float16', got '${String(dtype)}'`);
  const half = dtype === 'float16';
  const hd = hidden / heads;
  const tok = tinyTokenizer(maxPositions);
  const V = tok.vocabSize;
  const rand = normals(seed);
  const scale = 1 / Math.sqrt(hidden);

  const g = new GraphBuilder();
  // float16 at the graph's edges: inputs widened on the way in, outputs narrowed on the way out
  const widen = (x: string) => (half ? g.op('Cast', [x], { to: 1 }) : x);
  const narrow = (x: string, name: string) => (half ? g.op('Cast', [x], { to: 10 }, name) : g.op('Identity', [x], {}, name));
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'total_sequence']);
  const pos = g.input('position_ids', 'int64', ['batch', 'sequence']);
  const past: Array<[string, string]> = [];
  if (kv)
    for (let i = 0; i < layers; i++)
      past.push([
        widen(g.input(`past_key_values.${i}.key`, dtype, ['batch', heads, 'past_sequence', hd])),
        widen(g.input(`past_key_values.${i}.value`, dtype, ['batch', heads, 'past_sequence', hd])),
      ]);

  // the additive attention bias [B, 1, T, K]: -1e9 on padding keys and on keys after the query
  const big = g.scalar('neg_big', -1e9);
  const one = g.scalar('one', 1);
  const zero = g.scalar('zero', 0);
  const i0 = g.ints('i0', [0]);
  const i1 = g.ints('i1', [1]);
  const axis0 = g.ints('axis0', [0]);
  const T = g.op('Squeeze', [g.op('Gather', [g.op('Shape', [ids]), i1], { axis: 0 }), axis0]);
  const K = g.op('Squeeze', [g.op('Gather', [g.op('Shape', [mask]), i1], { axis: 0 }), axis0]);
  const P = g.op('Sub', [K, T]);
  const step = g.op('Squeeze', [i1, axis0]);
  const start = g.op('Squeeze', [i0, axis0]);
  const qIdx = g.op('Unsqueeze', [g.op('Range', [P, K, step]), g.ints('ax_q', [1])]); // [T, 1]
  const kIdx = g.op('Unsqueeze', [g.op('Range', [start, K, step]), g.ints('ax_k', [0])]); // [1, K]
  const causalBias = g.op('Where', [g.op('Greater', [kIdx, qIdx]), big, zero]); // [T, K]
  const maskF = g.op('Cast', [mask], { to: 1 });
  const padBias = g.op('Mul', [g.op('Sub', [one, g.op('Unsqueeze', [maskF, g.ints('ax_m', [1, 2])])]), big]); // [B,1,1,K]
  const bias = g.op('Add', [padBias, causalBias]);

  const rmsNorm = (x: string, name: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(`${name}.eps`, 1e-6)])])]);
    const gain = new Float32Array(hidden).map((_, i) => 1 + 0.1 * Math.sin(i + seed));
    return g.op('Mul', [g.op('Mul', [x, inv]), g.floats(`${name}.weight`, [hidden], gain)]);
  };
  const linear = (x: string, name: string, inF: number, outF: number, std = scale): string =>
    g.op('MatMul', [x, g.floats(name, [inF, outF], rand(inF * outF, std))]);
  const splitHeads = g.ints('split_heads', [0, 0, heads, hd]);
  const mergeHeads = g.ints('merge_heads', [0, 0, hidden]);
  const toHeads = (x: string) => g.op('Transpose', [g.op('Reshape', [x, splitHeads])], { perm: [0, 2, 1, 3] });

  let x = g.op('Add', [
    g.op('Gather', [g.floats('embed_tokens.weight', [V, hidden], rand(V * hidden, 1)), ids], { axis: 0 }),
    g.op('Gather', [g.floats('embed_positions.weight', [maxPositions, hidden], rand(maxPositions * hidden, 0.5)), pos], { axis: 0 }),
  ]);
  const invSqrtHd = g.scalar('attn_scale', 1 / Math.sqrt(hd));
  for (let l = 0; l < layers; l++) {
    const p = `layers.${l}`;
    const h = rmsNorm(x, `${p}.input_layernorm`);
    const q = toHeads(linear(h, `${p}.q_proj.weight`, hidden, hidden));
    let k = toHeads(linear(h, `${p}.k_proj.weight`, hidden, hidden));
    let v = toHeads(linear(h, `${p}.v_proj.weight`, hidden, hidden));
    if (kv) {
      k = g.op('Concat', [past[l][0], k], { axis: 2 });
      v = g.op('Concat', [past[l][1], v], { axis: 2 });
      narrow(k, `present.${l}.key`);
      narrow(v, `present.${l}.value`);
    }
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), invSqrtHd]), bias]);
    const attn = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), v]);
    const merged = g.op('Reshape', [g.op('Transpose', [attn], { perm: [0, 2, 1, 3] }), mergeHeads]);
    x = g.op('Add', [x, linear(merged, `${p}.o_proj.weight`, hidden, hidden)]);
    const h2 = rmsNorm(x, `${p}.post_attention_layernorm`);
    const up = linear(h2, `${p}.up_proj.weight`, hidden, 4 * hidden);
    const act = g.op('Mul', [up, g.op('Sigmoid', [up])]);
    x = g.op('Add', [x, linear(act, `${p}.down_proj.weight`, 4 * hidden, hidden, 1 / Math.sqrt(4 * hidden))]);
  }
  const headK = HEAD_OUTPUTS[format] === 'vocab' ? V : (HEAD_OUTPUTS[format] as number);
  const result: TinyModel = { model: join(options.dir, 'model.onnx'), tokenizer: join(options.dir, 'tokenizer.json'), vocabSize: V, hidden, layers, heads, maxPositions };
  // head weights [K, H] (torch Linear layout); this std spreads boundary probabilities over (0, 1)
  const headW = rand(headK * hidden, 2 / Math.sqrt(hidden));
  const headB = rand(headK, 0.5);
  mkdirSync(options.dir, { recursive: true });
  const normed = rmsNorm(x, 'norm');
  if (output === 'hidden') {
    narrow(normed, 'last_hidden_state');
    g.output('last_hidden_state', ['batch', 'sequence', hidden], dtype);
    const names = headK === V ? { weight: 'lm_head.weight' } : headK === 1 ? { weight: 'v_head.summary.weight', bias: 'v_head.summary.bias' } : { weight: 'score.weight', bias: 'score.bias' };
    result.head = join(options.dir, 'head.safetensors');
    result.headTensors = names;
    writeSafetensors(result.head, {
      [names.weight]: { shape: [headK, hidden], data: headW },
      ...(names.bias ? { [names.bias]: { shape: [headK], data: headB } } : {}),
    });
  } else {
    const wT = new Float32Array(hidden * headK);
    for (let k = 0; k < headK; k++) for (let i = 0; i < hidden; i++) wT[i * headK + k] = headW[k * hidden + i];
    let logits = g.op('MatMul', [normed, g.floats('head.weight', [hidden, headK], wT)]);
    if (headK !== V) logits = g.op('Add', [logits, g.floats('head.bias', [headK], headB)]);
    narrow(logits, 'logits');
    g.output('logits', ['batch', 'sequence', headK], dtype);
  }
  for (let l = 0; l < layers && kv; l++) {
    g.output(`present.${l}.key`, ['batch', heads, 'total_sequence', hd], dtype);
    g.output(`present.${l}.value`, ['batch', heads, 'total_sequence', hd], dtype);
  }
  writeFileSync(result.model, g.encode('prmkit-tiny', 17));
  writeFileSync(result.tokenizer, JSON.stringify(tok.json));
  writeFileSync(join(options.dir, 'tokenizer_config.json'), JSON.stringify(tok.config, null, 1));
  return result;
}

