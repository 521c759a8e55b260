// A Hugging Face PRM checkpoint folder → an ONNX folder that Prm.load and `prmkit serve`
// open with no other option. No Python: safetensors are read tensor by tensor and the graph
// is written from them directly (builder.ts).
import { resolve } from 'node:path';
import { FORMAT_NAMES } from '../formats/index.js';
import { ORM_FORMAT_NAMES } from '../formats/orm.js';
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import * as is from '../is.js';
import { MANIFEST_VERSION, MODEL_DTYPES } from '../model/manifest.js';
import type { AttentionKind, ImplicitManifest, Manifest, ModelDtype } from '../model/manifest.js';
import { int8FormFor } from './cpu.js';
import { OutputFolder } from './folder.js';
import { INT8_FORMS, quantizationOf } from './linear.js';
import type { Int8Form } from './linear.js';
import { checkPair, DEFAULT_BETA, HEAD_FILE, implicitModelOf, LOG_PROB_PATHS, planLm, writeHeadFile } from './implicit.js';
import { planConversion, writeModel } from './plan.js';
import type { ConversionPlan } from './plan.js';
import type { DecoderSpec } from './config.js';
import { copyTokenizer } from './tokenizer-files.js';
import { clearTrainCache, keptHeads } from './trained-heads.js';

/** Weight types a conversion writes. */
export type ConvertDtype = ModelDtype;
/** How an implicit PRM reads token log-probabilities (implicit.ts). */
type LogProbPath = ImplicitManifest['logProbs'];

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
  /** Heads trained on the earlier conversion in the folder, kept in the new manifest. */
  keptHeads?: string[];
}

const KEYS = is.keysOf<ConvertOptions>()({
  input: true, output: true, dtype: true, int8Form: true, kvCache: true, format: true, separator: true, positive: true, overwrite: true, block: true, accuracyLevel: true, attention: true, attentionChunks: true, fusedNorms: true, hiddenStates: true, backbone: true, onProgress: true,
  reference: true, referenceDtype: true, beta: true, logProbs: true,
});

/** The manifest's description of a KV cache: its shape, and how the graph attends to the past. */
function kvManifest(spec: DecoderSpec, attention: AttentionKind): NonNullable<Manifest['kvCache']> {
  const layout = attention === 'gqa'
    ? 'past_key_values.N.key|value [1, kv_heads, past, head_dim] in (left-aligned; attention_mask sums to used past + new tokens; no position_ids), present.N.key|value out'
    : 'past_key_values.N.key|value [batch, kv_heads, past, head_dim] in, present.N.key|value out';
  return { layers: spec.layers, kvHeads: spec.kvHeads, headDim: spec.headDim, type: 'float32', layout, attention };
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
    return convertPair({ input, reference, output, overwrite, t0, beta, logProbs, progress, dtype, refDtype, int8Form: int8Choice.form, block, accuracyLevel, attention, fusedNorms });
  }
  if (format === 'granite-prm')
    throw new RangeError(`format ${format} reads a token's probability over the whole vocabulary; prmkit convert does not write that reading yet (nor Granite's architecture): export the model with last_hidden_state and load it with head: its lm_head file`);
  for (const k of ['referenceDtype', 'beta', 'logProbs'] as const)
    if (options[k] !== undefined) throw new RangeError(`${k} sets an implicit PRM's conversion; pass reference too`);
  // everything that can refuse the checkpoint runs before the output folder is touched
  const plan = planConversion(input, { dtype, int8Form: int8?.form, kvCache, format, separator, positive, block, accuracyLevel, attention, attentionChunks, fusedNorms, backbone });
  const { spec, ck } = plan;
  // while a chain fits in a sliding window, full attention is exact; longer chains are refused
  const contextLength = Math.min(spec.maxPositions, spec.slidingWindow ?? Infinity);
  // heads trained on an earlier conversion there are kept, or the run stops before writing
  const kept = overwrite ? keptHeads(output, { hiddenStates, hidden: spec.hidden, source: { path: input, bytes: ck.bytes } }) : undefined;
  const folder = OutputFolder.claim(output, overwrite);
  try {
    clearTrainCache(output);
    const copied = copyTokenizer(input, folder);
    progress(`converting ${spec.architecture} (${spec.family}, ${spec.layers} layers, hidden ${spec.hidden}) to ${dtype}${int8 ? ` (${int8.form}: ${int8.why})` : ''}${kvCache ? ' with a KV cache' : ''}, ${plan.graph.attention} attention`);
    const { outputs, bytes } = writeModel(plan, folder, {
      ...plan.graph, ...(hiddenStates && !backbone ? { output: 'both' as const } : {}), onLayer: (l) => progress(`layer ${l + 1}/${spec.layers}`),
    });
    const manifest: Manifest = { ...manifestOf(plan, { copied, outputs, dtype, contextLength, kvCache, fusedNorms, hiddenStates, input }), ...kept };
    folder.finish(manifest);
    return {
      output, manifest, attentionReason: plan.attentionReason, ...(int8 ? { int8 } : {}), sourceBytes: ck.bytes, outputBytes: bytes, largestTensorBytes: ck.largest, seconds: (performance.now() - t0) / 1000,
      ...(kept ? { keptHeads: Object.keys(kept.heads) } : {}),
    };
  } catch (e) {
    folder.abandon();
    throw e;
  }
}

function manifestOf(
  plan: ConversionPlan,
  o: { copied: string[]; outputs: number; dtype: ConvertDtype; contextLength: number; kvCache: boolean; fusedNorms: boolean; hiddenStates: boolean; input: string },
): Manifest {
  const { spec, ck, head, labels } = plan;
  const { dtype, kvCache, fusedNorms, hiddenStates, input } = o;
  return {
    prmkit: MANIFEST_VERSION,
    kind: head.model ?? 'prm',
    format: head.format,
    ...(plan.formatOptions ? { formatOptions: plan.formatOptions } : {}),
    model: 'model.onnx',
    data: 'model.onnx.data',
    tokenizer: o.copied[0],
    dtype,
    contextLength: o.contextLength,
    head: { kind: head.kind, outputs: head.kind === 'none' ? 0 : o.outputs, ...(labels ? { labels } : {}) },
    kvCache: kvCache ? kvManifest(spec, plan.graph.attention) : null,
    decoder: { family: spec.family, hidden: spec.hidden, layers: spec.layers, heads: spec.heads, kvHeads: spec.kvHeads, headDim: spec.headDim, intermediate: spec.intermediate, vocab: spec.vocab },
    ...(dtype === 'int8' || dtype === 'int4' ? { quantization: quantizationOf(plan.graph) } : {}),
    fusedNorms,
    ...(hiddenStates ? { hiddenStates } : {}),
    attention: plan.graph.attention,
    ...(plan.graph.attentionChunks! > 1 ? { attentionChunks: plan.graph.attentionChunks } : {}),
    source: { path: input, architecture: spec.architecture, modelType: spec.family, bytes: ck.bytes },
    converter: 'prmkit convert',
  };
}

/** The two causal LMs of an implicit PRM, each in its own subfolder, and one manifest. */
function convertPair(o: {
  input: string; reference: string; output: string; overwrite: boolean; t0: number; beta: number; logProbs: LogProbPath; progress: (m: string) => void;
  dtype: ConvertDtype; refDtype: ConvertDtype; int8Form: Int8Form; block: number; accuracyLevel: number; attention?: AttentionKind; fusedNorms: boolean;
}): ConvertResult {
  const common = { int8Form: o.int8Form, block: o.block, accuracyLevel: o.accuracyLevel, attention: o.attention, fusedNorms: o.fusedNorms, logProbs: o.logProbs };
  const sides = [
    { name: 'policy', dir: o.input, opts: { ...common, dtype: o.dtype } },
    { name: 'reference', dir: o.reference, opts: { ...common, dtype: o.refDtype } },
  ] as const;
  const plans = sides.map((s) => planLm(s.dir, s.name === 'policy' ? 'input' : 'reference', s.opts));
  checkPair(plans[0].spec, plans[1].spec, o.input, o.reference);
  // an implicit PRM has no hidden states to feed a trained head: refused if the folder has some
  if (o.overwrite) keptHeads(o.output, { hiddenStates: false, implicit: true, hidden: plans[0].spec.hidden, source: { path: o.input, bytes: plans[0].ck.bytes } });
  const folder = OutputFolder.claim(o.output, o.overwrite);
  try {
    clearTrainCache(o.output);
    const copied = copyTokenizer(o.input, folder);
    let bytes = 0;
    const models = sides.map((s, i) => {
      const plan = plans[i];
      const sink = folder.sub(s.name);
      o.progress(`converting the ${s.name} ${plan.spec.architecture} (${plan.spec.layers} layers, hidden ${plan.spec.hidden}) to ${s.opts.dtype}, token log-probabilities by the ${o.logProbs}`);
      bytes += writeModel(plan, sink, { ...plan.graph, onLayer: (l) => o.progress(`${s.name} layer ${l + 1}/${plan.spec.layers}`) }).bytes;
      if (o.logProbs === 'kernel') bytes += writeHeadFile(plan.ck, plan.headTensor, sink, HEAD_FILE);
      return implicitModelOf(plan, s.name, s.opts, s.dir, o.logProbs === 'kernel');
    });
    return finishPair(o, folder, plans, models, copied, bytes);
  } catch (e) {
    folder.abandon();
    throw e;
  }
}

function finishPair(
  o: { output: string; t0: number; beta: number; logProbs: LogProbPath; fusedNorms: boolean },
  folder: OutputFolder,
  plans: ReadonlyArray<ReturnType<typeof planLm>>,
  models: ReturnType<typeof implicitModelOf>[],
  copied: string[],
  bytes: number,
): ConvertResult {
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
  folder.finish(manifest);
  const ck = plans.map((p) => p.ck);
  return {
    output: o.output, manifest, attentionReason: plans[0].attentionReason, sourceBytes: ck[0].bytes + ck[1].bytes, outputBytes: bytes,
    largestTensorBytes: Math.max(ck[0].largest, ck[1].largest), seconds: (performance.now() - o.t0) / 1000,
  };
}
