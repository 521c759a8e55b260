// trainHead: a PRM or ORM head fitted on a frozen converted backbone and written into its
// folder. Items are checked and encoded first (errors name the item or line), the backbone
// runs once per chain to gather the rows (cached on disk, resumable), `fitHead` trains the
// head on them, and the head is written beside the converted one (heads/<name>.safetensors,
// an entry in prmkit.json, active unless told otherwise), where Prm.load / Orm.load and
// `prmkit serve` find it.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ChunkingOptions } from '../batch/index.js';
import { checkChunking } from '../batch/index.js';
import type { WorkerOptions } from '../backbones/onnx/backbone.js';
import { resolveFormat } from '../formats/index.js';
import { resolveOrmFormat } from '../formats/orm.js';
import type { OrmFormatName } from '../formats/orm.js';
import type { CustomFormat, FormatName, TrlFormatSpec } from '../formats/types.js';
import * as is from '../is.js';
import type { TrainHead } from '../kernels/bce-types.js';
import { checkHeadName, CONVERTED_HEAD, writeHead } from '../model/heads.js';
import { lockFolder } from '../model/lock.js';
import type { HeadFormat, TrainedHeadEntry } from '../model/heads.js';
import { manifestFormat, manifestKind, modelFiles } from '../model/manifest.js';
import { workerOptions } from '../prm/options.js';
import { checkMaxContext, checkOverflow } from '../formats/encode.js';
import type { Overflow } from '../formats/encode.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';
import type { TrainData } from './data.js';
import { fitHead } from './fit.js';
import { encodeTrainSet, gatherTrainRows, rowsKey } from './gather.js';
import type { GatherReport } from './gather.js';
import { auroc, rowProbs } from './metrics.js';
import { openRowCache, pruneRowCaches } from './row-cache.js';
import { splitRows } from './rows.js';
import type { EpochReport, FitOptions, FitResult } from './types.js';

/** A TrainHead whose MLP width may be left to the model's hidden size. */
export type TrainHeadInput = TrainHead | (Omit<Extract<TrainHead, { kind: 'mlp' }>, 'hidden'> & { hidden?: number });

export type TrainProgress =
  | { phase: 'gather'; chains: number; total: number; rows: number }
  | { phase: 'fit'; epoch: number; epochs: number; report: EpochReport };

export interface TrainHeadOptions {
  /** A folder from `prmkit convert --hidden-states` (its graph gives last_hidden_state). */
  model: string;
  /** What to train on: chains with step labels (kind 'prm') or solutions with outcomes (kind 'orm'). */
  data: TrainData;
  /** The head's name in the folder. */
  name: string;
  /**
   * 'linear' (default; 1 output, sigmoid), 'mlp' (Qwen-style, hidden = the model's, 1 output,
   * sigmoid), or a TrainHead (an MLP's `hidden` defaults to the model's hidden size).
   */
  head?: 'linear' | 'mlp' | TrainHeadInput;
  /**
   * How chains become text and boundaries (a PRM format: name, trl settings or a custom
   * format) or solutions become text (an ORM format name). Default: the folder's own when
   * its kind matches, else 'trl' (PRM) or 'plain-orm' (ORM).
   */
  format?: FormatName | TrlFormatSpec | CustomFormat | OrmFormatName;
  /** The rows' cache folder (default: `train-cache/<key>` in the model folder); false: a temporary one, removed after. */
  cache?: string | false;
  /**
   * Bytes the model folder's train-cache/ may keep once the rows are gathered (default 4 GiB):
   * other data's caches go, least recently used first; this run's rows always stay.
   */
  cacheLimit?: number;
  /** Replace a head of the same name (default false). */
  force?: boolean;
  /** Make it the folder's active head (default true). */
  activate?: boolean;
  maxContext?: number;
  /** Chains over the context: 'error' (default) or 'truncate' (train on the steps that fit). */
  overflow?: Overflow;
  workers?: number | WorkerOptions;
  chunking?: ChunkingOptions;
  /** Open a private snapshot of the model's weight files for the gather (default true; see `Prm.load`). */
  snapshot?: boolean;
  /** Chains per recorded block of the gather (default 64). */
  blockChains?: number;
  /** Rows are held in memory up to this many bytes (default 1 GiB), read from the cache file beyond. */
  memoryBytes?: number;
  /** fitHead's options (epochs, learning rate, weight decay, validation, patience, class weights, seed, ...). */
  fit?: Omit<FitOptions, 'head' | 'onEpoch' | 'signal'>;
  onProgress?: (p: TrainProgress) => void;
  signal?: AbortSignal;
}

export interface TrainHeadResult {
  name: string;
  /** The head's manifest entry, as written. */
  entry: TrainedHeadEntry;
  fit: FitResult;
  gather: GatherReport;
  /** The cache folder (absent when it was temporary). */
  cache?: string;
  /** AUROC of the trained head on the validation rows (labels >= 0.5 positive); NaN without both classes there. */
  validationAuroc: number;
  /** Chains cut at the context (overflow 'truncate'). */
  truncated: number;
}

const KEYS = is.keysOf<TrainHeadOptions>()({
  model: true, data: true, name: true, head: true, format: true, cache: true, cacheLimit: true, force: true, activate: true, maxContext: true, overflow: true,
  workers: true, chunking: true, snapshot: true, blockChains: true, memoryBytes: true, fit: true, onProgress: true, signal: true,
});

function headSpec(h: TrainHeadOptions['head'], H: number): TrainHead {
  if (h === undefined || h === 'linear') return { kind: 'linear', activation: 'sigmoid', outputs: 1 };
  if (h === 'mlp') return { kind: 'mlp', hidden: H, activation: 'sigmoid', outputs: 1 };
  const o = is.object(h, 'options.head', "'linear', 'mlp' or a TrainHead") as unknown as TrainHeadInput;
  return o.kind === 'mlp' && o.hidden === undefined ? { ...o, hidden: H } : (o as TrainHead);
}

/** The format the rows are read with, and how the head's entry records it. */
function pickFormat(o: TrainHeadOptions, kind: 'prm' | 'orm', m: NonNullable<ReturnType<typeof modelFiles>['manifest']>) {
  const same = manifestKind(m) === kind;
  if (kind === 'orm') {
    const name = o.format ?? (same ? m.format : 'plain-orm');
    if (typeof name !== 'string') throw is.invalidType('options.format', 'an ORM format name', name);
    return { format: resolveOrmFormat(name, 'options.format'), record: name as HeadFormat };
  }
  const spec = o.format ?? (same ? manifestFormat(m) : 'trl');
  if (typeof spec === 'object' && spec !== null && typeof (spec as { encode?: unknown }).encode === 'function')
    throw new TypeError('options.format: a format object with code cannot be recorded with the head; pass a format name, a trl spec or a custom format');
  const format = resolveFormat(spec as FormatName);
  // a trl head's class settings belong to the trained head, not to the text layout
  const record: HeadFormat = typeof spec === 'object' && (spec as TrlFormatSpec).kind === 'trl' ? { kind: 'trl', ...((spec as TrlFormatSpec).separator !== undefined ? { separator: (spec as TrlFormatSpec).separator } : {}) } : (spec as HeadFormat);
  return { format, record };
}

/** Gathers rows on the frozen backbone of `options.model`, fits a head and writes it into the folder. */
export async function trainHead(options: TrainHeadOptions): Promise<TrainHeadResult> {
  const o = is.object(options, 'options', 'an object { model, data, name, ... }') as unknown as TrainHeadOptions;
  is.knownKeys(o as unknown as Record<string, unknown>, KEYS);
  const dir = resolve(is.string(o.model, 'options.model', { nonEmpty: true }));
  const name = checkHeadName(o.name, 'options.name');
  if (name === CONVERTED_HEAD) throw new RangeError(`options.name ${JSON.stringify(CONVERTED_HEAD)} is the converted model's own head; pick another name`);
  const model = modelFiles(dir);
  const m = model.manifest;
  if (!m) throw new TypeError(`options.model: ${dir} is not a folder from prmkit convert; a trained head is written into one`);
  const force = o.force === undefined ? false : is.boolean(o.force, 'options.force');
  const activate = o.activate === undefined ? true : is.boolean(o.activate, 'options.activate');
  if (!force && (Object.hasOwn(m.heads ?? {}, name) || existsSync(join(dir, 'heads', `${name}.safetensors`)))) throw new RangeError(`${dir} already has a head named ${JSON.stringify(name)}; pass force (--force) to replace it`);
  const H = m.decoder.hidden;
  const head = headSpec(o.head, H);
  const signal = is.signal(o.signal, 'options.signal');
  const onProgress = is.optionalFunction<(p: TrainProgress) => void>(o.onProgress, 'options.onProgress');
  const overflow = checkOverflow(o.overflow, 'options.overflow');
  const workers = workerOptions(o.workers);
  if (o.chunking !== undefined) checkChunking(o.chunking, 'options.chunking');
  const snapshot = o.snapshot === undefined ? true : is.boolean(o.snapshot, 'options.snapshot');
  const blockChains = o.blockChains === undefined ? 64 : is.positiveInt(o.blockChains, 'options.blockChains');
  const memoryBytes = o.memoryBytes === undefined ? 2 ** 30 : is.nonNegativeInt(o.memoryBytes, 'options.memoryBytes');
  const cacheLimit = o.cacheLimit === undefined ? 4 * 2 ** 30 : is.nonNegativeInt(o.cacheLimit, 'options.cacheLimit');
  const data = is.object(o.data, 'options.data', '{ kind, items }') as unknown as TrainData;
  const kind = is.oneOf(data.kind, 'options.data.kind', ['prm', 'orm'] as const);
  const { format, record } = pickFormat(o, kind, m);
  const tokenizer = PrmTokenizer.load(dir);
  const maxContext = checkMaxContext(o.maxContext, 'options.maxContext') ?? m.contextLength;

  // every item checked and encoded before the backbone runs
  const set = encodeTrainSet(data, { format, tokenizer, maxContext, overflow });
  const key = rowsKey(set, model, JSON.stringify({ kind, record }));
  const cacheRoot = join(dir, 'train-cache');
  const cacheDir = o.cache === undefined || o.cache === false ? undefined : resolve(is.string(o.cache, 'options.cache', { nonEmpty: true }));
  // one run at a time writes into the folder (its cache, its heads, its manifest)
  const lock = lockFolder(dir, 'prmkit train');
  const cache = o.cache === false ? mkdtempSync(join(tmpdir(), 'prmkit-rows-')) : cacheDir ?? join(cacheRoot, key.slice(0, 16));
  try {
    const gather = await gatherTrainRows(set, {
      model, tokenizer, cache, key, width: H, workers, ...(o.chunking ? { chunking: o.chunking } : {}), snapshot, blockChains, signal,
      onProgress: onProgress && ((p) => onProgress({ phase: 'gather', ...p })),
    });
    if (o.cache === undefined) pruneRowCaches(cacheRoot, cache, cacheLimit);
    const rows = await openRowCache(cache, { memoryBytes });
    try {
      const fitOptions = { ...(o.fit ?? {}) } as FitOptions;
      const epochs = fitOptions.epochs ?? 100;
      const fit = await fitHead(rows, {
        ...fitOptions, head, signal,
        ...(onProgress ? { onEpoch: (report: EpochReport) => onProgress({ phase: 'fit', epoch: report.epoch, epochs, report }) } : {}),
      });
      const validation = typeof fitOptions.validation === 'object' ? undefined : splitRows(rows, fitOptions.validation ?? 0.1, fitOptions.seed ?? 0).validation;
      const probs = validation && validation.length > 0 ? await rowProbs(rows, validation, fit.head, fit.params) : new Float64Array(0);
      const validationAuroc = validation && validation.length > 0 ? auroc(probs, Array.from(validation, (i) => rows.labels[i] >= 0.5)) : NaN;
      signal?.throwIfAborted();
      const last = fit.epochs[fit.epochs.length - 1];
      const entry = writeHead(dir, name, {
        kind, format: record, head: fit.head, width: H,
        training: {
          items: data.items.length, rows: rows.rows, trainRows: fit.trainRows, validationRows: fit.validationRows, epochs: fit.epochs.length, bestEpoch: fit.bestEpoch,
          stopReason: fit.stopReason, trainLoss: last?.trainLoss, validationLoss: fit.epochs[fit.bestEpoch - 1]?.validationLoss, validationAuroc: Number.isNaN(validationAuroc) ? null : validationAuroc,
          classWeights: fit.classWeights, options: { ...fitOptions, validation: typeof fitOptions.validation === 'object' ? 'rows' : fitOptions.validation },
        },
      }, fit.params, { force, activate });
      return { name, entry, fit, gather, ...(o.cache === false ? {} : { cache }), validationAuroc, truncated: set.truncated };
    } finally {
      await rows.close();
    }
  } finally {
    if (o.cache === false) rmSync(cache, { recursive: true, force: true });
    lock.release();
  }
}
