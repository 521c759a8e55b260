// The decoder graph, written straight from the checkpoint's tensors (no tracing): embedding,
// pre-norm blocks (RMSNorm, GQA attention with rotary positions and q/k/v biases where the
// family has them, SiLU-gated MLP), final norm, the PRM head. q/k/v and gate/up are fused
// into one matmul each. Inputs and outputs carry Hugging Face decoder names, which is what
// prmkit's backbone feeds: input_ids, attention_mask, position_ids (+ past_key_values.N.*),
// logits (+ present.N.*).
import { toHalf } from '../kernels/half.js';
import type { DecoderSpec } from './config.js';
import type { HeadPlan } from './heads.js';
import type { OnnxWriter } from './onnx-writer.js';
import { quantizeBlockwise } from './quantize.js';
import { inverseFrequencies } from './rope.js';
import type { Checkpoint } from '../model/safetensors.js';

export type ConvertDtype = 'float32' | 'float16' | 'int8' | 'int4';

export interface GraphOptions {
  dtype: ConvertDtype;
  kvCache: boolean;
  /** Use onnxruntime's fused RMSNorm (+ residual) operators instead of primitive ops. */
  fusedNorms: boolean;
  /** Block size of int8/int4 weights along the input features. */
  block: number;
  /** onnxruntime MatMulNBits accuracy_level (4: int8 activations, fastest on CPU). */
  accuracyLevel: number;
  /** Positions the rotary table covers (the model's context). */
  contextLength: number;
  /** LM label token ids, for an lm-labels head. */
  labelIds?: readonly number[];
  /**
   * 'gqa': onnxruntime's fused GroupQueryAttention with rotary positions inside (right
   * padding, positions 0..n-1 per row: what plain scoring sends); 'plain': primitive ops,
   * any mask and positions (what a KV-cache session needs).
   */
  attention: 'gqa' | 'plain';
  /** Called after each layer (progress). */
  onLayer?: (layer: number) => void;
}

function transpose(w: Float32Array, N: number, K: number): Float32Array {
  const t = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) t[k * N + n] = w[n * K + k];
  return t;
}

function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export function buildDecoder(g: OnnxWriter, spec: DecoderSpec, ck: Checkpoint, head: HeadPlan, o: GraphOptions): { outputs: number } {
  const { hidden: H, heads: nH, kvHeads: kvH, headDim: hd } = spec;
  const group = nH / kvH;
  const i64 = (name: string, v: number[]) => g.ints(name, v);

  /** x @ W^T (+ b) for a torch Linear weight W [N, K], in the chosen weight dtype. */
  const linear = (x: string, name: string, w: Float32Array, N: number, K: number, bias?: Float32Array, keepFloat = false): string => {
    let y: string;
    const quant = (o.dtype === 'int8' || o.dtype === 'int4') && !keepFloat && K % o.block === 0;
    if (quant) {
      const q = quantizeBlockwise(w, N, K, o.dtype === 'int8' ? 8 : 4, o.block);
      const blocks = K / o.block;
      const codes = g.tensor(`${name}.qweight`, 'uint8', [N, blocks, (o.block * q.bits) / 8], q.codes);
      const scales = g.floats(`${name}.scales`, [N * blocks], q.scales);
      y = g.op('MatMulNBits', [x, codes, scales], { K, N, bits: q.bits, block_size: o.block, accuracy_level: o.accuracyLevel }, undefined, 'com.microsoft');
    } else if ((o.dtype === 'float16' || o.dtype === 'int8' || o.dtype === 'int4') && !keepFloat) {
      // half-precision storage; onnxruntime folds the Cast at load and computes in float32 on CPU
      const wt = g.tensor(`${name}.weight_f16`, 'float16', [K, N], toHalf(transpose(w, N, K), 'float16'));
      y = g.op('MatMul', [x, g.op('Cast', [wt], { to: 1 })]);
    } else {
      y = g.op('MatMul', [x, g.floats(`${name}.weight_t`, [K, N], transpose(w, N, K))]);
    }
    return bias ? g.op('Add', [y, g.floats(`${name}.bias`, [N], bias)]) : y;
  };
  const vec = (name: string, n: number) => ck.read(name, [n]);

  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'total_sequence']);
  const gqa = o.attention === 'gqa';
  if (gqa && o.kvCache) throw new RangeError('GroupQueryAttention graphs have no KV-cache inputs here; use plain attention with kvCache');
  const pos = gqa ? '' : g.input('position_ids', 'int64', ['batch', 'sequence']);
  const past: Array<[string, string]> = [];
  if (o.kvCache)
    for (let l = 0; l < spec.layers; l++)
      past.push([
        g.input(`past_key_values.${l}.key`, 'float32', ['batch', kvH, 'past_sequence', hd]),
        g.input(`past_key_values.${l}.value`, 'float32', ['batch', kvH, 'past_sequence', hd]),
      ]);

  // fused attention: per-row key counts (right padding) and a cos/sin table by position
  let seqlensK = '';
  let totalLen = '';
  let cosCache = '';
  let sinCache = '';
  if (gqa) {
    const lens = g.op('ReduceSum', [mask, i64('ax_len', [1])], { keepdims: 0 });
    seqlensK = g.op('Cast', [g.op('Sub', [lens, i64('one_i', [1])])], { to: 6 });
    totalLen = g.op('Cast', [g.op('Squeeze', [g.op('Gather', [g.op('Shape', [mask]), i64('i1', [1])], { axis: 0 }), i64('axis0', [0])])], { to: 6 });
    const invF = inverseFrequencies(spec.rope, hd);
    const n = o.contextLength;
    const c = new Float32Array(n * (hd / 2));
    const sn = new Float32Array(n * (hd / 2));
    for (let p = 0; p < n; p++)
      for (let i = 0; i < hd / 2; i++) {
        const a = Math.fround(p * invF[i]);
        c[p * (hd / 2) + i] = Math.cos(a);
        sn[p * (hd / 2) + i] = Math.sin(a);
      }
    cosCache = g.floats('rope.cos_cache', [n, hd / 2], c);
    sinCache = g.floats('rope.sin_cache', [n, hd / 2], sn);
  }

  // additive attention bias [B, 1, T, P+T]: padding keys, and keys after the query's slot;
  // rotary angles [B, 1, T, hd] for every position, shared by all layers
  let bias = '';
  let rotary = (x: string): string => x;
  if (!gqa) {
    const negBig = g.scalar('neg_big', -3.4028234663852886e38);
    const zero = g.scalar('zero', 0);
    const axis0 = i64('axis0', [0]);
    const i1 = i64('i1', [1]);
    const T = g.op('Squeeze', [g.op('Gather', [g.op('Shape', [ids]), i1], { axis: 0 }), axis0]);
    const S = g.op('Squeeze', [g.op('Gather', [g.op('Shape', [mask]), i1], { axis: 0 }), axis0]);
    const P = g.op('Sub', [S, T]);
    const one64 = g.op('Squeeze', [i1, axis0]);
    const zero64 = g.op('Squeeze', [i64('i0', [0]), axis0]);
    const qSlot = g.op('Unsqueeze', [g.op('Range', [P, S, one64]), i64('ax_q', [1])]);
    const kSlot = g.op('Unsqueeze', [g.op('Range', [zero64, S, one64]), i64('ax_k', [0])]);
    const causal = g.op('Where', [g.op('Greater', [kSlot, qSlot]), negBig, zero]);
    const keyOff = g.op('Equal', [g.op('Unsqueeze', [mask, i64('ax_m', [1, 2])]), i64('zero_i', [0])]);
    bias = g.op('Where', [keyOff, negBig, g.op('Unsqueeze', [causal, i64('ax_c', [0, 1])])]);

    // rotary angles for every position, shared by all layers: [B, 1, T, hd]
    const inv = inverseFrequencies(spec.rope, hd);
    const freqs = g.op('Mul', [g.op('Unsqueeze', [g.op('Cast', [pos], { to: 1 }), i64('ax_f', [-1])]), g.floats('rope.inv_freq', [hd / 2], inv)]);
    const angles = g.op('Unsqueeze', [g.op('Concat', [freqs, freqs], { axis: -1 }), i64('ax_r', [1])]);
    const cos = g.op('Cos', [angles]);
    const sin = g.op('Sin', [angles]);
    const halves = i64('rope.halves', [hd / 2, hd / 2]);
    rotary = (x: string): string => {
      const [x1, x2] = g.opN('Split', [x, halves], 2, { axis: -1 });
      const rotated = g.op('Concat', [g.op('Neg', [x2]), x1], { axis: -1 });
      return g.op('Add', [g.op('Mul', [x, cos]), g.op('Mul', [rotated, sin])]);
    };
  }

  const normWeight = (name: string) => g.floats(name, [H], vec(name, H));
  const eps = { float: spec.eps };
  const rmsPlain = (x: string, name: string): string => {
    const ms = g.op('ReduceMean', [g.op('Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op('Reciprocal', [g.op('Sqrt', [g.op('Add', [ms, g.scalar(`${name}.eps`, spec.eps)])])]);
    return g.op('Mul', [normWeight(name), g.op('Mul', [x, inv])]);
  };
  const rms = (x: string, name: string): string =>
    o.fusedNorms ? g.op('SimplifiedLayerNormalization', [x, normWeight(name)], { axis: -1, epsilon: eps, stash_type: 1 }) : rmsPlain(x, name);
  /** residual + delta, normed: [normed, sum]. */
  const addNorm = (residual: string, delta: string, name: string): [string, string] => {
    if (o.fusedNorms) {
      const [normed, , , sum] = g.opN('SkipSimplifiedLayerNormalization', [residual, delta, normWeight(name)], 4, { epsilon: eps }, undefined, 'com.microsoft');
      return [normed, sum];
    }
    const sum = g.op('Add', [residual, delta]);
    return [rmsPlain(sum, name), sum];
  };

  const embedName = 'model.embed_tokens.weight';
  const embed = ck.read(embedName, [spec.vocab, H]);
  let x: string;
  if (o.dtype === 'float32') x = g.op('Gather', [g.floats('embed_tokens', [spec.vocab, H], embed), ids], { axis: 0 });
  else x = g.op('Cast', [g.op('Gather', [g.tensor('embed_tokens_f16', 'float16', [spec.vocab, H], toHalf(embed, 'float16')), ids], { axis: 0 })], { to: 1 });

  const toHeads = (t: string, n: number) => g.op('Transpose', [g.op('Reshape', [t, i64(`heads_${n}`, [0, 0, n, hd])])], { perm: [0, 2, 1, 3] });
  const guSplit = i64('gu_split', [spec.intermediate, spec.intermediate]);
  /** Plain attention over [B, heads, T, hd]; k/v heads are repeated for their query group. */
  const plainAttention = (qkv: string, l: number): string => {
    const [qf, kf, vf] = g.opN('Split', [qkv, i64('qkv_split', [nH * hd, kvH * hd, kvH * hd])], 3, { axis: -1 });
    const q = rotary(toHeads(qf, nH));
    let k = rotary(toHeads(kf, kvH));
    let v = toHeads(vf, kvH);
    if (o.kvCache) {
      k = g.op('Concat', [past[l][0], k], { axis: 2 }, `present.${l}.key`);
      v = g.op('Concat', [past[l][1], v], { axis: 2 }, `present.${l}.value`);
    }
    const repeat = (t: string) =>
      group > 1 ? g.op('Reshape', [g.op('Expand', [g.op('Unsqueeze', [t, i64('ax_kv', [2])]), i64('kv_expand', [1, 1, group, 1, 1])]), i64('kv_merge', [0, nH, -1, hd])]) : t;
    const qs = g.op('Mul', [q, g.scalar('attn_scale', 1 / Math.sqrt(hd))]);
    const scores = g.op('Add', [g.op('MatMul', [qs, g.op('Transpose', [repeat(k)], { perm: [0, 1, 3, 2] })]), bias]);
    const ctx = g.op('MatMul', [g.op('Softmax', [scores], { axis: -1 }), repeat(v)]);
    return g.op('Reshape', [g.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), i64('merge_heads', [0, 0, nH * hd])]);
  };

  let h = rms(x, 'model.layers.0.input_layernorm.weight');
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const qkvW = concatRows([ck.read(`${a}.q_proj.weight`, [nH * hd, H]), ck.read(`${a}.k_proj.weight`, [kvH * hd, H]), ck.read(`${a}.v_proj.weight`, [kvH * hd, H])]);
    const qkvB = spec.qkvBias ? concatRows([vec(`${a}.q_proj.bias`, nH * hd), vec(`${a}.k_proj.bias`, kvH * hd), vec(`${a}.v_proj.bias`, kvH * hd)]) : undefined;
    const qkv = linear(h, `${a}.qkv_proj`, qkvW, (nH + 2 * kvH) * hd, H, qkvB);
    const oB = spec.oBias ? vec(`${a}.o_proj.bias`, H) : undefined;
    const oW = ck.read(`${a}.o_proj.weight`, [H, nH * hd]);
    const merged = gqa
      ? g.opN('GroupQueryAttention', [qkv, '', '', '', '', seqlensK, totalLen, cosCache, sinCache], 1,
          { num_heads: nH, kv_num_heads: kvH, do_rotary: 1, scale: { float: 1 / Math.sqrt(hd) } }, undefined, 'com.microsoft')[0]
      : plainAttention(qkv, l);
    const attnOut = linear(merged, `${a}.o_proj`, oW, H, nH * hd, oB);
    const [h2, x2] = addNorm(x, attnOut, `${p}.post_attention_layernorm.weight`);
    const m = `${p}.mlp`;
    const I = spec.intermediate;
    const guW = concatRows([ck.read(`${m}.gate_proj.weight`, [I, H]), ck.read(`${m}.up_proj.weight`, [I, H])]);
    const guB = spec.mlpBias ? concatRows([vec(`${m}.gate_proj.bias`, I), vec(`${m}.up_proj.bias`, I)]) : undefined;
    const [gate, up] = g.opN('Split', [linear(h2, `${m}.gate_up_proj`, guW, 2 * I, H, guB), guSplit], 2, { axis: -1 });
    const act = g.op('Mul', [g.op('Mul', [gate, g.op('Sigmoid', [gate])]), up]);
    const dB = spec.mlpBias ? vec(`${m}.down_proj.bias`, H) : undefined;
    const down = linear(act, `${m}.down_proj`, ck.read(`${m}.down_proj.weight`, [H, I]), H, I, dB);
    const nextNorm = l + 1 < spec.layers ? `model.layers.${l + 1}.input_layernorm.weight` : 'model.norm.weight';
    [h, x] = addNorm(x2, down, nextNorm);
    o.onLayer?.(l);
  }

  // the head, always float32: it is small and its error would land on every score
  let logits: string;
  let K = head.outputs;
  const headLinear = (src: string, name: string, bias: boolean) => {
    const info = ck.info(name);
    const [N, Kin] = info.shape;
    return { y: linear(src, name.replace(/\.weight$/, ''), ck.read(name), N, Kin, bias ? ck.read(name.replace(/weight$/, 'bias')) : undefined, true), N };
  };
  if (head.kind === 'prm-mlp') {
    const first = headLinear(h, 'score.0.weight', ck.has('score.0.bias'));
    const second = headLinear(g.op('Relu', [first.y]), 'score.2.weight', ck.has('score.2.bias'));
    logits = second.y;
    K = second.N;
  } else if (head.kind === 'value-head' || head.kind === 'token-classification') {
    const name = head.tensors[0];
    const r = headLinear(h, name, head.tensors.includes(name.replace(/weight$/, 'bias')));
    logits = r.y;
    K = r.N;
  } else {
    const labels = o.labelIds;
    if (!labels || labels.length === 0) throw new RangeError('an LM head needs the label token ids of the format');
    const name = head.tensors[0];
    const rows = ck.info(name).shape[0];
    const parts = labels.map((id) => {
      if (id >= rows) throw new RangeError(`label token id ${id} is outside ${name} (${rows} rows): is the tokenizer the model's?`);
      return ck.readRows(name, id, 1);
    });
    logits = linear(h, 'lm_head.labels', concatRows(parts), labels.length, H, undefined, true);
    K = labels.length;
  }
  g.op('Identity', [logits], {}, 'logits');
  g.output('logits', ['batch', 'sequence', K]);
  for (let l = 0; l < spec.layers && o.kvCache; l++) {
    g.output(`present.${l}.key`, ['batch', kvH, 'total_sequence', hd]);
    g.output(`present.${l}.value`, ['batch', kvH, 'total_sequence', hd]);
  }
  return { outputs: K };
}
