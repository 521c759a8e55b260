// Gathering the training rows: every chain is encoded (the format's text and boundaries, or
// an ORM format's text and its last token), then the frozen backbone runs once per chain
// and its hidden state at each labelled boundary becomes one row of the on-disk cache
// (row-cache.ts). Blocks of chains are appended and recorded in order, so an interrupted
// gather resumes at the first block not recorded and gives the same rows as one that ran
// through.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { padChunk, planChunks, resolveChunking } from '../batch/index.js';
import type { ChunkingOptions } from '../batch/index.js';
import { OnnxBackbone } from '../backbones/onnx/backbone.js';
import type { WorkerOptions } from '../backbones/onnx/backbone.js';
import { limited } from '../backbones/onnx/limited.js';
import { onSnapshot } from '../backbones/onnx/snapshot.js';
import { isInputError } from '../errors.js';
import type { OrmFormat } from '../formats/orm.js';
import type { PrmFormat } from '../formats/types.js';
import { gatherRows } from '../kernels/index.js';
import type { ModelFiles } from '../model/manifest.js';
import { encodeOrmItem } from '../orm/encode.js';
import type { OrmItem } from '../orm/encode.js';
import { fitRow } from '../formats/encode.js';
import type { Overflow } from '../formats/encode.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { checkTrainData } from './data.js';
import type { PrmTrainItem, TrainData } from './data.js';
import type { ChainItem } from '../interfaces.js';
import { RowCacheWriter } from './row-cache.js';

/** Chains encoded for gathering: the rows to read per chain, CSR. */
export interface EncodedTrainSet {
  /** Token ids per chain, cut after its last row's token. */
  ids: Int32Array[];
  /** `[C + 1]`: chain c owns rows `offsets[c] .. offsets[c + 1] - 1`. */
  offsets: Int32Array;
  /** `[N]` the token index of each row in its chain. */
  positions: Int32Array;
  /** `[N]` P(correct). */
  labels: Float32Array;
  /** `[N]` validation group (chains of one problem stay together). */
  groups: Int32Array;
  /** Chains cut at the context (overflow 'truncate'). */
  truncated: number;
}

export interface EncodeTrainOptions {
  format: PrmFormat | OrmFormat;
  tokenizer: PrmTokenizer;
  maxContext?: number;
  overflow: Overflow;
}

/** Encodes and checks every item before any backbone work; errors name the item (`where`). */
export function encodeTrainSet(data: TrainData, o: EncodeTrainOptions): EncodedTrainSet {
  const { kind, labels } = checkTrainData(data);
  const where = data.where ?? ((i: number) => `items[${i}]`);
  const ids: Int32Array[] = [];
  const offsets = new Int32Array(data.items.length + 1);
  const positions: number[] = [];
  const rowLabels: number[] = [];
  const groups: number[] = [];
  const problems = new Map<string, number>();
  let truncated = 0;
  data.items.forEach((item, i) => {
    let row: { ids: Int32Array; positions: Int32Array; cut: boolean };
    try {
      if (kind === 'orm') {
        const r = encodeOrmItem(item as OrmItem, i, { format: o.format as OrmFormat, tokenizer: o.tokenizer, maxContext: o.maxContext, overflow: o.overflow });
        row = { ids: r.ids, positions: Int32Array.of(r.ids.length - 1), cut: r.cut };
      } else {
        const enc = (o.format as PrmFormat).encode(item as PrmTrainItem as ChainItem, o.tokenizer, i);
        row = fitRow(Int32Array.from(enc.ids), Int32Array.from(enc.positions), o.maxContext, o.overflow, `items[${i}]`);
      }
    } catch (e) {
      // the item's own path (`items[i].steps[1]`) becomes the caller's (`file:line: steps[1]`)
      if (isInputError(e) && where(i) !== `items[${i}]`) {
        const rest = e.path.replace(/^items\[\d+\]\.?/, '');
        const message = e.message.slice(e.path.length + 1);
        throw new (e instanceof RangeError ? RangeError : TypeError)(`${where(i)}: ${rest || 'the record'} ${message}`);
      }
      throw e;
    }
    if (row.cut) truncated++;
    const group = problems.get(item.problem) ?? problems.size;
    problems.set(item.problem, group);
    let last = -1;
    row.positions.forEach((p, j) => {
      const y = labels[i][j];
      if (Number.isNaN(y)) return;
      positions.push(p);
      rowLabels.push(y);
      groups.push(group);
      last = p;
    });
    ids.push(row.ids.subarray(0, last + 1));
    offsets[i + 1] = positions.length;
  });
  if (positions.length === 0) throw new RangeError('no labelled step fits: nothing to train on');
  return { ids, offsets, positions: Int32Array.from(positions), labels: Float32Array.from(rowLabels), groups: Int32Array.from(groups), truncated };
}

/** What identifies the rows: the model's files, the format, and every chain as encoded. */
export function rowsKey(set: EncodedTrainSet, model: ModelFiles, format: string): string {
  const h = createHash('sha256');
  const bytes = (a: Int32Array | Float32Array) => h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  const { heads: _h, activeHead: _a, ...manifest } = model.manifest ?? ({} as NonNullable<ModelFiles['manifest']>);
  h.update(JSON.stringify({ manifest, format }));
  for (const f of [model.onnx, `${model.onnx}.data`]) {
    try {
      const s = statSync(f);
      h.update(`${f}:${s.size}:${s.mtimeMs}`);
    } catch {
      h.update(`${f}:absent`);
    }
  }
  for (const r of set.ids) {
    h.update(String(r.length));
    bytes(r);
  }
  bytes(set.offsets);
  bytes(set.positions);
  bytes(set.labels);
  bytes(set.groups);
  return h.digest('hex');
}

export interface GatherOptions {
  model: ModelFiles;
  tokenizer: PrmTokenizer;
  /** The cache folder (created, or resumed when it holds these rows). */
  cache: string;
  key: string;
  /** Row width: the backbone's hidden size. */
  width: number;
  workers?: WorkerOptions;
  chunking?: ChunkingOptions;
  /** Open a private snapshot of the weight files (default true), as scoring does: a file truncated under the gather cannot crash it. */
  snapshot?: boolean;
  /** Chains per recorded block (default 64). */
  blockChains?: number;
  signal?: AbortSignal;
  onProgress?: (p: { chains: number; total: number; rows: number }) => void;
}

export interface GatherReport {
  /** Chains run through the backbone now (0 when the cache was complete). */
  chains: number;
  /** Chains found already gathered. */
  resumedChains: number;
  rows: number;
  /** Real tokens sent through the backbone now. */
  tokens: number;
  seconds: number;
}

function padIdOf(tokenizer: PrmTokenizer): number {
  const pad = tokenizer.config.pad_token;
  const text = typeof pad === 'string' ? pad : (pad as { content?: string } | null)?.content;
  return (text !== undefined ? tokenizer.tokenToId(text) : undefined) ?? 0;
}

/** Runs the backbone over the chains not yet in the cache and appends their rows. */
export async function gatherTrainRows(set: EncodedTrainSet, o: GatherOptions): Promise<GatherReport> {
  const t0 = performance.now();
  const C = set.ids.length;
  const H = o.width;
  const writer = RowCacheWriter.open(o.cache, { key: o.key, width: H, rows: set.positions.length, chains: C }, set.labels, set.groups);
  const resumedChains = writer.progress.chains;
  const report: GatherReport = { chains: 0, resumedChains, rows: set.positions.length, tokens: 0, seconds: 0 };
  let backbone: OnnxBackbone | undefined;
  try {
    if (resumedChains === C) return { ...report, seconds: (performance.now() - t0) / 1000 };
    backbone = await onSnapshot(o.model, o.snapshot, (onnx) => OnnxBackbone.load(onnx, o.workers));
    if (!backbone.info.outputNames.includes('last_hidden_state'))
      throw new RangeError(`${o.model.path} has no last_hidden_state output (it has ${backbone.info.outputNames.join(', ')}); convert the checkpoint again with --hidden-states (hiddenStates: true)`);
    const output = 'last_hidden_state';
    const probe = await backbone.forward({ B: 1, T: 1, P: 0, ids: new Int32Array(1), mask: Int32Array.of(1), positions: new Int32Array(1), output });
    if (probe.dims[2] !== H) throw new RangeError(`${o.model.path}: last_hidden_state has width ${probe.dims[2]}, the manifest says hidden size ${H}`);
    const chunking = resolveChunking(o.chunking ?? {}, { maxBatch: o.model.manifest && backbone.info.provider === 'cpu' ? 1 : undefined, padId: padIdOf(o.tokenizer) });
    const block = o.blockChains ?? 64;
    for (let c0 = writer.progress.chains; c0 < C; c0 += block) {
      o.signal?.throwIfAborted();
      const c1 = Math.min(C, c0 + block);
      const base = set.offsets[c0];
      const out = new Float32Array((set.offsets[c1] - base) * H);
      // chains without rows need no forward pass
      const live = Array.from({ length: c1 - c0 }, (_, k) => c0 + k).filter((c) => set.offsets[c + 1] > set.offsets[c]);
      const chunks = planChunks(live.map((c) => set.ids[c].length), { ...chunking, bytesPerToken: 4 * H });
      const bb = backbone;
      await limited(chunks.length, bb.workers, async (k) => {
        o.signal?.throwIfAborted();
        const members = chunks[k].items.map((m) => live[m]);
        const padded = padChunk(members.map((c) => set.ids[c]), chunking.padding, chunking.padId);
        const offsets = new Int32Array(members.length + 1);
        const at: number[] = [];
        members.forEach((c, b) => {
          for (let r = set.offsets[c]; r < set.offsets[c + 1]; r++) at.push(set.positions[r] + padded.shift[b]);
          offsets[b + 1] = at.length;
        });
        const res = await bb.forward({ B: padded.B, T: padded.T, P: 0, ids: padded.ids, mask: padded.mask, positions: padded.positions, output });
        report.tokens += members.reduce((a, c) => a + set.ids[c].length, 0);
        const rows = gatherRows({ data: res.data, dtype: res.dtype, dims: res.dims }, { offsets, positions: Int32Array.from(at) });
        members.forEach((c, b) => out.set(rows.subarray(offsets[b] * H, offsets[b + 1] * H), (set.offsets[c] - base) * H));
      });
      o.signal?.throwIfAborted();
      writer.append(out, c1 - c0);
      report.chains += c1 - c0;
      o.onProgress?.({ chains: c1, total: C, rows: set.offsets[c1] });
    }
  } finally {
    writer.close();
    await backbone?.close();
  }
  return { ...report, seconds: (performance.now() - t0) / 1000 };
}
