// GroupQueryAttention with past keys/values: what a KV-cache graph uses where onnxruntime's
// operator runs for the shape. The call's new tokens continue a cached prefix given as
// past_key_values; the operator reads the past's first slots and writes the present (past +
// new) itself, rotary positions included, so no Concat copies keys/values per layer and no
// position_ids are read.
//
// Contract with the caller (prmkit's KV cache follows it): one row per call; the past is
// left-aligned in its buffer and `attention_mask` says how much of it is used: its sum is
// used past + new tokens, whatever the buffer's length (so a kept block can be fed as it is
// for any prefix of it); the present has the buffer's slots or more, the first used + new
// of them real. As in the chunked graph, the new tokens can run in `chunks` causal chunks
// (each chunk's past is the previous chunk's present), the call padded to at least `chunks`
// tokens and cut back at the output; padded keys land after the real ones.
import { gqaAttributes, pastInputs, rotaryTables } from './attention-parts.js';
import type { Attention, AttentionInputs } from './attention-parts.js';
import type { DecoderSpec } from './config.js';
import { TYPE } from './onnx-writer.js';
import type { OnnxWriter } from './onnx-writer.js';

export class KvGroupQueryAttention implements Attention {
  readonly kind = 'gqa';
  private seqLen = '';
  private bounds: Array<{ start: string; end: string; seqlensK: string; total: string }> = [];
  private cos = '';
  private sin = '';
  private readonly past: Array<[string, string]> = [];

  constructor(
    private readonly g: OnnxWriter,
    private readonly spec: DecoderSpec,
    private readonly kvType: 'float32' | 'float16',
    readonly chunks: number,
  ) {}

  inputs(): void {
    this.past.push(...pastInputs(this.g, this.spec, this.kvType));
  }

  /** Returns the ids the model runs on: padded to at least `chunks` tokens when chunked. */
  prepare({ ids, mask }: AttentionInputs): string {
    const { g, chunks } = this;
    const p = '/model/attn_kv';
    this.seqLen = g.op(`${p}/seq_len/Gather`, 'Gather', [g.op(`${p}/Shape`, 'Shape', [ids]), g.ints([1])], { axis: 0 });
    let run = ids;
    let padded = this.seqLen;
    if (chunks > 1) {
      padded = g.op(`${p}/padded_len/Max`, 'Max', [this.seqLen, g.ints([chunks])]);
      const pads = g.op(`${p}/pads/Concat`, 'Concat', [g.ints([0, 0, 0]), g.op(`${p}/pads/Sub`, 'Sub', [padded, this.seqLen])], { axis: 0 });
      run = g.op(`${p}/input_ids/Pad`, 'Pad', [ids, pads]);
    }
    // past slots in use: the mask's ones less the new tokens ([1], one row)
    const used = g.op(`${p}/past_used/Sub`, 'Sub', [g.op(`${p}/ReduceSum`, 'ReduceSum', [mask, g.ints([1])], { keepdims: 0 }), this.seqLen]);
    let start = g.ints([0]);
    for (let i = 1; i <= chunks; i++) {
      const c = `${p}/chunk.${i - 1}`;
      const end = chunks > 1 ? g.op(`${c}/end/Div`, 'Div', [g.op(`${c}/end/Mul`, 'Mul', [padded, g.ints([i])]), g.ints([chunks])]) : padded;
      const keys = g.op(`${c}/keys/Add`, 'Add', [used, end]);
      const seqlensK = g.op(`${c}/seqlens_k/Cast`, 'Cast', [g.op(`${c}/seqlens_k/Sub`, 'Sub', [keys, g.ints([1])])], { to: TYPE.int32 });
      const total = g.op(`${c}/total_seq_len/Cast`, 'Cast', [g.op(`${c}/total_seq_len/Squeeze`, 'Squeeze', [keys, g.ints([0])])], { to: TYPE.int32 });
      this.bounds.push({ start, end, seqlensK, total });
      start = end;
    }
    // cos/sin for every slot the operator may address: the past buffer and the padded call
    const r = '/model/rotary';
    const buffer = g.op(`${r}/past_len/Gather`, 'Gather', [g.op(`${r}/past_len/Shape`, 'Shape', [this.past[0][0]]), g.ints([2])], { axis: 0 });
    const slots = g.op(`${r}/slots/Squeeze`, 'Squeeze', [g.op(`${r}/slots/Add`, 'Add', [buffer, padded]), g.ints([0])]);
    ({ cos: this.cos, sin: this.sin } = rotaryTables(g, this.spec, slots));
    return run;
  }

  layer(l: number, qkv: string): string {
    const { g, spec, chunks } = this;
    const a = `/model/layers.${l}/attn`;
    const attrs = gqaAttributes(spec);
    const outs: string[] = [];
    let past: [string, string] = this.past[l];
    this.bounds.forEach((b, i) => {
      const c = chunks > 1 ? `${a}/chunk.${i}` : a;
      const q = chunks > 1 ? g.op(`${c}/Slice`, 'Slice', [qkv, b.start, b.end, g.ints([1])]) : qkv;
      const [out, key, value] = g.node(`${c}/GroupQueryAttention`, 'GroupQueryAttention', [q, '', '', past[0], past[1], b.seqlensK, b.total, this.cos, this.sin], attrs, {
        outputs: 3, domain: 'com.microsoft',
      });
      // onnxruntime's shape inference gives the output a width of 0 when the operator also
      // writes present keys/values: the shape is restated (one row per call)
      outs.push(g.op(`${c}/Reshape`, 'Reshape', [out, g.ints([1, -1, spec.heads * spec.headDim])]));
      // and it gives every chunk's present the past input's length, so onnxruntime would plan
      // one chunk's present into another's buffer: a reshape (no copy) leaves the length unknown
      past = i + 1 < chunks ? [this.unknownLength(`${c}/present_key`, key), this.unknownLength(`${c}/present_value`, value)] : [key, value];
    });
    const half = this.kvType === 'float16';
    (['key', 'value'] as const).forEach((which, k) =>
      g.op(`${a}/present_${which}/${half ? 'Cast' : 'Identity'}`, half ? 'Cast' : 'Identity', [past[k]], half ? { to: TYPE.float16 } : {}, `present.${l}.${which}`),
    );
    return outs.length === 1 ? outs[0] : g.op(`${a}/Concat`, 'Concat', outs, { axis: 1 });
  }

  /** `x` [1, kv heads, slots, head dim] with its slots unknown to shape inference. */
  private unknownLength(path: string, x: string): string {
    const { g, spec } = this;
    return g.op(`${path}/Reshape`, 'Reshape', [x, g.ints([1, spec.kvHeads, -1, spec.headDim])]);
  }

  /** The model's rows cut back to the call's own length (where chunks padded it). */
  trim(x: string): string {
    if (this.chunks === 1) return x;
    const g = this.g;
    return g.op('/model/attn_kv/output/Slice', 'Slice', [x, g.ints([0]), this.seqLen, g.ints([1])]);
  }

  outputs(): void {
    const { g, spec } = this;
    for (let l = 0; l < spec.layers; l++)
      for (const which of ['key', 'value']) g.output(`present.${l}.${which}`, ['batch', spec.kvHeads, 'total_sequence', spec.headDim], this.kvType);
  }
}
