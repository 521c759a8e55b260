// What every kind of attention shares, below them all: the contract a kind implements for the
// builder, and the two pieces each GroupQueryAttention kind writes the same way (its
// attributes, and the rotary tables it reads). The kinds themselves live in attention.ts
// (plain, GroupQueryAttention), attention-chunked.ts and attention-kv.ts.
import type { AttentionKind } from '../model/manifest.js';
import type { DecoderSpec } from './config.js';
import { TYPE } from './onnx-writer.js';
import type { OnnxWriter } from './onnx-writer.js';
import { inverseFrequencies } from './rope.js';

/** Where the graph keeps what every layer reads. */
export interface AttentionInputs {
  ids: string;
  mask: string;
}

export interface Attention {
  readonly kind: AttentionKind;
  /** Declares the graph inputs this attention reads beyond input_ids and attention_mask. */
  inputs(): void;
  /**
   * Builds what all layers share (masks, rotary angles) from the ids and the mask; may return
   * the ids the model runs on instead (padded), which `trim` then cuts back.
   */
  prepare(io: AttentionInputs): string | void;
  /** The model's rows back to the call's own length (where `prepare` padded). */
  trim?(x: string): string;
  /** Layer `l`: packed q/k/v [B, T, (heads + 2 kv_heads) × head_dim] → merged heads [B, T, heads × head_dim]. */
  layer(l: number, qkv: string): string;
  /** Declares the graph outputs this attention writes (present keys/values). */
  outputs(): void;
}

/** GroupQueryAttention's attributes: the model's heads, rotary positions inside, its score scale. */
export function gqaAttributes(spec: DecoderSpec): Record<string, number | { float: number }> {
  return { num_heads: spec.heads, kv_num_heads: spec.kvHeads, do_rotary: 1, scale: { float: 1 / Math.sqrt(spec.headDim) } };
}

/**
 * cos/sin [slots, head_dim / 2] for positions 0..slots-1 (`slots`: an int64 scalar), computed
 * per call, so their size follows the input, never the model's maximum context.
 */
export function rotaryTables(g: OnnxWriter, spec: DecoderSpec, slots: string): { cos: string; sin: string } {
  const r = '/model/rotary';
  const pos = g.op(`${r}/Range`, 'Range', [g.scalar('int64', 0), slots, g.scalar('int64', 1)]);
  const posF = g.op(`${r}/Unsqueeze`, 'Unsqueeze', [g.op(`${r}/Cast`, 'Cast', [pos], { to: TYPE.float32 }), g.ints([-1])]);
  const angles = g.op(`${r}/Mul`, 'Mul', [posF, g.floats('/model/rotary.inv_freq', [spec.headDim / 2], inverseFrequencies(spec.rope, spec.headDim))]);
  return { cos: g.op(`${r}/Cos`, 'Cos', [angles]), sin: g.op(`${r}/Sin`, 'Sin', [angles]) };
}

/**
 * Each layer's past key and value inputs [batch, kv_heads, past_sequence, head_dim], as float32
 * (float16 inputs widened on the way in): what both KV kinds of attention read.
 */
export function pastInputs(g: OnnxWriter, spec: DecoderSpec, kvType: 'float32' | 'float16'): Array<[string, string]> {
  const past: Array<[string, string]> = [];
  for (let l = 0; l < spec.layers; l++) {
    const kv = (['key', 'value'] as const).map((which) => {
      const name = g.input(`past_key_values.${l}.${which}`, kvType, ['batch', spec.kvHeads, 'past_sequence', spec.headDim]);
      return kvType === 'float32' ? name : g.op(`/model/layers.${l}/attn/past_${which}/Cast`, 'Cast', [name], { to: TYPE.float32 });
    });
    past.push([kv[0], kv[1]]);
  }
  return past;
}
