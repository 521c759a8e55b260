// prmkit.json: what a converted folder holds, so `Prm.load({ model: dir })` and
// `prmkit serve -m dir` need no other option. The converter writes it; loaders read it.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { OrmFormatName } from '../formats/orm.js';
import type { CustomFormat, FormatName, FormatSpec, PrmFormat, TrlFormatSpec } from '../formats/types.js';
import { nestsAtMost } from '../is.js';
import type { Head } from '../kernels/types.js';
import type { TrainHead } from '../kernels/bce-types.js';
import { checkManifest } from './manifest-check.js';
import type { HEAD_KINDS, MODEL_DTYPES } from './manifest-check.js';
import { insideFolder } from './paths.js';

/** A trained head's shape, its defaults filled in. */
export type TrainedHeadSpec = TrainHead & { positive: number };

/** How chains were encoded for a PRM head: a format name, trl settings, or a custom format (data only). */
export type HeadFormat = FormatName | OrmFormatName | TrlFormatSpec | CustomFormat;

/** A head trained into the folder (`prmkit train`), as prmkit.json's `heads` lists it. */
export interface TrainedHeadEntry {
  /** The weights, inside the folder. */
  file: string;
  /** 'prm': read at each step's boundary; 'orm': at the last token of the solution. */
  kind: ModelKind;
  /** The format the training rows were read with, and so the one chains are encoded with. */
  format: HeadFormat;
  head: TrainedHeadSpec;
  /** Row width: the backbone's hidden size. */
  width: number;
  /** ISO time it was written. */
  created: string;
  /** How it was trained (data, options, losses), for the record. */
  training?: Record<string, unknown>;
}

export const MANIFEST = 'prmkit.json';
export const MANIFEST_VERSION = 1;
/** A manifest nests a few levels (heads.<name>.head, implicit.policy.decoder, training records). */
const MAX_DEPTH = 16;

/** Weight types of a converted model: float, or block-wise quantized integers. */
export type ModelDtype = (typeof MODEL_DTYPES)[number];
export { MODEL_DTYPES, HEAD_KINDS } from './manifest-check.js';

/** The attention a converted graph uses: onnxruntime's GroupQueryAttention, or plain operators. */
export type AttentionKind = 'gqa' | 'plain';

/**
 * The head a checkpoint carried, as the converter found it ('lm-logprobs': an implicit PRM's
 * causal LMs, read as log-probabilities of their next tokens; 'none': a backbone converted
 * without one, for heads trained with prmkit train).
 */
export type HeadKind = (typeof HEAD_KINDS)[number];

/** One of an implicit PRM's two causal LMs, in its own subfolder. */
export interface ImplicitModel {
  /** File names inside the converted folder (e.g. 'policy/model.onnx'). */
  model: string;
  data: string;
  /**
   * The LM head as the checkpoint stores it (tensor 'lm_head.weight', [vocab, hidden], its own
   * dtype), read by the native LM-head kernel when `logProbs` is 'kernel'.
   */
  head?: string;
  dtype: ModelDtype;
  decoder: Manifest['decoder'];
  quantization?: Manifest['quantization'];
  attention: AttentionKind;
  fusedNorms: boolean;
  source: Manifest['source'];
}

/**
 * An implicit PRM (PRIME's EurusPRM): step rewards q_t = beta * sum over response tokens
 * i <= t of (log policy(y_i) - log reference(y_i)), from two causal LMs.
 */
export interface ImplicitManifest {
  /** The reward scale (the model card's coefficient, 0.001 for EurusPRM). */
  beta: number;
  /**
   * How a token's log-probability is read: 'kernel' (the graphs give last_hidden_state, the
   * native LM-head kernel streams the head file) or 'graph' (the graphs give token_logprobs).
   */
  logProbs: 'kernel' | 'graph';
  policy: ImplicitModel;
  reference: ImplicitModel;
}

/** A process reward model (a score per step) or an outcome reward model (one per solution). */
export type ModelKind = 'prm' | 'orm';

export interface Manifest {
  prmkit: typeof MANIFEST_VERSION;
  /** Absent in folders written before ORMs: a PRM. */
  kind?: ModelKind;
  /** A PRM format name, or an ORM format name when kind is 'orm'. */
  format: FormatName | OrmFormatName;
  /** The settings of a configurable format (trl: its step separator and correct class). */
  formatOptions?: { separator: string; positive: number };
  /** File names inside the folder. */
  model: string;
  data: string;
  tokenizer: string;
  dtype: ModelDtype;
  /** Longest chain the model takes (positions, or a sliding window it must stay inside). */
  contextLength: number;
  head: {
    kind: HeadKind;
    /** Columns of the `logits` output. */
    outputs: number;
    /** LM label texts and their token ids, in column order. */
    labels?: Array<{ text: string; id: number }>;
  };
  /**
   * null without a KV cache. `attention` (absent in folders converted before it was
   * recorded: 'plain'): 'gqa' is GroupQueryAttention with past keys/values, one row per call,
   * positions from the mask's length; 'plain' takes rows of any prefix lengths and position_ids.
   */
  kvCache: null | { layers: number; kvHeads: number; headDim: number; type: 'float32'; layout: string; attention?: 'gqa' | 'plain' };
  decoder: { family: string; hidden: number; layers: number; heads: number; kvHeads: number; headDim: number; intermediate: number; vocab: number };
  /**
   * How the weights were quantized (int8/int4): integer GEMMs (per-channel int8 weights,
   * activations quantized per row at run time) or MatMulNBits blocks.
   */
  quantization?:
    | { scheme: 'integer'; bits: 8; weights: 'per-channel'; activations: string }
    | { scheme: 'MatMulNBits'; bits: number; block: number; accuracyLevel: number };
  fusedNorms: boolean;
  /** The graph also outputs `last_hidden_state` (convert --hidden-states): heads can be trained on it and read from it. */
  hiddenStates?: boolean;
  /** Heads trained on the hidden states (`prmkit train`), by name (lib/model/heads.ts). */
  heads?: Record<string, TrainedHeadEntry>;
  /** The head loaders use by default: a name in `heads`; absent: the converted head. */
  activeHead?: string;
  /** 'gqa' graphs read right-padded rows with positions 0..n-1 (no position_ids input). */
  attention: AttentionKind;
  /** GroupQueryAttention in this many causal chunks per call: the graph takes one row per call. */
  attentionChunks?: number;
  source: { path: string; architecture: string; modelType: string; bytes: number };
  converter: string;
  /** An implicit PRM's two models (the fields above then describe the policy). */
  implicit?: ImplicitManifest;
}

/** The manifest of a converted folder, or undefined when `path` is not one. */
export function readManifest(path: string): Manifest | undefined {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch {
    return undefined;
  }
  if (!dir) return undefined;
  const file = insideFolder(path, MANIFEST, `model: ${path}`);
  if (!existsSync(file)) throw new TypeError(`model: ${path} is a folder without ${MANIFEST}; pass the .onnx file, or convert a checkpoint with \`prmkit convert\``);
  let m: unknown;
  try {
    m = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new TypeError(`model: ${file} is not valid JSON: ${(e as Error).message}`);
  }
  if (!nestsAtMost(m, MAX_DEPTH)) throw new TypeError(`model: ${file} nests deeper than ${MAX_DEPTH} levels; no prmkit manifest does`);
  if (m === null || typeof m !== 'object' || (m as { prmkit?: unknown }).prmkit !== MANIFEST_VERSION)
    throw new TypeError(`model: ${file} is not a prmkit ${MANIFEST_VERSION} manifest (prmkit: ${JSON.stringify((m as { prmkit?: unknown } | null)?.prmkit)})`);
  return checkManifest(m, path) as unknown as Manifest;
}

/** What a converted folder holds: a PRM, or an ORM. */
export function manifestKind(m: Manifest): ModelKind {
  return m.kind ?? 'prm';
}

/** The format a converted folder was made for, with its settings (the head's class count from the head). */
export function manifestFormat(m: Manifest): FormatSpec {
  // a backbone's trl layout has no head of its own to count classes in
  if (m.format === 'trl') return { kind: 'trl', ...(m.formatOptions ?? {}), classes: m.head.kind === 'none' ? 2 : m.head.outputs };
  return m.format as FormatName;
}

/** The kernel head for a converted model: its `logits` columns are the format's classes, in order. */
export function manifestHead(m: Manifest, format: Pick<PrmFormat, 'name' | 'head'>): Head {
  if (m.head.kind === 'none')
    throw new TypeError(`the converted model is a backbone without a head (convert --backbone): train one with prmkit train (trainHead), which makes it the folder's active head, or name one with headName`);
  const want = format.head.labels ? format.head.labels.length : format.head.outputs;
  if (want !== m.head.outputs)
    throw new RangeError(`format ${format.name} reads ${want} classes, but the converted model (${m.format}) gives ${m.head.outputs}; use its format or convert again with --format`);
  if (Boolean(m.head.labels) !== Boolean(format.head.labels))
    throw new RangeError(`format ${format.name} reads ${format.head.labels ? 'LM label logits' : 'a score head'}, but the converted model (${m.format}) has a ${m.head.kind} head`);
  if (m.head.labels && format.head.labels && m.head.labels.some((l, i) => l.text !== format.head.labels![i]))
    throw new RangeError(`format ${format.name} reads labels ${JSON.stringify(format.head.labels)}, the converted model kept ${JSON.stringify(m.head.labels.map((l) => l.text))}`);
  return { kind: 'logits', activation: format.head.activation, positive: format.head.positive };
}

/** What `Prm.load({ model })` names: an .onnx file, or a converted folder and its manifest. */
export interface ModelFiles {
  /** As the caller gave it. */
  path: string;
  /** The ONNX graph to open. */
  onnx: string;
  /** A converted folder's manifest. */
  manifest?: Manifest;
}

export function modelFiles(path: string): ModelFiles {
  const manifest = readManifest(path);
  return manifest ? { path, onnx: join(path, manifest.model), manifest } : { path, onnx: path };
}
