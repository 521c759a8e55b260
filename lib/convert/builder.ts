// The decoder graph, written straight from the checkpoint's tensors (no tracing), one small
// method per part: inputs, embedding, pre-norm blocks (RMSNorm, attention with rotary
// positions and the family's biases, SiLU-gated MLP), final norm, head, outputs. q/k/v and
// gate/up are packed into one projection each. Inputs and outputs carry Hugging Face decoder
// names, which is what prmkit's backbone feeds: input_ids, attention_mask, position_ids
// (+ past_key_values.N.*) in, logits or last_hidden_state (+ present.N.*) out.
//
//   input_ids ─ embed ─ x ─┬─ norm ─ qkv_proj ─ attention ─ o_proj ─┐
//                          └───────────────── + ◄──────────────────┘ ─┬─ norm ─ gate_up ─ SiLU·up ─ down ─┐
//                                                                     └──────────── + ◄─────────────────┘ ─ … ─ norm ─ head ─ logits
//
// Each residual add is fused with the norm that follows it when fusedNorms is on.
import { toHalf } from '../kernels/half.js';
import { createAttention } from './attention.js';
import type { AttentionKind } from './attention.js';
import type { Attention } from './attention-parts.js';
import type { DecoderSpec } from './config.js';
import type { HeadPlan } from './head-plan.js';
import { concatRows, Linears } from './linear.js';
import type { LinearOptions, LinearWeights } from './linear.js';
import { TYPE } from './onnx-writer.js';
import type { OnnxWriter } from './onnx-writer.js';
import type { Checkpoint } from '../model/safetensors.js';

export interface DecoderOptions extends LinearOptions {
  attention: AttentionKind;
  /** GroupQueryAttention in this many causal chunks per call (one row per call); default 1. */
  attentionChunks?: number;
  kvCache: boolean;
  /** onnxruntime's fused RMSNorm (+ residual) operators instead of primitive ops. */
  fusedNorms: boolean;
  /** LM label token ids, for an lm-labels head. */
  labelIds?: readonly number[];
  /**
   * What the graph ends with: 'logits' (the head in the graph; an LM head keeps only its
   * label rows unless `lmColumns` is 'vocab'), 'hidden' (`last_hidden_state`, the head
   * applied outside the graph), 'both' (logits, and the hidden states a trained head reads) or
   * 'token-logprobs' (an LM's log-probability of each next input token, `token_logprobs`
   * [batch, sequence, 1]: what an implicit PRM reads).
   */
  output?: 'logits' | 'hidden' | 'both' | 'token-logprobs';
  lmColumns?: 'labels' | 'vocab';
  /** Element type of the graph's float outputs and KV cache; the math stays float32 inside. */
  ioType?: 'float32' | 'float16';
  /** Called after each layer (progress). */
  onLayer?: (layer: number) => void;
}

/**
 * Every trunk tensor the builder reads, with the shape the config implies, so a plan can
 * check them all before anything is written.
 */
export function trunkTensors(spec: DecoderSpec): Array<[string, number[]]> {
  const { hidden: H, heads, kvHeads, headDim, intermediate: I } = spec;
  const out: Array<[string, number[]]> = [['model.embed_tokens.weight', [spec.vocab, H]], ['model.norm.weight', [H]]];
  for (let l = 0; l < spec.layers; l++) {
    const p = `model.layers.${l}`;
    out.push([`${p}.input_layernorm.weight`, [H]], [`${p}.post_attention_layernorm.weight`, [H]]);
    for (const [n, rows] of [['q_proj', heads * headDim], ['k_proj', kvHeads * headDim], ['v_proj', kvHeads * headDim]] as const) {
      out.push([`${p}.self_attn.${n}.weight`, [rows, H]]);
      if (spec.qkvBias) out.push([`${p}.self_attn.${n}.bias`, [rows]]);
    }
    out.push([`${p}.self_attn.o_proj.weight`, [H, heads * headDim]]);
    if (spec.oBias) out.push([`${p}.self_attn.o_proj.bias`, [H]]);
    out.push([`${p}.mlp.gate_proj.weight`, [I, H]], [`${p}.mlp.up_proj.weight`, [I, H]], [`${p}.mlp.down_proj.weight`, [H, I]]);
    if (spec.mlpBias) out.push([`${p}.mlp.gate_proj.bias`, [I]], [`${p}.mlp.up_proj.bias`, [I]], [`${p}.mlp.down_proj.bias`, [H]]);
  }
  return out;
}

export class DecoderBuilder {
  private readonly linears: Linears;
  private readonly attention: Attention;
  private readonly ioType: 'float32' | 'float16';

  constructor(
    private readonly g: OnnxWriter,
    private readonly spec: DecoderSpec,
    private readonly ck: Checkpoint,
    private readonly head: HeadPlan,
    private readonly o: DecoderOptions,
  ) {
    this.linears = new Linears(g, o);
    this.ioType = o.ioType ?? 'float32';
    this.attention = createAttention(o.attention, g, spec, o.kvCache ? this.ioType : undefined, o.attentionChunks);
  }

  /** Writes the whole graph; returns the width of its float output (classes or vocabulary; the hidden size for 'hidden' alone). */
  build(): { outputs: number } {
    const { ids, mask } = this.inputs();
    const run = this.attention.prepare({ ids, mask }) ?? ids;
    this.linears.useRowsOf(run);
    let x = this.embed(run);
    let h = this.norm(x, 'model.layers.0.input_layernorm', '/model/layers.0/input_layernorm');
    for (let l = 0; l < this.spec.layers; l++) {
      [h, x] = this.layer(l, h, x);
      this.o.onLayer?.(l);
    }
    if (this.attention.trim) h = this.attention.trim(h);
    const out = this.o.output ?? 'logits';
    let outputs: number;
    if (out === 'token-logprobs') outputs = this.tokenLogProbs(h, ids);
    else {
      const width = out === 'logits' ? 0 : this.hidden(h);
      outputs = out === 'hidden' ? width : this.logits(h);
    }
    this.attention.outputs();
    return { outputs };
  }

  private inputs(): { ids: string; mask: string } {
    const ids = this.g.input('input_ids', 'int64', ['batch', 'sequence']);
    const mask = this.g.input('attention_mask', 'int64', ['batch', 'total_sequence']);
    this.attention.inputs();
    return { ids, mask };
  }

  private embed(ids: string): string {
    const { g, spec, o } = this;
    const name = 'model.embed_tokens.weight';
    const p = '/model/embed_tokens';
    const dims = [spec.vocab, spec.hidden];
    if (o.dtype === 'float32') return g.op(`${p}/Gather`, 'Gather', [g.streamed(name, 'float32', dims, spec.vocab * spec.hidden * 4, this.embeddingRows(name, false)), ids], { axis: 0 });
    const half = g.streamed(`${name}_f16`, 'float16', dims, spec.vocab * spec.hidden * 2, this.embeddingRows(name, true));
    return g.op(`${p}/Cast`, 'Cast', [g.op(`${p}/Gather`, 'Gather', [half, ids], { axis: 0 })], { to: TYPE.float32 });
  }

  /** The embedding, 8192 rows at a time (a 7B model's is 2 GB of float32), as float16 or float32. */
  private *embeddingRows(name: string, half: boolean): Generator<Uint16Array | Float32Array> {
    const { vocab, hidden } = this.spec;
    const [rows, width] = this.ck.info(name).shape;
    if (rows !== vocab || width !== hidden) throw new RangeError(`tensor '${name}' has shape [${rows}, ${width}], the config implies [${vocab}, ${hidden}]`);
    for (let r = 0; r < vocab; r += 8192) {
      const rowsF32 = this.ck.readRows(name, r, Math.min(8192, vocab - r));
      yield half ? toHalf(rowsF32, 'float16') : rowsF32;
    }
  }

  /** One block: [normed input, residual stream] → the same for the next block. */
  private layer(l: number, h: string, x: string): [string, string] {
    const p = `/model/layers.${l}`;
    const t = `model.layers.${l}`;
    const attn = this.attentionBlock(l, h);
    const [h2, x2] = this.addNorm(x, attn, `${t}.post_attention_layernorm`, `${p}/post_attention_layernorm`);
    const mlp = this.mlp(l, h2);
    const next = l + 1 < this.spec.layers ? [`model.layers.${l + 1}.input_layernorm`, `/model/layers.${l + 1}/input_layernorm`] : ['model.norm', '/model/norm'];
    return this.addNorm(x2, mlp, next[0], next[1]);
  }

  private attentionBlock(l: number, h: string): string {
    const { spec } = this;
    const { hidden: H, heads, kvHeads, headDim } = spec;
    const t = `model.layers.${l}.self_attn`;
    const p = `/model/layers.${l}/attn`;
    const sizes = [heads * headDim, kvHeads * headDim, kvHeads * headDim];
    const names = ['q_proj', 'k_proj', 'v_proj'];
    const qkv = this.linears.project(h, `${p}/qkv_proj`, {
      weight: concatRows(names.map((n, i) => this.ck.read(`${t}.${n}.weight`, [sizes[i], H]))),
      N: sizes[0] + sizes[1] + sizes[2],
      K: H,
      ...(spec.qkvBias ? { bias: concatRows(names.map((n, i) => this.ck.read(`${t}.${n}.bias`, [sizes[i]]))) } : {}),
    }, { layer: l, role: 'qkv' });
    const merged = this.attention.layer(l, qkv);
    return this.linears.project(merged, `${p}/o_proj`, {
      weight: this.ck.read(`${t}.o_proj.weight`, [H, heads * headDim]),
      N: H,
      K: heads * headDim,
      ...(spec.oBias ? { bias: this.ck.read(`${t}.o_proj.bias`, [H]) } : {}),
    }, { layer: l, role: 'o' });
  }

  /**
   * down(SiLU(gate(h)) · up(h)): gate and up in one projection, or in two where they are
   * integer GEMMs (they share the quantized input, and no Split copies the product apart).
   */
  private mlp(l: number, h: string): string {
    const { g, spec } = this;
    const { hidden: H, intermediate: I } = spec;
    const t = `model.layers.${l}.mlp`;
    const p = `/model/layers.${l}/mlp`;
    let gate: string;
    let up: string;
    if (this.linears.integerAt({ layer: l, role: 'gate_up' })) {
      [gate, up] = (['gate', 'up'] as const).map((n) => this.linears.project(h, `${p}/${n}_proj`, {
        weight: this.ck.read(`${t}.${n}_proj.weight`, [I, H]),
        N: I,
        K: H,
        ...(spec.mlpBias ? { bias: this.ck.read(`${t}.${n}_proj.bias`, [I]) } : {}),
      }, { layer: l, role: 'gate_up' }));
    } else {
      const gateUp = this.linears.project(h, `${p}/gate_up_proj`, {
        weight: concatRows([this.ck.read(`${t}.gate_proj.weight`, [I, H]), this.ck.read(`${t}.up_proj.weight`, [I, H])]),
        N: 2 * I,
        K: H,
        ...(spec.mlpBias ? { bias: concatRows([this.ck.read(`${t}.gate_proj.bias`, [I]), this.ck.read(`${t}.up_proj.bias`, [I])]) } : {}),
      }, { layer: l, role: 'gate_up' });
      [gate, up] = g.node(`${p}/Split`, 'Split', [gateUp, g.ints([I, I])], { axis: -1 }, { outputs: 2 });
    }
    const silu = g.op(`${p}/act/Mul`, 'Mul', [gate, g.op(`${p}/act/Sigmoid`, 'Sigmoid', [gate])]);
    return this.linears.project(g.op(`${p}/Mul`, 'Mul', [silu, up]), `${p}/down_proj`, {
      weight: this.ck.read(`${t}.down_proj.weight`, [H, I]),
      N: H,
      K: I,
      ...(spec.mlpBias ? { bias: this.ck.read(`${t}.down_proj.bias`, [H]) } : {}),
    }, { layer: l, role: 'down' });
  }

  /** Tensors the graph holds as the checkpoint does keep the checkpoint's names; packed or transposed ones are named by their path. */
  private normWeight(tensor: string): string {
    return this.g.floats(`${tensor}.weight`, [this.spec.hidden], this.ck.read(`${tensor}.weight`, [this.spec.hidden]));
  }

  /** RMSNorm: x / sqrt(mean(x²) + eps) · weight. */
  private norm(x: string, tensor: string, path: string): string {
    const { g, spec, o } = this;
    const weight = this.normWeight(tensor);
    if (o.fusedNorms)
      return g.op(`${path}/SimplifiedLayerNormalization`, 'SimplifiedLayerNormalization', [x, weight], { axis: -1, epsilon: { float: spec.eps }, stash_type: 1 });
    const ms = g.op(`${path}/ReduceMean`, 'ReduceMean', [g.op(`${path}/Square`, 'Mul', [x, x])], { axes: [-1], keepdims: 1 });
    const inv = g.op(`${path}/Reciprocal`, 'Reciprocal', [g.op(`${path}/Sqrt`, 'Sqrt', [g.op(`${path}/Add`, 'Add', [ms, g.scalar('float32', spec.eps)])])]);
    return g.op(`${path}/Mul_weight`, 'Mul', [weight, g.op(`${path}/Mul`, 'Mul', [x, inv])]);
  }

  /** residual + delta, then normed: [normed, sum]. */
  private addNorm(residual: string, delta: string, tensor: string, path: string): [string, string] {
    const { g, spec, o } = this;
    if (o.fusedNorms) {
      const [normed, , , sum] = g.node(`${path}/SkipSimplifiedLayerNormalization`, 'SkipSimplifiedLayerNormalization', [residual, delta, this.normWeight(tensor)], { epsilon: { float: spec.eps } }, { outputs: 4, domain: 'com.microsoft' });
      return [normed, sum];
    }
    const sum = g.op(`${path}/residual/Add`, 'Add', [residual, delta]);
    return [this.norm(sum, tensor, path), sum];
  }

  /** A float output of the graph, in its edge type. */
  private emit(x: string, name: string, dims: readonly (string | number)[]): void {
    const { g } = this;
    if (this.ioType === 'float16') g.op(`/model/outputs/${name}/Cast`, 'Cast', [x], { to: TYPE.float16 }, name);
    else g.op(`/model/outputs/${name}/Identity`, 'Identity', [x], {}, name);
    g.output(name, dims, this.ioType);
  }

  private hidden(h: string): number {
    this.emit(h, 'last_hidden_state', ['batch', 'sequence', this.spec.hidden]);
    return this.spec.hidden;
  }

  /**
   * log softmax(lm_head(h_t))[ids_{t+1}] at every position (the last one reads id 0 and means
   * nothing): the whole vocabulary's logits exist inside onnxruntime only, the graph's output
   * is one float per token.
   */
  private tokenLogProbs(h: string, ids: string): number {
    const { g, head } = this;
    if (head.kind !== 'lm-labels') throw new RangeError(`token log-probabilities read an LM head; this checkpoint has a ${head.kind} head`);
    const logits = this.headLinear(h, head.tensors[0].replace(/\.weight$/, '')).y;
    const p = '/head/token_logprobs';
    const next = g.op(`${p}/next/Slice`, 'Slice', [ids, g.ints([1]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])]);
    const pad = g.op(`${p}/pad/Mul`, 'Mul', [g.op(`${p}/pad/Slice`, 'Slice', [ids, g.ints([0]), g.ints([1]), g.ints([1])]), g.scalar('int64', 0)]);
    const targets = g.op(`${p}/Unsqueeze`, 'Unsqueeze', [g.op(`${p}/next/Concat`, 'Concat', [next, pad], { axis: 1 }), g.ints([-1])]);
    const picked = g.op(`${p}/GatherElements`, 'GatherElements', [logits, targets], { axis: -1 });
    const lse = g.op(`${p}/ReduceLogSumExp`, 'ReduceLogSumExp', [logits], { axes: [-1], keepdims: 1 });
    this.emit(g.op(`${p}/Sub`, 'Sub', [picked, lse]), 'token_logprobs', ['batch', 'sequence', 1]);
    return 1;
  }

  /** The head's linear layer from its checkpoint tensor (bias when the checkpoint has one); float32 always. */
  private headLinear(x: string, tensor: string, rows?: readonly number[]): { y: string; N: number } {
    const { ck, spec } = this;
    const [N, K] = ck.info(`${tensor}.weight`).shape;
    if (K !== spec.hidden) throw new RangeError(`tensor '${tensor}.weight' has ${K} input features, the config's hidden_size is ${spec.hidden}`);
    const w: LinearWeights = rows
      ? { weight: concatRows(rows.map((id) => ck.readRows(`${tensor}.weight`, id, 1))), N: rows.length, K }
      : { weight: ck.read(`${tensor}.weight`), N, K, ...(ck.has(`${tensor}.bias`) ? { bias: ck.read(`${tensor}.bias`, [N]) } : {}) };
    return { y: this.linears.project(x, `/head/${tensor}`, w), N: w.N };
  }

  private logits(h: string): number {
    const { head, o, g } = this;
    let out: { y: string; N: number };
    if (head.kind === 'prm-mlp') {
      const first = this.headLinear(h, 'score.0');
      out = this.headLinear(g.op('/head/Relu', 'Relu', [first.y]), 'score.2');
    } else if (head.kind === 'value-head' || head.kind === 'token-classification') {
      out = this.headLinear(h, head.tensors[0].replace(/\.weight$/, ''));
    } else {
      const tensor = head.tensors[0].replace(/\.weight$/, '');
      if (o.lmColumns === 'vocab') out = this.headLinear(h, tensor);
      else {
        const labels = o.labelIds;
        if (!labels || labels.length === 0) throw new RangeError('an LM head needs the label token ids of the format');
        const rows = this.ck.info(head.tensors[0]).shape[0];
        for (const id of labels)
          if (!(id >= 0 && id < rows)) throw new RangeError(`label token id ${id} is outside ${head.tensors[0]} (${rows} rows): is the tokenizer the model's?`);
        out = this.headLinear(h, tensor, labels);
      }
    }
    this.emit(out.y, 'logits', ['batch', 'sequence', out.N]);
    return out.N;
  }
}
