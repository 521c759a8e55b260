// A head read as the probability of one token under a softmax over the whole vocabulary
// (IBM Granite's P("Y")): the model outputs last_hidden_state, the LM head's every row comes
// from a weight file as it is stored, and the native LM-head kernel gives log P(token) at each
// boundary without [boundaries x vocabulary] logits on the host.
import type { FormatHead } from '../../formats/types.js';
import { tokenLogProbs } from '../../kernels/lm-head.js';
import type { LmHead } from '../../kernels/lm-head.js';
import type { Boundaries } from '../../kernels/types.js';
import { labelIds } from '../../model/labels.js';
import type { PrmTokenizer } from '../../tokenize/tokenizer.js';
import { readLmHead } from '../implicit/head.js';
import type { ForwardResult } from './backbone.js';
import type { HeadSource } from './head.js';

export interface VocabHead {
  lm: LmHead;
  /** The token whose probability is P(step correct). */
  target: number;
}

/** The LM head and the label token of a format whose head is read over the whole vocabulary. */
export function resolveVocabHead(o: { name: string; format: FormatHead; tokenizer: PrmTokenizer; output: string; width: number; source?: HeadSource }): VocabHead {
  const why = `format ${o.name} reads P(${JSON.stringify(o.format.labels?.[o.format.positive])}) over the whole vocabulary`;
  if (o.output !== 'last_hidden_state') throw new RangeError(`${why}: the model must output last_hidden_state (output 'last_hidden_state'), the LM head applied outside the graph`);
  const src = o.source;
  if (src === undefined || (typeof src !== 'string' && !('safetensors' in src)))
    throw new TypeError(`${why}: pass head, the .safetensors file holding the LM head [vocab, hidden] (tensor 'lm_head.weight', or { safetensors, weight })`);
  const lm = typeof src === 'string' ? readLmHead(src, undefined, o.width) : readLmHead(src.safetensors, undefined, o.width, src.weight);
  const target = labelIds(o.format, o.tokenizer)![o.format.positive];
  if (!(target < lm.vocab)) throw new RangeError(`${why}: its token id ${target} is outside the LM head (${lm.vocab} rows): is the tokenizer the model's?`);
  return { lm, target };
}

/** log P(target) at boundaries `b` (CSR over the chunk's rows) of a forward pass. */
export function vocabLogProbs(res: ForwardResult, b: Boundaries, head: VocabHead): Promise<Float32Array> {
  const T = res.dims[1];
  const rows = new Int32Array(b.positions.length);
  for (let c = 0; c + 1 < b.offsets.length; c++) for (let s = b.offsets[c]; s < b.offsets[c + 1]; s++) rows[s] = c * T + b.positions[s];
  return tokenLogProbs({ hidden: { data: res.data, dtype: res.dtype, dims: res.dims }, rows, targets: new Int32Array(rows.length).fill(head.target), head: head.lm });
}
