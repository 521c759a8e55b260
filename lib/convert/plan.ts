// What a conversion reads and decides before it writes anything: the config, the tensor
// headers, the head and its format, the attention; and the model files written from that
// plan. Every check that can refuse a checkpoint runs here, so a refused conversion leaves
// no file behind.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FORMAT_NAMES, resolveFormat, trlFormat, TRL_SEPARATOR } from '../formats/index.js';
import { isOrmFormatName, resolveOrmFormat } from '../formats/orm.js';
import type { OrmFormat, OrmFormatName } from '../formats/orm.js';
import type { FormatName, PrmFormat } from '../formats/types.js';
import * as is from '../is.js';
import type { Manifest } from '../model/manifest.js';
import { insideFolder } from '../model/paths.js';
import { labelIds } from '../model/labels.js';
import { Checkpoint } from '../model/safetensors.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';
import { chooseAttention } from './attention.js';
import type { AttentionKind } from './attention.js';
import { DecoderBuilder, trunkTensors } from './builder.js';
import type { DecoderOptions } from './builder.js';
import { parseConfig } from './config.js';
import type { DecoderSpec } from './config.js';
import type { FileSink } from './folder.js';
import { detectHead } from './heads.js';
import type { HeadPlan } from './head-plan.js';
import type { ModelDtype as ConvertDtype } from '../model/manifest.js';
import type { Int8Form, QuantPlan } from './linear.js';
import { OnnxWriter } from './onnx-writer.js';

/** config.json nests a few levels (rope parameters, label maps). */
const MAX_CONFIG_DEPTH = 16;

export interface PlanOptions {
  dtype: ConvertDtype;
  /** int8 only: integer GEMMs or MatMulNBits blocks (default blockwise). */
  int8Form?: Int8Form;
  /** The integer form's choice per projection (default: every projection integer). */
  quantPlan?: QuantPlan;
  kvCache: boolean;
  format?: FormatName | OrmFormatName;
  separator?: string;
  positive?: number;
  block: number;
  accuracyLevel: number;
  attention?: AttentionKind;
  /** GroupQueryAttention in this many causal chunks (default 1). */
  attentionChunks?: number;
  fusedNorms: boolean;
  /** The decoder without its head: last_hidden_state only (ConvertOptions.backbone). */
  backbone?: boolean;
}

export interface ConversionPlan {
  spec: DecoderSpec;
  ck: Checkpoint;
  head: HeadPlan & { format: FormatName | OrmFormatName };
  /** The resolved format (with a trl format's settings); an ORM format when `head.model` is 'orm'. */
  format: PrmFormat | OrmFormat;
  formatOptions?: Manifest['formatOptions'];
  /** An LM head's label texts and their token ids (the rows of lm_head kept). */
  labels?: Array<{ text: string; id: number }>;
  graph: DecoderOptions;
  attentionReason: string;
}

/** A checkpoint's config.json: inside its folder, valid JSON, shallow, an object. */
export function readConfig(dir: string): Record<string, unknown> {
  const p = insideFolder(dir, 'config.json', `${dir}: config.json`);
  if (!existsSync(p)) throw new TypeError(`${dir} has no config.json: is it a Hugging Face checkpoint folder?`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(p, 'utf8'));
  } catch (e) {
    throw new TypeError(`${p} is not valid JSON: ${(e as Error).message}`);
  }
  if (!is.nestsAtMost(v, MAX_CONFIG_DEPTH)) throw new TypeError(`${p} nests deeper than ${MAX_CONFIG_DEPTH} levels; no model config does`);
  return is.object(v, p);
}

/** A backbone: no head, and the text layout its trained heads will read (default trl, "\n" after each step). */
function planBackbone(spec: DecoderSpec, ck: Checkpoint, o: PlanOptions, graph: DecoderOptions, attentionReason: string): ConversionPlan {
  const name = o.format ?? 'trl';
  const orm = isOrmFormatName(name);
  if (o.positive !== undefined) throw new RangeError('positive sets the class of a converted trl head; a backbone has no head (its heads are trained with prmkit train)');
  if (o.separator !== undefined && name !== 'trl') throw new RangeError(`separator sets the trl format; this backbone's format is ${name}`);
  const head = { kind: 'none' as const, tensors: [], format: name, outputs: 0, ...(orm ? { model: 'orm' as const } : {}) };
  if (orm) return { spec, ck, head, format: resolveOrmFormat(name), attentionReason, graph: { ...graph, output: 'hidden' } };
  if (name !== 'trl') return { spec, ck, head, format: resolveFormat(name as FormatName), attentionReason, graph: { ...graph, output: 'hidden' } };
  const format = trlFormat({ kind: 'trl', ...(o.separator !== undefined ? { separator: o.separator } : {}) });
  return { spec, ck, head, format, formatOptions: { separator: o.separator ?? TRL_SEPARATOR, positive: format.head.positive }, attentionReason, graph: { ...graph, output: 'hidden' } };
}

/** The format with its settings: a trl head's class count is the checkpoint's. */
function planFormat(head: HeadPlan & { format: FormatName }, o: PlanOptions): { format: PrmFormat; formatOptions?: Manifest['formatOptions'] } {
  if (head.format !== 'trl') {
    if (o.separator !== undefined || o.positive !== undefined) throw new RangeError(`separator and positive set the trl format; this conversion's format is ${head.format}`);
    return { format: resolveFormat(head.format) };
  }
  if (head.outputs < 2) throw new RangeError(`format trl reads K >= 2 label columns (softmax), but the checkpoint's head has ${head.outputs}: is it a reward model with one score?`);
  const format = trlFormat({ kind: 'trl', classes: head.outputs, ...(o.separator !== undefined ? { separator: o.separator } : {}), ...(o.positive !== undefined ? { positive: o.positive } : {}) });
  return { format, formatOptions: { separator: o.separator ?? TRL_SEPARATOR, positive: format.head.positive } };
}

/** Reads config and headers and decides the graph; throws before any file is written. */
export function planConversion(input: string, o: PlanOptions): ConversionPlan {
  const spec = parseConfig(readConfig(input), join(input, 'config.json'));
  const ck = Checkpoint.open(input);
  for (const [name, shape] of trunkTensors(spec)) checkShape(ck, name, shape);
  const graph = (attention: { kind: AttentionKind }): DecoderOptions => ({
    dtype: o.dtype, int8Form: o.int8Form ?? 'blockwise', ...(o.quantPlan ? { quantPlan: o.quantPlan } : {}),
    block: o.block, accuracyLevel: o.accuracyLevel, attention: attention.kind, kvCache: o.kvCache, fusedNorms: o.fusedNorms,
    attentionChunks: attention.kind === 'gqa' ? (o.attentionChunks ?? 1) : 1,
  });
  if (o.backbone) {
    const attention = chooseAttention(spec, o.kvCache, o.attention);
    return planBackbone(spec, ck, o, graph(attention), attention.why);
  }
  const head = detectHead(spec, ck, o.format);
  if (head.model === 'orm') {
    if (o.separator !== undefined || o.positive !== undefined) throw new RangeError(`separator and positive set the trl format; this checkpoint is an outcome reward model (format ${head.format})`);
    const attention = chooseAttention(spec, o.kvCache, o.attention);
    return { spec, ck, head: head as ConversionPlan['head'], format: resolveOrmFormat(head.format as OrmFormatName), attentionReason: attention.why, graph: graph(attention) };
  }
  if (!head.format) throw new RangeError(`a ${spec.architecture} checkpoint needs format (--format): one of ${FORMAT_NAMES.join(', ')}`);
  const { format, formatOptions } = planFormat(head as HeadPlan & { format: FormatName }, o);
  if (head.kind === 'lm-labels' && !format.head.labels) throw new RangeError(`format ${head.format} reads a score head, but the checkpoint is a causal LM; pick a format with LM labels (math-shepherd, rlhflow)`);
  if (head.kind !== 'lm-labels' && format.head.labels) throw new RangeError(`format ${head.format} reads LM label logits, but the checkpoint has a ${head.kind} head`);
  const attention = chooseAttention(spec, o.kvCache, o.attention);
  // the tokenizer is read now, from the checkpoint, so a broken one is refused by its name
  const tok = PrmTokenizer.load(input);
  let labels: ConversionPlan['labels'];
  if (head.kind === 'lm-labels') {
    const ids = labelIds(format.head, tok)!;
    labels = format.head.labels!.map((text, i) => ({ text, id: ids[i] }));
    for (const l of labels)
      if (!(l.id >= 0 && l.id < spec.vocab)) throw new RangeError(`label ${JSON.stringify(l.text)} is token ${l.id} of ${input}'s tokenizer, outside the model's vocabulary (vocab_size ${spec.vocab}): is the tokenizer the model's?`);
  }
  return {
    spec, ck, head: head as HeadPlan & { format: FormatName }, format, ...(formatOptions ? { formatOptions } : {}), ...(labels ? { labels } : {}), attentionReason: attention.why,
    graph: { ...graph(attention), ...(labels ? { labelIds: labels.map((l) => l.id) } : {}) },
  };
}

export function checkShape(ck: Checkpoint, name: string, shape: readonly number[]): void {
  const t = ck.info(name);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    throw new RangeError(`${t.file}: tensor '${name}' has shape [${t.shape.join(', ')}], the config implies [${shape.join(', ')}]`);
}

/**
 * Writes `model.onnx` (and `model.onnx.data`) through `sink`: temporary names, renamed when
 * complete, so a failed run never leaves a model that looks whole, nor breaks an earlier one.
 */
export function writeModel(plan: ConversionPlan, sink: FileSink, graph: DecoderOptions, { singleFile = false } = {}): { outputs: number; bytes: number } {
  const modelTmp = sink.partial('model.onnx');
  const dataTmp = sink.partial('model.onnx.data');
  const writer = new OnnxWriter(modelTmp, dataTmp, 'model.onnx.data', singleFile ? { externalMin: Infinity } : {});
  let outputs: number;
  try {
    ({ outputs } = new DecoderBuilder(writer, plan.spec, plan.ck, plan.head, graph).build());
    writer.finish(`prmkit-${plan.spec.family}`, 17, { 'prmkit.format': plan.head.format, 'prmkit.dtype': graph.dtype, 'prmkit.attention': graph.attention,
      ...((graph.attentionChunks ?? 1) > 1 ? { 'prmkit.attentionChunks': String(graph.attentionChunks) } : {}) });
  } catch (e) {
    writer.abort();
    throw e;
  }
  if (writer.hasData) sink.commit('model.onnx.data');
  sink.commit('model.onnx');
  return { outputs, bytes: writer.dataBytes };
}
