// Attention, chosen once per graph: an object that declares the inputs it reads, builds what
// its layers share (mask, rotary angles), turns one layer's packed q/k/v into the merged
// heads, and declares the outputs it writes (the contract and what the kinds share:
// attention-parts.ts). The kinds:
// - GroupQueryAttention: onnxruntime's fused operator, rotary positions inside; reads
//   right-padded rows with positions 0..n-1 (what plain scoring sends).
// - plain: primitive operators; any mask and positions, past keys/values for rows of any
//   prefix lengths in one call (KV-cache graphs whose shape GroupQueryAttention refuses).
// - GroupQueryAttention with past keys/values (attention-kv.ts): KV-cache graphs where the
//   operator runs; one row per call, positions from the mask's length.
import type { AttentionKind } from '../model/manifest.js';
import { ChunkedGroupQueryAttention } from './attention-chunked.js';
import { KvGroupQueryAttention } from './attention-kv.js';
import { gqaAttributes, pastInputs, rotaryTables } from './attention-parts.js';
import type { Attention, AttentionInputs } from './attention-parts.js';
import type { DecoderSpec } from './config.js';
import { TYPE } from './onnx-writer.js';
import type { OnnxWriter } from './onnx-writer.js';
import { inverseFrequencies } from './rope.js';

export type { AttentionKind } from '../model/manifest.js';

/**
 * Why GroupQueryAttention cannot run for this model (undefined: it can). onnxruntime's
 * operator checks these at session load or first run, so a graph that breaks one never loads:
 * head size a multiple of 8, and of 16 with rotary positions inside (its rotary kernel works
 * on halves of 8 lanes); kv heads dividing the heads. With past keys/values it takes one
 * row per multi-token call, which prmkit's KV cache then does.
 */
export function gqaBlocker(spec: DecoderSpec): string | undefined {
  if (spec.headDim % 16 !== 0)
    return `onnxruntime's GroupQueryAttention with rotary positions needs a head size that is a multiple of 16; this model's is ${spec.headDim}`;
  if (spec.heads % spec.kvHeads !== 0) return `GroupQueryAttention needs num_key_value_heads (${spec.kvHeads}) to divide num_attention_heads (${spec.heads})`;
  return undefined;
}

/** The attention a conversion writes: GroupQueryAttention where it runs, plain otherwise; a forced choice that cannot run is refused. */
export function chooseAttention(spec: DecoderSpec, kvCache: boolean, requested?: AttentionKind): { kind: AttentionKind; why: string } {
  const blocker = gqaBlocker(spec);
  if (requested === 'gqa' && blocker) throw new RangeError(`attention 'gqa' cannot run for this model: ${blocker}; use attention 'plain' (--attention plain)`);
  if (requested) return { kind: requested, why: 'requested' };
  if (blocker) return { kind: 'plain', why: blocker };
  return { kind: 'gqa', why: kvCache ? 'GroupQueryAttention with past keys/values runs for this shape (one row per call)' : 'GroupQueryAttention runs for this shape (right-padded rows)' };
}

/**
 * `kvType`: element type of past/present keys and values at the graph's edge (undefined: no KV
 * cache); `chunks` > 1: GroupQueryAttention in that many causal chunks (one row per call),
 * with or without past keys/values.
 */
export function createAttention(kind: AttentionKind, g: OnnxWriter, spec: DecoderSpec, kvType?: 'float32' | 'float16', chunks = 1): Attention {
  if (kind === 'gqa') {
    if (kvType) return new KvGroupQueryAttention(g, spec, kvType, chunks);
    return chunks > 1 ? new ChunkedGroupQueryAttention(g, spec, chunks) : new GroupQueryAttention(g, spec);
  }
  return new PlainAttention(g, spec, kvType);
}

/** Second dimension of a tensor, as an int64 scalar. */
function dim1(g: OnnxWriter, path: string, x: string): string {
  const shape = g.op(`${path}/Shape`, 'Shape', [x]);
  return g.op(`${path}/Squeeze`, 'Squeeze', [g.op(`${path}/Gather`, 'Gather', [shape, g.ints([1])], { axis: 0 }), g.ints([0])]);
}

class GroupQueryAttention implements Attention {
  readonly kind = 'gqa';
  private seqlensK = '';
  private totalLen = '';
  private cos = '';
  private sin = '';

  constructor(
    private readonly g: OnnxWriter,
    private readonly spec: DecoderSpec,
  ) {}

  inputs(): void {}

  prepare({ mask }: AttentionInputs): void {
    const g = this.g;
    const p = '/model/attn_mask';
    // right padding: each row's last real key, and the padded width
    const lens = g.op(`${p}/ReduceSum`, 'ReduceSum', [mask, g.ints([1])], { keepdims: 0 });
    this.seqlensK = g.op(`${p}/seqlens_k/Cast`, 'Cast', [g.op(`${p}/seqlens_k/Sub`, 'Sub', [lens, g.scalar('int64', 1)])], { to: TYPE.int32 });
    const total = dim1(g, `${p}/total_seq_len`, mask);
    this.totalLen = g.op(`${p}/total_seq_len/Cast`, 'Cast', [total], { to: TYPE.int32 });
    ({ cos: this.cos, sin: this.sin } = rotaryTables(g, this.spec, total));
  }

  layer(l: number, qkv: string): string {
    const { g, spec } = this;
    return g.op(
      `/model/layers.${l}/attn/GroupQueryAttention`, 'GroupQueryAttention',
      [qkv, '', '', '', '', this.seqlensK, this.totalLen, this.cos, this.sin],
      gqaAttributes(spec), undefined, 'com.microsoft',
    );
  }

  outputs(): void {}
}

class PlainAttention implements Attention {
  readonly kind = 'plain';
  private positions = '';
  private bias = '';
  private cos = '';
  private sin = '';
  private readonly past: Array<[string, string]> = [];

  constructor(
    private readonly g: OnnxWriter,
    private readonly spec: DecoderSpec,
    private readonly kvType?: 'float32' | 'float16',
  ) {}

  inputs(): void {
    const { g, spec, kvType } = this;
    this.positions = g.input('position_ids', 'int64', ['batch', 'sequence']);
    if (kvType) this.past.push(...pastInputs(g, spec, kvType));
  }

  prepare({ ids, mask }: AttentionInputs): void {
    const { g, spec } = this;
    const { headDim } = spec;
    // additive bias [B, 1, T, P + T]: padding keys, and keys after the query's slot
    const p = '/model/attn_mask';
    const T = dim1(g, `${p}/seq_len`, ids);
    const S = dim1(g, `${p}/total_seq_len`, mask);
    const P = g.op(`${p}/past_len/Sub`, 'Sub', [S, T]);
    const one = g.scalar('int64', 1);
    const qSlot = g.op(`${p}/q_slot/Unsqueeze`, 'Unsqueeze', [g.op(`${p}/q_slot/Range`, 'Range', [P, S, one]), g.ints([1])]);
    const kSlot = g.op(`${p}/k_slot/Unsqueeze`, 'Unsqueeze', [g.op(`${p}/k_slot/Range`, 'Range', [g.scalar('int64', 0), S, one]), g.ints([0])]);
    const negBig = g.scalar('float32', -3.4028234663852886e38);
    const zero = g.scalar('float32', 0);
    const causal = g.op(`${p}/causal/Where`, 'Where', [g.op(`${p}/causal/Greater`, 'Greater', [kSlot, qSlot]), negBig, zero]);
    const keyOff = g.op(`${p}/padding/Equal`, 'Equal', [g.op(`${p}/padding/Unsqueeze`, 'Unsqueeze', [mask, g.ints([1, 2])]), g.ints([0])]);
    this.bias = g.op(`${p}/Where`, 'Where', [keyOff, negBig, g.op(`${p}/causal/Unsqueeze`, 'Unsqueeze', [causal, g.ints([0, 1])])]);
    // rotary angles [B, 1, T, head_dim] at every row's own positions, shared by all layers
    const r = '/model/rotary';
    const inv = g.floats('/model/rotary.inv_freq', [headDim / 2], inverseFrequencies(spec.rope, headDim));
    const posF = g.op(`${r}/Unsqueeze`, 'Unsqueeze', [g.op(`${r}/Cast`, 'Cast', [this.positions], { to: TYPE.float32 }), g.ints([-1])]);
    const freqs = g.op(`${r}/Mul`, 'Mul', [posF, inv]);
    const angles = g.op(`${r}/heads/Unsqueeze`, 'Unsqueeze', [g.op(`${r}/Concat`, 'Concat', [freqs, freqs], { axis: -1 }), g.ints([1])]);
    this.cos = g.op(`${r}/Cos`, 'Cos', [angles]);
    this.sin = g.op(`${r}/Sin`, 'Sin', [angles]);
  }

  /** x·cos + rotate_half(x)·sin, on [B, heads, T, head_dim]. */
  private rotate(path: string, x: string): string {
    const g = this.g;
    const half = this.spec.headDim / 2;
    const [x1, x2] = g.node(`${path}/Split`, 'Split', [x, g.ints([half, half])], { axis: -1 }, { outputs: 2 });
    const rotated = g.op(`${path}/Concat`, 'Concat', [g.op(`${path}/Neg`, 'Neg', [x2]), x1], { axis: -1 });
    return g.op(`${path}/Add`, 'Add', [g.op(`${path}/cos/Mul`, 'Mul', [x, this.cos]), g.op(`${path}/sin/Mul`, 'Mul', [rotated, this.sin])]);
  }

  /** [B, T, n × head_dim] → [B, n, T, head_dim]. */
  private heads(path: string, x: string, n: number): string {
    const g = this.g;
    return g.op(`${path}/Transpose`, 'Transpose', [g.op(`${path}/Reshape`, 'Reshape', [x, g.ints([0, 0, n, this.spec.headDim])])], { perm: [0, 2, 1, 3] });
  }

  /** Each kv head repeated for its group of query heads. */
  private repeat(path: string, x: string): string {
    const { g, spec } = this;
    const group = spec.heads / spec.kvHeads;
    if (group === 1) return x;
    const expanded = g.op(`${path}/Expand`, 'Expand', [g.op(`${path}/Unsqueeze`, 'Unsqueeze', [x, g.ints([2])]), g.ints([1, 1, group, 1, 1])]);
    return g.op(`${path}/Reshape`, 'Reshape', [expanded, g.ints([0, spec.heads, -1, spec.headDim])]);
  }

  layer(l: number, qkv: string): string {
    const { g, spec } = this;
    const { heads, kvHeads, headDim } = spec;
    const a = `/model/layers.${l}/attn`;
    const [qf, kf, vf] = g.node(`${a}/qkv/Split`, 'Split', [qkv, g.ints([heads * headDim, kvHeads * headDim, kvHeads * headDim])], { axis: -1 }, { outputs: 3 });
    const q = this.rotate(`${a}/q_rotary`, this.heads(`${a}/q`, qf, heads));
    let k = this.rotate(`${a}/k_rotary`, this.heads(`${a}/k`, kf, kvHeads));
    let v = this.heads(`${a}/v`, vf, kvHeads);
    if (this.kvType) {
      const half = this.kvType === 'float16';
      k = g.op(`${a}/present_key/Concat`, 'Concat', [this.past[l][0], k], { axis: 2 }, half ? undefined : `present.${l}.key`);
      v = g.op(`${a}/present_value/Concat`, 'Concat', [this.past[l][1], v], { axis: 2 }, half ? undefined : `present.${l}.value`);
      if (half) {
        g.op(`${a}/present_key/Cast`, 'Cast', [k], { to: TYPE.float16 }, `present.${l}.key`);
        g.op(`${a}/present_value/Cast`, 'Cast', [v], { to: TYPE.float16 }, `present.${l}.value`);
      }
    }
    const qs = g.op(`${a}/q/Mul`, 'Mul', [q, g.scalar('float32', 1 / Math.sqrt(headDim))]);
    const kT = g.op(`${a}/k/Transpose_T`, 'Transpose', [this.repeat(`${a}/k_repeat`, k)], { perm: [0, 1, 3, 2] });
    const scores = g.op(`${a}/scores/Add`, 'Add', [g.op(`${a}/scores/MatMul`, 'MatMul', [qs, kT]), this.bias]);
    const probs = g.op(`${a}/Softmax`, 'Softmax', [scores], { axis: -1 });
    const ctx = g.op(`${a}/context/MatMul`, 'MatMul', [probs, this.repeat(`${a}/v_repeat`, v)]);
    return g.op(`${a}/merge/Reshape`, 'Reshape', [g.op(`${a}/merge/Transpose`, 'Transpose', [ctx], { perm: [0, 2, 1, 3] }), g.ints([0, 0, heads * headDim])]);
  }

  outputs(): void {
    const { g, spec } = this;
    for (let l = 0; l < spec.layers && this.kvType; l++)
      for (const which of ['key', 'value']) g.output(`present.${l}.${which}`, ['batch', spec.kvHeads, 'total_sequence', spec.headDim], this.kvType);
  }
}
