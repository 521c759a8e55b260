// The local scoring path: an ONNX decoder opened on worker threads, with its head resolved,
// as a StepSource. Encoded chains → padded, memory-bounded chunks → backbone → the fused
// native kernel (gather boundary rows → head → log-score) per chunk.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { padChunk, planChunks, resolveChunking } from '../../batch/index.js';
import type { ChunkingOptions } from '../../batch/index.js';
import type { PrmFormat } from '../../formats/types.js';
import { gatherRows, scoreBatch } from '../../kernels/index.js';
import type { Boundaries, Head, Hidden } from '../../kernels/types.js';
import { manifestHead } from '../../model/manifest.js';
import type { ModelFiles } from '../../model/manifest.js';
import { graphFacts } from '../../model/onnx-metadata.js';
import type { GraphFacts } from '../../model/onnx-metadata.js';
import type { PrmTokenizer } from '../../tokenize/tokenizer.js';
import { liveRows } from '../step-source.js';
import type { HeadValues, OnnxInfo, SourceStats, StepSource } from '../step-source.js';
import { firstLayer } from './applied-head.js';
import type { AppliedHead, MlpFirstLayer } from './applied-head.js';
import { defaultWorkerCount, OnnxBackbone } from './backbone.js';
import type { ForwardRequest, ForwardResult, WorkerOptions } from './backbone.js';
import { classProbs } from './classify.js';
import { resolveHead } from './head.js';
import type { HeadSource } from './head.js';
import { OnnxKvCache } from './kv-cache.js';
import type { KvShape } from './kv-cache.js';
import { resolveVocabHead, vocabLogProbs } from './vocab-head.js';
import type { VocabHead } from './vocab-head.js';
import { limited } from './limited.js';
import { onSnapshot } from './snapshot.js';
import { probeProviders } from './providers.js';

export type Output = 'logits' | 'last_hidden_state';

export interface OnnxSourceOptions {
  model: ModelFiles;
  /** The format whose head convention the model's output is read with (its name, for messages). */
  format: Pick<PrmFormat, 'name' | 'head'>;
  /** Label token ids and the pad token come from it. */
  tokenizer: PrmTokenizer;
  /** Head weights when the model outputs last_hidden_state. */
  head?: HeadSource;
  /** A head trained on the hidden states (lib/model/heads.ts): read from last_hidden_state instead of the model's own head. */
  trained?: AppliedHead;
  output?: Output;
  workers?: WorkerOptions;
  chunking?: ChunkingOptions;
  /**
   * Open a private snapshot of the model's external data (default true), so that a data file
   * truncated or rewritten in place under the running process cannot crash it; false maps
   * the files themselves (no copy, but truncating them in place then kills the process).
   */
  snapshot?: boolean;
}

/** Chunking with every default filled in. */
export type Chunking = Required<ChunkingOptions>;

function pickOutput(names: readonly string[], asked: Output | undefined): Output {
  const output = asked ?? (names.includes('logits') ? 'logits' : names.includes('last_hidden_state') ? 'last_hidden_state' : undefined);
  if (!output || !names.includes(output)) throw new RangeError(`the model has no ${asked ?? "'logits' or 'last_hidden_state'"} output (it has ${names.join(', ')})`);
  return output;
}

/** The tokenizer's pad token id, else 0. */
export function padIdOf(tokenizer: PrmTokenizer): number {
  const pad = tokenizer.config.pad_token;
  const text = typeof pad === 'string' ? pad : (pad as { content?: string } | null)?.content;
  return (text !== undefined ? tokenizer.tokenToId(text) : undefined) ?? 0;
}

/**
 * How a KV graph attends: without position_ids it is GroupQueryAttention with past keys/values
 * (positions follow from the mask's length, as onnxruntime's operator reads them).
 */
export function kvAttention(inputNames: readonly string[]): 'gqa' | 'plain' {
  return inputNames.includes('position_ids') ? 'plain' : 'gqa';
}

/** The caller's worker options, with a converted folder's default count on the cpu. */
function workersFor(o: OnnxSourceOptions): WorkerOptions | undefined {
  const m = o.model.manifest;
  if (!m || o.workers?.count !== undefined || probeProviders(o.workers?.executionProvider ?? 'auto').providers[0] !== 'cpu') return o.workers;
  const files = [m.model, m.data].map((f) => join(o.model.path, f)).filter((f) => existsSync(f));
  return { ...o.workers, count: defaultWorkerCount(files.reduce((a, f) => a + statSync(f).size, 0)) };
}

export class OnnxSource implements StepSource {
  readonly info: OnnxInfo;
  readonly cache?: OnnxKvCache;
  private readonly counts: SourceStats = { tokens: 0, paddedTokens: 0, calls: 0 };

  private constructor(
    private readonly backbone: OnnxBackbone,
    /** The head over the output rows, or over a trained MLP's first-layer activations. */
    readonly head: Head,
    readonly output: Output,
    /** Width of one output row (hidden size, vocabulary or class count). */
    readonly width: number,
    readonly chunking: Chunking,
    /** A trained MLP head's first layer, applied to the gathered rows before `head`. */
    private readonly first?: MlpFirstLayer,
    /** A head read over the whole vocabulary (P("Y")): `head` is then unused. */
    private readonly vocab?: VocabHead,
    /** Bytes of keys/values each worker keeps for the cached forward. */
    kvMemory?: number,
  ) {
    const b = backbone.info;
    const kv: KvShape | undefined = b.layers > 0 && b.kvHeads !== undefined && b.headDim !== undefined
      ? { layers: b.layers, kvHeads: b.kvHeads, headDim: b.headDim, type: b.kvType, attention: kvAttention(b.inputNames) } : undefined;
    this.info = Object.freeze({
      kind: 'onnx', provider: b.provider, providerNote: b.providerNote, output, head: vocab ? 'vocabulary' : first ? 'mlp' : head.kind, workers: backbone.workers,
      threadIds: b.threadIds, inputNames: b.inputNames, outputNames: b.outputNames, kvCache: kv !== undefined, ...(kv ? { kv } : {}),
    } as const);
    if (kv) this.cache = new OnnxKvCache(this, kv, kvMemory);
  }

  /**
   * Opens the model on worker threads and resolves how its output is read: which output,
   * its width (one token through the model), the head (from the manifest, the graph's logits
   * or weight files), the pad token and the chunking defaults.
   */
  static async open(o: OnnxSourceOptions): Promise<OnnxSource> {
    const m = o.model.manifest;
    // a bare .onnx says how it was converted in its metadata, as a folder's manifest does
    const graph: GraphFacts = m ?? graphFacts(o.model.onnx);
    if (graph.attention === 'gqa' && o.chunking?.padding === 'left')
      throw new RangeError(`chunking.padding: ${o.model.path} was converted with fused attention (GroupQueryAttention), which reads right-padded rows only; drop padding: 'left' or convert with attention 'plain'`);
    // a graph whose attention runs in causal chunks takes one row per call (onnxruntime runs
    // its past keys/values for one row only)
    const oneRow = (graph.attentionChunks ?? 1) > 1;
    if (oneRow && (o.chunking?.maxBatch ?? 1) > 1)
      throw new RangeError(`chunking.maxBatch: ${o.model.path} was converted with attention in causal chunks, which takes one row per call; drop maxBatch or convert with attentionChunks 1`);
    const backbone = await onSnapshot(o.model, o.snapshot, (onnx) => OnnxBackbone.load(onnx, workersFor(o)));
    try {
      // GroupQueryAttention with past keys/values runs one row per multi-token call too
      const gqaKv = backbone.info.layers > 0 && kvAttention(backbone.info.inputNames) === 'gqa';
      if (gqaKv && (o.chunking?.maxBatch ?? 1) > 1)
        throw new RangeError(`chunking.maxBatch: ${o.model.path} has GroupQueryAttention with past keys/values, which takes one row per call; drop maxBatch or convert with attention 'plain'`);
      const t = o.trained;
      if (t && !backbone.info.outputNames.includes('last_hidden_state'))
        throw new RangeError(`${o.model.path} has no last_hidden_state output, which a trained head reads; convert the checkpoint again with --hidden-states`);
      if (t && o.output === 'logits') throw new TypeError("output 'logits' cannot be read with a trained head, which reads last_hidden_state");
      // a head over the whole vocabulary reads the hidden states, whatever else the graph gives
      const output = t ? 'last_hidden_state' : pickOutput(backbone.info.outputNames, o.output ?? (o.format.head.vocabulary ? 'last_hidden_state' : undefined));
      const probe = await backbone.forward({ B: 1, T: 1, P: 0, ids: new Int32Array(1), mask: new Int32Array(1).fill(1), positions: new Int32Array(1), output });
      const width = probe.dims[2];
      if (t && t.width !== width) throw new RangeError(`the trained head reads rows of width ${t.width}, the model's hidden size is ${width}`);
      if (m && o.format.head.vocabulary) throw new RangeError(`format ${o.format.name} reads a token's probability over the whole vocabulary, which a converted folder does not keep; load the model's ONNX export with output 'last_hidden_state' and head: its lm_head file`);
      const vocab = !t && o.format.head.vocabulary ? resolveVocabHead({ name: o.format.name, format: o.format.head, tokenizer: o.tokenizer, output, width, source: o.head }) : undefined;
      // a vocabulary head has one output, P(label): the kernels' head below only sizes answers
      const head: Head = vocab ? { kind: 'logits', activation: 'softmax', positive: 0, columns: Int32Array.of(0) }
        : t ? t.head : m ? manifestHead(m, o.format) : resolveHead({ format: o.format.head, tokenizer: o.tokenizer, output, width, source: o.head, modelPath: o.model.onnx });
      const chunking = resolveChunking(o.chunking ?? {}, {
        // a converted model on the cpu runs one chain per call: padding is pure waste there and
        // a chain of a few hundred tokens already fills the matrix kernels (bench:convert)
        maxBatch: oneRow || gqaKv || (m && backbone.info.provider === 'cpu') ? 1 : undefined,
        padId: padIdOf(o.tokenizer),
      });
      return new OnnxSource(backbone, head, output, width, chunking, t?.first, vocab, o.workers?.kvMemory);
    } catch (e) {
      await backbone.close();
      throw e;
    }
  }

  get workers(): number {
    return this.backbone.workers;
  }

  /** One counted forward pass (`tokens`: the real ones among B x T), on `worker` when given. */
  forward(req: ForwardRequest, tokens: number, worker?: number): Promise<ForwardResult> {
    this.counts.tokens += tokens;
    this.counts.paddedTokens += req.B * req.T;
    this.counts.calls++;
    return this.backbone.forward(req, worker);
  }

  /** Worker `worker` drops kept keys/values. */
  free(worker: number, blocks: number[]): void {
    this.backbone.free(worker, blocks);
  }

  stats(): SourceStats {
    return { ...this.counts };
  }

  /** Memory-bounded, length-bucketed chunks of rows for one backbone call each. */
  plan(lengths: readonly number[]) {
    return planChunks(lengths, { ...this.chunking, bytesPerToken: 4 * this.width });
  }

  /**
   * Runs the live rows in chunks and hands each chunk's output, with its boundaries in padded
   * coordinates, to `read`; `place` copies a chunk's per-boundary results (`width` numbers
   * each) into the caller's CSR order.
   */
  private async atBoundaries(
    inputIds: readonly Int32Array[],
    boundaries: Boundaries,
    signal: AbortSignal | undefined,
    read: (res: ForwardResult, b: Boundaries) => Promise<Float32Array>,
    out: Float32Array,
    width: number,
  ): Promise<Float32Array> {
    const { offsets, positions } = boundaries;
    const { live, rows } = liveRows(inputIds, boundaries);
    const chunks = this.plan(rows.map((r) => r.length));
    signal?.throwIfAborted();
    await limited(chunks.length, this.workers, async (c) => {
      signal?.throwIfAborted();
      const members = chunks[c].items;
      const padded = padChunk(members.map((m) => rows[m]), this.chunking.padding, this.chunking.padId);
      const bOffsets = new Int32Array(members.length + 1);
      const bPositions: number[] = [];
      members.forEach((m, b) => {
        const item = live[m];
        for (let s = offsets[item]; s < offsets[item + 1]; s++) bPositions.push(positions[s] + padded.shift[b]);
        bOffsets[b + 1] = bPositions.length;
      });
      const real = members.reduce((a, m) => a + rows[m].length, 0);
      const res = await this.forward({ B: padded.B, T: padded.T, P: 0, ids: padded.ids, mask: padded.mask, positions: padded.positions, output: this.output }, real);
      signal?.throwIfAborted();
      const got = await read(res, { offsets: bOffsets, positions: Int32Array.from(bPositions) });
      members.forEach((m, b) => out.set(got.subarray(bOffsets[b] * width, bOffsets[b + 1] * width), offsets[live[m]] * width));
    });
    return out;
  }

  /** log P(step correct) for every boundary, in CSR order (rows cut as `liveRows` says). */
  stepLogProbs(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<Float32Array> {
    const out = new Float32Array(boundaries.positions.length);
    return this.atBoundaries(inputIds, boundaries, signal, (res, b) => this.scoreAt(res, b), out, 1);
  }

  /**
   * What the head reads at boundaries `b` of a forward pass: the output itself, or a trained
   * MLP's first-layer activations at those boundaries (`[1, S, hidden]`, one row per boundary).
   */
  private async headInput(res: ForwardResult, b: Boundaries): Promise<{ hidden: Hidden; at: Boundaries; width: number }> {
    const hidden: Hidden = { data: res.data, dtype: res.dtype, dims: res.dims };
    if (!this.first) return { hidden, at: b, width: this.width };
    const n = b.positions.length;
    const act = await firstLayer(gatherRows(hidden, b), n, this.width, this.first);
    const M = this.first.hidden;
    return { hidden: { data: act, dtype: 'float32', dims: [1, n, M] }, at: { offsets: Int32Array.of(0, n), positions: Int32Array.from({ length: n }, (_, i) => i) }, width: M };
  }

  /** log P(step correct) at boundaries `b` of a forward pass, in CSR order. */
  async scoreAt(res: ForwardResult, b: Boundaries): Promise<Float32Array> {
    if (this.vocab) return vocabLogProbs(res, b, this.vocab);
    const { hidden, at } = await this.headInput(res, b);
    return (await scoreBatch(hidden, at, this.head, { aggregations: [] })).stepLogProbs;
  }

  /** Outputs of the head per position: its label columns, its linear rows, or the whole output row. */
  get headOutputs(): number {
    const h = this.head;
    return h.kind === 'linear' ? h.outputs : h.columns ? h.columns.length : this.width;
  }

  /** The head's raw outputs at every boundary, `headOutputs` numbers each, in CSR order. */
  headValues(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<HeadValues> {
    const K = this.headOutputs;
    const out = new Float32Array(boundaries.positions.length * K);
    const read = async (res: ForwardResult, b: Boundaries) => {
      // a vocabulary head's raw output is log P(label): its logit minus the log-sum-exp
      if (this.vocab) return vocabLogProbs(res, b, this.vocab);
      const n = b.positions.length;
      const { hidden, at, width } = await this.headInput(res, b);
      return Float32Array.from(classProbs(gatherRows(hidden, at), n, width, this.head, false).flat());
    };
    return this.atBoundaries(inputIds, boundaries, signal, read, out, K).then((values) => ({ values, outputs: K }));
  }

  /** Per row, every token's class probabilities [T][K] (vLLM's token_classify answer). */
  async classify(rows: readonly Int32Array[], signal?: AbortSignal, options: { activation?: boolean } = {}): Promise<number[][][]> {
    const out: number[][][] = new Array(rows.length);
    const chunks = this.plan(rows.map((r) => r.length));
    await limited(chunks.length, this.workers, async (c) => {
      signal?.throwIfAborted();
      const members = chunks[c].items;
      const padded = padChunk(members.map((m) => rows[m]), this.chunking.padding, this.chunking.padId);
      const offsets = new Int32Array(members.length + 1);
      const positions: number[] = [];
      members.forEach((m, b) => {
        for (let t = 0; t < rows[m].length; t++) positions.push(padded.shift[b] + t);
        offsets[b + 1] = positions.length;
      });
      const res = await this.forward({ B: padded.B, T: padded.T, P: 0, ids: padded.ids, mask: padded.mask, positions: padded.positions, output: this.output }, positions.length);
      if (this.vocab) {
        const lp = await vocabLogProbs(res, { offsets, positions: Int32Array.from(positions) }, this.vocab);
        const act = options.activation ?? true;
        members.forEach((m, b) => (out[m] = Array.from(lp.subarray(offsets[b], offsets[b + 1]), (x) => [act ? Math.exp(x) : x])));
        return;
      }
      const { hidden, at, width } = await this.headInput(res, { offsets, positions: Int32Array.from(positions) });
      const probs = classProbs(gatherRows(hidden, at), positions.length, width, this.head, options.activation ?? true);
      members.forEach((m, b) => (out[m] = probs.slice(offsets[b], offsets[b + 1])));
    });
    return out;
  }

  close(): Promise<void> {
    return this.backbone.close();
  }
}
