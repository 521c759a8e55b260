// A Hugging Face PRM checkpoint folder → an ONNX folder that Prm.load and `prmkit serve`
// open with no other option. No Python: safetensors are read tensor by tensor and the graph
// is written from them directly (builder.ts).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FORMAT_NAMES, resolveFormat, trlFormat, TRL_SEPARATOR } from '../formats/index.js';
import { isOrmFormatName, ORM_FORMAT_NAMES, resolveOrmFormat } from '../formats/orm.js';
import type { OrmFormat, OrmFormatName } from '../formats/orm.js';
import type { FormatName, PrmFormat } from '../formats/types.js';
import * as is from '../is.js';
import { labelIds } from '../model/labels.js';
import { MANIFEST, MANIFEST_VERSION, MODEL_DTYPES } from '../model/manifest.js';
import type { Manifest } from '../model/manifest.js';
import { Checkpoint } from '../model/safetensors.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';
import { chooseAttention } from './attention.js';
import type { AttentionKind } from './attention.js';
import { DecoderBuilder } from './builder.js';
import type { DecoderOptions } from './builder.js';
import { parseConfig } from './config.js';
import type { DecoderSpec } from './config.js';
import { detectHead } from './heads.js';
import type { HeadPlan } from './heads.js';
import { int8FormFor } from './cpu.js';
import { INT8_FORMS, quantizationOf } from './linear.js';
import type { ConvertDtype, Int8Form, QuantPlan } from './linear.js';
import { OnnxWriter } from './onnx-writer.js';
import { checkPair, DEFAULT_BETA, HEAD_FILE, implicitModelOf, LOG_PROB_PATHS, planLm, subfolder, writeHeadFile } from './implicit.js';
import type { LogProbPath } from './implicit.js';
import { copyTokenizer } from './tokenizer-files.js';

export const CONVERT_DTYPES: readonly ConvertDtype[] = MODEL_DTYPES;
export const ATTENTION_KINDS: readonly AttentionKind[] = ['gqa', 'plain'];
/** Every format a conversion can name: the PRM formats, then the ORM ones. */
export const CONVERT_FORMATS: readonly (FormatName | OrmFormatName)[] = [...FORMAT_NAMES, ...ORM_FORMAT_NAMES];

export interface ConvertOptions {
  /** Hugging Face checkpoint folder (config.json, *.safetensors, tokenizer files). */
  input: string;
  /** Folder to write; created, and must be empty unless `overwrite`. */
  output: string;
  /** Weight type (default float32). float16 halves the files; int8 and int4 are quantized (see `int8Form`). */
  dtype?: ConvertDtype;
  /**
   * How int8 weights are multiplied: 'integer' (integer GEMMs: per-channel weights,
   * activations quantized per token as they come), 'blockwise' (MatMulNBits blocks), or
   * 'auto' (default: 'integer' where the CPU has VNNI/AMX or ARM dot products, else
   * 'blockwise'). int4 is always block-wise.
   */
  int8Form?: 'auto' | Int8Form;
  /** past_key_values inputs / present outputs, for prm.session() (default false). */
  kvCache?: boolean;
  /** The PRM or ORM format (default: detected from the architecture and head). */
  format?: FormatName | OrmFormatName;
  /** The trl format's step separator (default "\n", TRL's step_separator). */
  separator?: string;
  /** The trl format's class meaning "step correct" (default 1). */
  positive?: number;
  /** Replace the files of an earlier conversion in `output`. */
  overwrite?: boolean;
  /** Block size of int8/int4 weights (default 16 for int8, 32 for int4). */
  block?: number;
  /** MatMulNBits accuracy_level (default 4: int8 activations). */
  accuracyLevel?: number;
  /**
   * Attention operators (default: 'gqa' where onnxruntime's GroupQueryAttention runs for the
   * model's shape, 'plain' otherwise and with kvCache). A forced 'gqa' that cannot run is refused.
   */
  attention?: AttentionKind;
  /**
   * GroupQueryAttention graphs: each call's sequence in this many causal chunks (default 8;
   * 1: one operator call per layer). Chunks skip the key/query products above the causal
   * diagonal that onnxruntime's cpu kernel otherwise computes and discards, and keep each
   * score matrix in cache; such a graph takes one row per call (prmkit's cpu default).
   */
  attentionChunks?: number;
  /** onnxruntime's fused RMSNorm operators (default true). */
  fusedNorms?: boolean;
  /**
   * Also output `last_hidden_state` beside the logits (default false), so heads can be
   * trained on the frozen backbone (`prmkit train`) and read from it.
   */
  hiddenStates?: boolean;
  /**
   * Write the decoder without its head, only `last_hidden_state` (default false): a base for
   * heads trained with `prmkit train`, from any checkpoint of a supported family (a plain
   * causal LM included). `format` then names the text layout trained heads read (default trl).
   */
  backbone?: boolean;
  /** Progress lines (e.g. process.stderr.write). */
  onProgress?: (message: string) => void;
  /**
   * An implicit PRM: `input` is the PRM (a causal LM) and this its reference LM; both go into
   * one folder (format eurus-prm) whose step rewards are their log-likelihood ratio.
   */
  reference?: string;
  /** The reference's weight type (default: `dtype`). */
  referenceDtype?: ConvertDtype;
  /** An implicit PRM's reward scale (default 0.001, the EurusPRM card's). */
  beta?: number;
  /** How an implicit PRM reads token log-probabilities: 'kernel' (default) or 'graph'. */
  logProbs?: LogProbPath;
}

export interface ConvertResult {
  output: string;
  manifest: Manifest;
  /** Why the attention written was chosen. */
  attentionReason: string;
  /** int8: which form was written and why (undefined for other dtypes). */
  int8?: { form: Int8Form; why: string };
  /** Bytes of weights read from the checkpoint. */
  sourceBytes: number;
  /** Bytes written (graph + external data). */
  outputBytes: number;
  /** Largest tensor of the checkpoint, in bytes (conversion memory is a few of these). */
  largestTensorBytes: number;
  seconds: number;
}

const KEYS = is.keysOf<ConvertOptions>()({
  input: true, output: true, dtype: true, int8Form: true, kvCache: true, format: true, separator: true, positive: true, overwrite: true, block: true, accuracyLevel: true, attention: true, attentionChunks: true, fusedNorms: true, hiddenStates: true, backbone: true, onProgress: true,
  reference: true, referenceDtype: true, beta: true, logProbs: true,
});

function readConfig(dir: string): Record<string, unknown> {
  const p = join(dir, 'config.json');
  if (!existsSync(p)) throw new TypeError(`${dir} has no config.json: is it a Hugging Face checkpoint folder?`);
  try {
    return is.object(JSON.parse(readFileSync(p, 'utf8')), p);
  } catch (e) {
    if (e instanceof SyntaxError) throw new TypeError(`${p} is not valid JSON: ${e.message}`);
    throw e;
  }
}

/** What a conversion reads, decided before anything is written. */
export interface ConversionPlan {
  spec: DecoderSpec;
  ck: Checkpoint;
  head: HeadPlan & { format: FormatName | OrmFormatName };
  /** The resolved format (with a trl format's settings); an ORM format when `head.model` is 'orm'. */
  format: PrmFormat | OrmFormat;
  formatOptions?: Manifest['formatOptions'];
  graph: DecoderOptions;
  attentionReason: string;
}

/** Reads config and headers and decides the graph; throws before any file is written. */
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

export function planConversion(input: string, o: PlanOptions): ConversionPlan {
  const spec = parseConfig(readConfig(input));
  const ck = Checkpoint.open(input);
  const graph = (attention: { kind: AttentionKind }): DecoderOptions => ({
    dtype: o.dtype, int8Form: o.int8Form ?? 'blockwise', ...(o.quantPlan ? { quantPlan: o.quantPlan } : {}),
    block: o.block, accuracyLevel: o.accuracyLevel, attention: attention.kind, kvCache: o.kvCache, fusedNorms: o.fusedNorms,
    attentionChunks: attention.kind === 'gqa' && !o.kvCache ? (o.attentionChunks ?? 1) : 1,
  });
  if (o.backbone) {
    const attention = chooseAttention(spec, o.kvCache, o.attention);
    return planBackbone(spec, ck, o, graph(attention), attention.why);
  }
  const head = detectHead(spec, ck, o.format);
  if (head.model === 'orm') {
    if (o.separator !== undefined || o.positive !== undefined) throw new RangeError(`separator and positive set the trl format; this checkpoint is an outcome reward model (format ${head.format})`);
    const attention = chooseAttention(spec, o.kvCache, o.attention);
    return { spec, ck, head: head as ConversionPlan['head'], format: resolveOrmFormat(head.format), attentionReason: attention.why, graph: graph(attention) };
  }
  if (!head.format) throw new RangeError(`a ${spec.architecture} checkpoint needs format (--format): one of ${FORMAT_NAMES.join(', ')}`);
  const { format, formatOptions } = planFormat(head as HeadPlan & { format: FormatName }, o);
  if (head.kind === 'lm-labels' && !format.head.labels) throw new RangeError(`format ${head.format} reads a score head, but the checkpoint is a causal LM; pick a format with LM labels (math-shepherd, rlhflow)`);
  if (head.kind !== 'lm-labels' && format.head.labels) throw new RangeError(`format ${head.format} reads LM label logits, but the checkpoint has a ${head.kind} head`);
  const attention = chooseAttention(spec, o.kvCache, o.attention);
  return {
    spec, ck, head: head as HeadPlan & { format: FormatName }, format, ...(formatOptions ? { formatOptions } : {}), attentionReason: attention.why, graph: graph(attention),
  };
}

/**
 * Writes `model.onnx` and `model.onnx.data` into `dir` under temporary names, renamed when
 * complete: a failed run never leaves a model that looks whole, nor breaks an earlier one.
 */
export function writeModel(plan: ConversionPlan, dir: string, graph: DecoderOptions, { singleFile = false } = {}): { outputs: number; bytes: number } {
  const modelTmp = join(dir, 'model.onnx.partial');
  const dataTmp = join(dir, 'model.onnx.data.partial');
  rmSync(modelTmp, { force: true });
  rmSync(dataTmp, { force: true });
  const writer = new OnnxWriter(modelTmp, dataTmp, 'model.onnx.data', singleFile ? { externalMin: Infinity } : {});
  let outputs: number;
  try {
    ({ outputs } = new DecoderBuilder(writer, plan.spec, plan.ck, plan.head, graph).build());
    writer.finish(`prmkit-${plan.spec.family}`, 17, { 'prmkit.format': plan.head.format, 'prmkit.dtype': graph.dtype, 'prmkit.attention': graph.attention });
  } catch (e) {
    writer.abort();
    rmSync(modelTmp, { force: true });
    rmSync(dataTmp, { force: true });
    throw e;
  }
  if (writer.hasData) renameSync(dataTmp, join(dir, 'model.onnx.data'));
  renameSync(modelTmp, join(dir, 'model.onnx'));
  return { outputs, bytes: writer.dataBytes };
}

export async function convert(options: ConvertOptions): Promise<ConvertResult> {
  is.knownKeys(is.object(options, 'convert options'), KEYS, 'convert options');
  const input = resolve(is.string(options.input, 'input', { nonEmpty: true }));
  const output = resolve(is.string(options.output, 'output', { nonEmpty: true }));
  const dtype = options.dtype === undefined ? 'float32' : is.oneOf(options.dtype, 'dtype', CONVERT_DTYPES);
  const requestedForm = options.int8Form === undefined ? 'auto' : is.oneOf(options.int8Form, 'int8Form', ['auto', ...INT8_FORMS] as const);
  const int8Choice = requestedForm === 'auto' ? int8FormFor() : { form: requestedForm, why: 'requested' };
  const int8 = dtype === 'int8' ? int8Choice : undefined;
  const kvCache = options.kvCache === undefined ? false : is.boolean(options.kvCache, 'kvCache');
  const overwrite = options.overwrite === undefined ? false : is.boolean(options.overwrite, 'overwrite');
  const fusedNorms = options.fusedNorms === undefined ? true : is.boolean(options.fusedNorms, 'fusedNorms');
  const backbone = options.backbone === undefined ? false : is.boolean(options.backbone, 'backbone');
  const hiddenStates = backbone || (options.hiddenStates === undefined ? false : is.boolean(options.hiddenStates, 'hiddenStates'));
  // int8 blocks of 16 halved the worst step error of 32 on the perf model at the same speed
  const block = options.block === undefined ? (dtype === 'int8' ? 16 : 32) : is.integer(options.block, 'block', 16, 256);
  if ((block & (block - 1)) !== 0) throw is.invalidRange('block', 'a power of two in [16, 256]', block);
  const accuracyLevel = options.accuracyLevel === undefined ? 4 : is.integer(options.accuracyLevel, 'accuracyLevel', 0, 4);
  const format = options.format === undefined ? undefined : is.oneOf(options.format, 'format', CONVERT_FORMATS);
  const separator = options.separator === undefined ? undefined : is.string(options.separator, 'separator', { nonEmpty: true });
  const positive = options.positive === undefined ? undefined : is.integer(options.positive, 'positive', 0, 63);
  const attention = options.attention === undefined ? undefined : is.oneOf(options.attention, 'attention', ATTENTION_KINDS);
  // measured on the cpu: 8 chunks gain 5-16 % end to end at 600-1200 tokens, 16 no more.
  // A converted folder's manifest tells the loader to send one row per call; a bare graph
  // (planConversion alone, the tiny test model) has no manifest and keeps one chunk.
  const attentionChunks = options.attentionChunks === undefined ? 8 : is.integer(options.attentionChunks, 'attentionChunks', 1, 64);
  const progress = is.optionalFunction<(m: string) => void>(options.onProgress, 'onProgress') ?? (() => {});
  if (input === output) throw new RangeError('output must be another folder than input');
  if (existsSync(output) && readdirSync(output).length > 0) {
    if (!overwrite) throw new RangeError(`output ${output} is not empty; pass overwrite (--force) to replace an earlier conversion there`);
    if (!existsSync(join(output, MANIFEST))) throw new RangeError(`output ${output} holds files that are not a prmkit conversion; refusing to write into it`);
  }
  const t0 = performance.now();
  if (options.reference !== undefined || format === 'eurus-prm') {
    if (options.reference === undefined) throw new RangeError('format eurus-prm is an implicit PRM: pass its reference LM (reference, --reference REF_DIR)');
    if (kvCache) throw new RangeError('an implicit PRM is converted without a KV cache (prm.session does not read implicit PRMs yet)');
    if (options.hiddenStates || options.backbone) throw new RangeError('hiddenStates and backbone add a trainable head\'s input; an implicit PRM has no head to train');
    if (format !== undefined && format !== 'eurus-prm') throw new RangeError(`an implicit PRM (reference given) reads format eurus-prm, not ${format}`);
    if (separator !== undefined || positive !== undefined) throw new RangeError('separator and positive set the trl format; an implicit PRM has none');
    const reference = resolve(is.string(options.reference, 'reference', { nonEmpty: true }));
    if (reference === output || reference === input) throw new RangeError('reference must be another folder than input and output');
    const refDtype = options.referenceDtype === undefined ? dtype : is.oneOf(options.referenceDtype, 'referenceDtype', CONVERT_DTYPES);
    const beta = options.beta === undefined ? DEFAULT_BETA : is.number(options.beta, 'beta', 0, Infinity, { openMin: true });
    const logProbs = options.logProbs === undefined ? 'kernel' : is.oneOf(options.logProbs, 'logProbs', LOG_PROB_PATHS);
    return convertPair({ input, reference, output, t0, beta, logProbs, progress, dtype, refDtype, int8Form: int8Choice.form, block, accuracyLevel, attention, fusedNorms });
  }
  if (format === 'granite-prm')
    throw new RangeError(`format ${format} reads a token's probability over the whole vocabulary; prmkit convert does not write that reading yet (nor Granite's architecture): export the model with last_hidden_state and load it with head: its lm_head file`);
  for (const k of ['referenceDtype', 'beta', 'logProbs'] as const)
    if (options[k] !== undefined) throw new RangeError(`${k} sets an implicit PRM's conversion; pass reference too`);
  const plan = planConversion(input, { dtype, int8Form: int8?.form, kvCache, format, separator, positive, block, accuracyLevel, attention, attentionChunks, fusedNorms, backbone });
  const { spec, ck, head } = plan;
  // while a chain fits in a sliding window, full attention is exact; longer chains are refused
  const contextLength = Math.min(spec.maxPositions, spec.slidingWindow ?? Infinity);
  mkdirSync(output, { recursive: true });
  // the folder stops claiming to be a conversion until the new one is complete
  rmSync(join(output, MANIFEST), { force: true });
  const copied = copyTokenizer(input, output);
  const resolvedFormat = plan.format as PrmFormat;
  let labels: Manifest['head']['labels'];
  if (head.kind === 'lm-labels') {
    const ids = labelIds(resolvedFormat.head, PrmTokenizer.load(output))!;
    labels = resolvedFormat.head.labels!.map((text, i) => ({ text, id: ids[i] }));
  }
  progress(`converting ${spec.architecture} (${spec.family}, ${spec.layers} layers, hidden ${spec.hidden}) to ${dtype}${int8 ? ` (${int8.form}: ${int8.why})` : ''}${kvCache ? ' with a KV cache' : ''}, ${plan.graph.attention} attention`);
  const { outputs, bytes } = writeModel(plan, output, {
    ...plan.graph, ...(hiddenStates && !backbone ? { output: 'both' as const } : {}), labelIds: labels?.map((l) => l.id), onLayer: (l) => progress(`layer ${l + 1}/${spec.layers}`),
  });
  const manifest: Manifest = {
    prmkit: MANIFEST_VERSION,
    kind: head.model ?? 'prm',
    format: head.format,
    ...(plan.formatOptions ? { formatOptions: plan.formatOptions } : {}),
    model: 'model.onnx',
    data: 'model.onnx.data',
    tokenizer: copied[0],
    dtype,
    contextLength,
    head: { kind: head.kind, outputs: head.kind === 'none' ? 0 : outputs, ...(labels ? { labels } : {}) },
    kvCache: kvCache ? { layers: spec.layers, kvHeads: spec.kvHeads, headDim: spec.headDim, type: 'float32', layout: 'past_key_values.N.key|value [batch, kv_heads, past, head_dim] in, present.N.key|value out' } : null,
    decoder: { family: spec.family, hidden: spec.hidden, layers: spec.layers, heads: spec.heads, kvHeads: spec.kvHeads, headDim: spec.headDim, intermediate: spec.intermediate, vocab: spec.vocab },
    ...(dtype === 'int8' || dtype === 'int4' ? { quantization: quantizationOf(plan.graph) } : {}),
    fusedNorms,
    ...(hiddenStates ? { hiddenStates } : {}),
    attention: plan.graph.attention,
    ...(plan.graph.attentionChunks! > 1 ? { attentionChunks: plan.graph.attentionChunks } : {}),
    source: { path: input, architecture: spec.architecture, modelType: spec.family, bytes: ck.bytes },
    converter: 'prmkit convert',
  };
  writeFileSync(join(output, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return {
    output, manifest, attentionReason: plan.attentionReason, ...(int8 ? { int8 } : {}), sourceBytes: ck.bytes, outputBytes: bytes, largestTensorBytes: ck.largest, seconds: (performance.now() - t0) / 1000,
  };
}

/** The two causal LMs of an implicit PRM, each in its own subfolder, and one manifest. */
function convertPair(o: {
  input: string; reference: string; output: string; t0: number; beta: number; logProbs: LogProbPath; progress: (m: string) => void;
  dtype: ConvertDtype; refDtype: ConvertDtype; int8Form: Int8Form; block: number; accuracyLevel: number; attention?: AttentionKind; fusedNorms: boolean;
}): ConvertResult {
  const common = { int8Form: o.int8Form, block: o.block, accuracyLevel: o.accuracyLevel, attention: o.attention, fusedNorms: o.fusedNorms, logProbs: o.logProbs };
  const sides = [
    { name: 'policy', dir: o.input, opts: { ...common, dtype: o.dtype } },
    { name: 'reference', dir: o.reference, opts: { ...common, dtype: o.refDtype } },
  ] as const;
  const plans = sides.map((s) => planLm(s.dir, s.name === 'policy' ? 'input' : 'reference', s.opts));
  checkPair(plans[0].spec, plans[1].spec, o.input, o.reference);
  mkdirSync(o.output, { recursive: true });
  rmSync(join(o.output, MANIFEST), { force: true });
  const copied = copyTokenizer(o.input, o.output);
  let bytes = 0;
  const models = sides.map((s, i) => {
    const plan = plans[i];
    const dir = subfolder(o.output, s.name);
    o.progress(`converting the ${s.name} ${plan.spec.architecture} (${plan.spec.layers} layers, hidden ${plan.spec.hidden}) to ${s.opts.dtype}, token log-probabilities by the ${o.logProbs}`);
    bytes += writeModel(plan, dir, { ...plan.graph, onLayer: (l) => o.progress(`${s.name} layer ${l + 1}/${plan.spec.layers}`) }).bytes;
    if (o.logProbs === 'kernel') bytes += writeHeadFile(plan.ck, plan.headTensor, join(dir, HEAD_FILE));
    return implicitModelOf(plan, s.name, s.opts, s.dir, o.logProbs === 'kernel');
  });
  const [policy, reference] = models;
  const contextLength = Math.min(...plans.map((p) => Math.min(p.spec.maxPositions, p.spec.slidingWindow ?? Infinity)));
  const manifest: Manifest = {
    prmkit: MANIFEST_VERSION,
    format: 'eurus-prm',
    model: policy.model,
    data: policy.data,
    tokenizer: copied[0],
    dtype: policy.dtype,
    contextLength,
    head: { kind: 'lm-logprobs', outputs: 1 },
    kvCache: null,
    decoder: policy.decoder,
    ...(policy.quantization ? { quantization: policy.quantization } : {}),
    fusedNorms: o.fusedNorms,
    attention: policy.attention,
    source: policy.source,
    converter: 'prmkit convert',
    implicit: { beta: o.beta, logProbs: o.logProbs, policy, reference },
  };
  writeFileSync(join(o.output, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  const ck = plans.map((p) => p.ck);
  return {
    output: o.output, manifest, attentionReason: plans[0].attentionReason, sourceBytes: ck[0].bytes + ck[1].bytes, outputBytes: bytes,
    largestTensorBytes: Math.max(ck[0].largest, ck[1].largest), seconds: (performance.now() - o.t0) / 1000,
  };
}
