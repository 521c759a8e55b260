// An implicit PRM (PRIME's EurusPRM: a PRM and its reference, two causal LMs) → one folder
// that Prm.load opens: each model converted into its own subfolder, the policy's tokenizer
// at the top, and a manifest that says it is an implicit PRM (beta, and how a token's
// log-probability is read).
//
// How a token's log-probability is read is chosen here, once per folder:
// - 'kernel' (the default): each graph outputs last_hidden_state and the LM head is kept
//   beside it as the checkpoint stores it (`lm_head.safetensors`, bfloat16 stays bfloat16),
//   read by the native LM-head kernel, which never holds [tokens x vocabulary] logits;
// - 'graph': each graph ends in log-softmax + gather of the next token (`token_logprobs`, one
//   float per token); onnxruntime holds the whole [tokens x vocabulary] logits inside a call.
// bench/implicit-logprobs.mjs measures both (time and peak memory).
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { eurusPrm } from '../formats/eurus.js';
import type { ImplicitModel } from '../model/manifest.js';
import { Checkpoint, readExactly } from '../model/safetensors.js';
import { chooseAttention } from './attention.js';
import type { AttentionKind } from './attention.js';
import { parseConfig } from './config.js';
import type { DecoderSpec } from './config.js';
import type { FileSink } from './folder.js';
import type { ConversionPlan } from './plan.js';
import { readConfig } from './plan.js';
import { detectHead } from './heads.js';
import { quantizationOf } from './linear.js';
import type { ConvertDtype, Int8Form } from './linear.js';

/** The model card's coefficient (EurusPRM). */
export const DEFAULT_BETA = 0.001;
export type LogProbPath = 'kernel' | 'graph';
export const LOG_PROB_PATHS: readonly LogProbPath[] = ['kernel', 'graph'];
/** The head file's tensor name, whatever the checkpoint called it (tied models: the embedding). */
export const HEAD_FILE = 'lm_head.safetensors';

export interface ImplicitPlanOptions {
  dtype: ConvertDtype;
  /** int8 only: integer GEMMs or MatMulNBits blocks. */
  int8Form: Int8Form;
  block: number;
  accuracyLevel: number;
  attention?: AttentionKind;
  fusedNorms: boolean;
  logProbs: LogProbPath;
}

/** One causal LM of the pair: its graph ends in hidden states or in token log-probabilities. */
export function planLm(dir: string, role: 'input' | 'reference', o: ImplicitPlanOptions): ConversionPlan & { headTensor: string } {
  const spec = parseConfig(readConfig(dir), join(dir, 'config.json'));
  const ck = Checkpoint.open(dir);
  const head = detectHead(spec, ck, 'eurus-prm');
  if (head.kind !== 'lm-labels')
    throw new RangeError(`${role} ${dir}: an implicit PRM reads two causal LMs (the PRM and its reference), but this ${spec.architecture} checkpoint has a ${head.kind} head`);
  const attention = chooseAttention(spec, false, o.attention);
  return {
    spec, ck, head: { ...head, format: 'eurus-prm' }, format: eurusPrm, attentionReason: attention.why, headTensor: head.tensors[0],
    graph: {
      dtype: o.dtype, int8Form: o.int8Form, block: o.block, accuracyLevel: o.accuracyLevel, attention: attention.kind, kvCache: false, fusedNorms: o.fusedNorms,
      output: o.logProbs === 'kernel' ? 'hidden' : 'token-logprobs',
    },
  };
}

/** The two models must read the same token ids: the same vocabulary and hidden size of their heads. */
export function checkPair(policy: DecoderSpec, reference: DecoderSpec, input: string, ref: string): void {
  if (policy.vocab !== reference.vocab)
    throw new RangeError(`the PRM (${input}, vocab_size ${policy.vocab}) and its reference (${ref}, vocab_size ${reference.vocab}) must share a vocabulary`);
  for (const f of ['tokenizer.json'])
    if (existsSync(join(ref, f)) && existsSync(join(input, f)) && readFileSync(join(ref, f), 'utf8') !== readFileSync(join(input, f), 'utf8'))
      throw new RangeError(`the PRM (${input}) and its reference (${ref}) have different ${f} files: an implicit PRM compares the same tokens under both`);
}

/**
 * Copies the head tensor's bytes, as stored, into `name` through `sink` as a one-tensor
 * safetensors file ('lm_head.weight'), in slices so memory stays bounded whatever the vocabulary.
 */
export function writeHeadFile(ck: Checkpoint, tensor: string, sink: FileSink, name: string): number {
  const t = ck.info(tensor);
  let json = JSON.stringify({ __metadata__: { format: 'pt', producer: 'prmkit convert' }, 'lm_head.weight': { dtype: t.dtype, shape: t.shape, data_offsets: [0, t.bytes] } });
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const header = Buffer.alloc(8 + Buffer.byteLength(json));
  header.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  header.write(json, 8, 'utf8');
  const out = openSync(sink.partial(name), 'wx', 0o644);
  const src = openSync(t.file, 'r');
  try {
    writeSync(out, header);
    const slice = Buffer.alloc(Math.min(t.bytes, 64 << 20));
    for (let done = 0; done < t.bytes; done += slice.length) {
      const part = slice.subarray(0, Math.min(slice.length, t.bytes - done));
      readExactly(src, part, t.offset + done, () => `${t.file} ends inside tensor '${tensor}'`);
      writeSync(out, part);
    }
  } finally {
    closeSync(src);
    closeSync(out);
  }
  sink.commit(name);
  return header.length + t.bytes;
}

/** What the manifest records of one model (paths relative to the converted folder). */
export function implicitModelOf(plan: ConversionPlan, sub: string, o: ImplicitPlanOptions, source: string, withHead: boolean): ImplicitModel {
  const { spec, ck } = plan;
  return {
    model: `${sub}/model.onnx`,
    data: `${sub}/model.onnx.data`,
    ...(withHead ? { head: `${sub}/${HEAD_FILE}` } : {}),
    dtype: o.dtype,
    decoder: { family: spec.family, hidden: spec.hidden, layers: spec.layers, heads: spec.heads, kvHeads: spec.kvHeads, headDim: spec.headDim, intermediate: spec.intermediate, vocab: spec.vocab },
    ...(o.dtype === 'int8' || o.dtype === 'int4' ? { quantization: quantizationOf(o) } : {}),
    attention: plan.graph.attention,
    fusedNorms: o.fusedNorms,
    source: { path: source, architecture: spec.architecture, modelType: spec.family, bytes: ck.bytes },
  };
}

