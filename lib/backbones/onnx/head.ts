// Turning a format's head convention + the backbone's output into the kernel's Head:
// - `logits` output: the LM head's label columns (Math-Shepherd '+'/'-'), or an in-graph
//   score head whose width is the class count (Qwen PRM's 2 classes);
// - `last_hidden_state` output: a linear head read from a .safetensors file or an ONNX
//   initializer (an LM-head matrix [V, H] is cut down to the label rows).
import { existsSync } from 'node:fs';
import type { FormatHead } from '../../formats/types.js';
import type { Head } from '../../kernels/types.js';
import type { PrmTokenizer } from '../../tokenize/tokenizer.js';
import { labelIds } from '../../model/labels.js';
import { readOnnxInitializer } from '../../model/onnx-initializer.js';
import { Checkpoint } from '../../model/safetensors.js';
import type { Tensor } from '../../model/safetensors.js';

/** Where a linear head's weights live when the backbone outputs hidden states. */
export type HeadSource =
  | string
  | { safetensors: string; weight?: string; bias?: string }
  | { initializer: string; bias?: string; transposed?: boolean };

/** Default tensor names tried in a safetensors file: Qwen PRM / generic score, Skywork value head, LM head. */
export const DEFAULT_HEAD_TENSORS = ['score.weight', 'v_head.summary.weight', 'lm_head.weight'];

export function checkHeadSource(src: unknown): HeadSource | undefined {
  if (src === undefined) return undefined;
  if (typeof src === 'string') {
    if (!existsSync(src)) throw new TypeError(`head: ${src} does not exist`);
    return src;
  }
  if (src && typeof src === 'object') {
    const s = src as Record<string, unknown>;
    if (typeof s.safetensors === 'string') {
      if (!existsSync(s.safetensors)) throw new TypeError(`head.safetensors: ${s.safetensors} does not exist`);
      return src as HeadSource;
    }
    if (typeof s.initializer === 'string' && s.initializer.length > 0) return src as HeadSource;
  }
  throw new TypeError("head must be a .safetensors path, { safetensors, weight?, bias? } or { initializer, bias? }");
}

function loadWeights(src: HeadSource, modelPath: string): { weight: Tensor; bias?: Tensor; name: string } {
  if (typeof src === 'string' || 'safetensors' in src) {
    const path = typeof src === 'string' ? src : src.safetensors;
    const file = Checkpoint.file(path, 'head: ');
    const names = [...file.tensors.keys()];
    let name = typeof src === 'string' ? undefined : src.weight;
    if (!name) {
      name = DEFAULT_HEAD_TENSORS.find((n) => file.has(n));
      const twoD = names.filter((n) => file.info(n).shape.length === 2);
      if (!name && twoD.length === 1) name = twoD[0];
      if (!name) throw new RangeError(`head: cannot tell which tensor of ${path} is the head; pass { safetensors, weight: '<name>' } (tensors: ${names.slice(0, 20).join(', ')})`);
    }
    const weight = file.tensor(name);
    const biasName = typeof src === 'string' || !src.bias ? name.replace(/weight$/, 'bias') : src.bias;
    const bias = biasName !== name && file.has(biasName) ? file.tensor(biasName) : undefined;
    if (typeof src !== 'string' && src.bias && !bias) throw new RangeError(`head: ${path} has no tensor '${src.bias}'`);
    return { weight, bias, name };
  }
  let weight = readOnnxInitializer(modelPath, src.initializer);
  if (src.transposed) {
    const [r, c] = weight.shape;
    const t = new Float32Array(r * c);
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) t[j * r + i] = weight.data[i * c + j];
    weight = { shape: [c, r], data: t };
  }
  const bias = src.bias ? readOnnxInitializer(modelPath, src.bias) : undefined;
  return { weight, bias, name: src.initializer };
}

export function resolveHead(opts: {
  format: FormatHead;
  tokenizer: PrmTokenizer;
  output: 'logits' | 'last_hidden_state';
  /** Width of the backbone output (H or V or the class count). */
  width: number;
  source?: HeadSource;
  modelPath: string;
}): Head {
  const { format, width } = opts;
  const labels = labelIds(format, opts.tokenizer);
  if (opts.output === 'logits') {
    if (labels) {
      for (const id of labels)
        if (id >= width) throw new RangeError(`the model's logits have ${width} columns but the head label token id ${id} is outside: is the tokenizer the model's?`);
      return { kind: 'logits', activation: format.activation, positive: format.positive, columns: labels };
    }
    if (width !== format.outputs)
      throw new RangeError(`the model's logits have ${width} columns, but the format's score head has ${format.outputs} classes; pass the matching model or a custom format head`);
    return { kind: 'logits', activation: format.activation, positive: format.positive };
  }
  if (!opts.source)
    throw new TypeError("the model outputs last_hidden_state: pass head (a .safetensors file or { initializer: '<name>' }) with the head's weights");
  const { weight, bias, name } = loadWeights(opts.source, opts.modelPath);
  if (weight.shape.length !== 2) throw new RangeError(`head: '${name}' must be 2-D [outputs, hidden], got shape [${weight.shape.join(', ')}]`);
  const [rows, H] = weight.shape;
  if (H !== width) throw new RangeError(`head: '${name}' has ${H} input features but the model's hidden size is ${width}`);
  let w = weight.data;
  let b = bias?.data;
  let K = rows;
  if (labels && rows !== labels.length) {
    // an LM-head matrix: keep the label rows only
    w = new Float32Array(labels.length * H);
    labels.forEach((id, k) => {
      if (id >= rows) throw new RangeError(`head: label token id ${id} is outside '${name}' (${rows} rows)`);
      w.set(weight.data.subarray(id * H, (id + 1) * H), k * H);
    });
    if (b) b = Float32Array.from(labels, (id) => b![id]);
    K = labels.length;
  } else if (!labels && rows !== format.outputs) {
    throw new RangeError(`head: '${name}' has ${rows} outputs, the format's head has ${format.outputs}`);
  }
  if (b && b.length !== K) throw new RangeError(`head: bias has ${b.length} entries for ${K} outputs`);
  return { kind: 'linear', weight: w, ...(b ? { bias: b } : {}), outputs: K, activation: format.activation, positive: format.positive };
}
