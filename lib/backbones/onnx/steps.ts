// The local scoring path: encoded chains → padded, memory-bounded chunks → backbone on worker
// threads → the fused native kernel (gather boundary rows → head → log-score) per chunk.
import { padChunk, planChunks } from '../../batch/index.js';
import type { PadSide } from '../../batch/index.js';
import type { OnnxBackbone } from './backbone.js';
import { gatherRows, scoreBatch } from '../../kernels/index.js';
import { classProbs } from './classify.js';
import { liveRows } from '../step-source.js';
import type { StepSource } from '../step-source.js';
import type { Boundaries, Head } from '../../kernels/types.js';

export interface ChunkingOptions {
  maxOutputBytes?: number;
  maxBatchTokens?: number;
  maxBatch?: number;
  maxPadFraction?: number;
  padding: PadSide;
  padId: number;
}

export interface OnnxStepsStats {
  /** Padded tokens sent through the backbone. */
  paddedTokens: number;
  /** Real (unpadded) tokens sent through the backbone. */
  tokens: number;
  chunks: number;
}

/** Runs `fn` over `n` tasks with at most `limit` in flight (bounds memory held by outputs). */
export async function limited(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) await fn(next++);
  });
  await Promise.all(lanes);
}

export class OnnxSteps implements StepSource {
  readonly stats: OnnxStepsStats = { paddedTokens: 0, tokens: 0, chunks: 0 };

  constructor(
    readonly backbone: OnnxBackbone,
    readonly head: Head,
    readonly output: string,
    /** Width of one output row (hidden size, vocabulary or class count). */
    readonly width: number,
    readonly chunking: ChunkingOptions,
  ) {}

  /**
   * log P(step correct) for every boundary, in CSR order (rows cut as `liveRows` says).
   */
  async stepLogProbs(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<Float32Array> {
    const { offsets, positions } = boundaries;
    const S = positions.length;
    const out = new Float32Array(S);
    const { live, rows } = liveRows(inputIds, boundaries);
    const chunks = this.plan(rows);
    signal?.throwIfAborted();
    await limited(chunks.length, this.backbone.workers, async (c) => {
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
      this.stats.paddedTokens += padded.B * padded.T;
      this.stats.tokens += members.reduce((a, m) => a + rows[m].length, 0);
      this.stats.chunks++;
      const res = await this.backbone.forward({ B: padded.B, T: padded.T, P: 0, ids: padded.ids, mask: padded.mask, positions: padded.positions, output: this.output });
      signal?.throwIfAborted();
      const scored = await scoreBatch(
        { data: res.data, dtype: res.dtype, dims: res.dims },
        { offsets: bOffsets, positions: Int32Array.from(bPositions) },
        this.head,
        { aggregations: [] },
      );
      members.forEach((m, b) => {
        const item = live[m];
        out.set(scored.stepLogProbs.subarray(bOffsets[b], bOffsets[b + 1]), offsets[item]);
      });
    });
    return out;
  }

  /** Memory-bounded, length-bucketed chunks of rows for one backbone call each. */
  private plan(rows: readonly Int32Array[]) {
    return planChunks(rows.map((r) => r.length), {
      bytesPerToken: 4 * this.width,
      maxOutputBytes: this.chunking.maxOutputBytes,
      maxBatchTokens: this.chunking.maxBatchTokens,
      maxBatch: this.chunking.maxBatch,
      maxPadFraction: this.chunking.maxPadFraction,
    });
  }

  /** Per row, every token's class probabilities [T][K] (vLLM's token_classify answer). */
  async classify(rows: readonly Int32Array[], signal?: AbortSignal, options: { activation?: boolean } = {}): Promise<number[][][]> {
    const out: number[][][] = new Array(rows.length);
    const chunks = this.plan(rows);
    await limited(chunks.length, this.backbone.workers, async (c) => {
      signal?.throwIfAborted();
      const members = chunks[c].items;
      const padded = padChunk(members.map((m) => rows[m]), this.chunking.padding, this.chunking.padId);
      const offsets = new Int32Array(members.length + 1);
      const positions: number[] = [];
      members.forEach((m, b) => {
        for (let t = 0; t < rows[m].length; t++) positions.push(padded.shift[b] + t);
        offsets[b + 1] = positions.length;
      });
      const res = await this.backbone.forward({ B: padded.B, T: padded.T, P: 0, ids: padded.ids, mask: padded.mask, positions: padded.positions, output: this.output });
      const gathered = gatherRows({ data: res.data, dtype: res.dtype, dims: res.dims }, { offsets, positions: Int32Array.from(positions) });
      const probs = classProbs(gathered, positions.length, this.width, this.head, options.activation ?? true);
      members.forEach((m, b) => (out[m] = probs.slice(offsets[b], offsets[b + 1])));
    });
    return out;
  }
}
