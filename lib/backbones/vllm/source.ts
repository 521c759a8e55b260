// Step log-probabilities from a remote vLLM PRM: the rows at the boundaries (ALL pooler: one
// row per token) or the rows in order (STEP pooler: one row per step tag) give P(correct)
// at the format's positive class.
//
// Chains that are token-prefixes of one another (a beam's parent and its children, or a
// partial solution and its completion) are sent once, as the longest: a causal PRM reads the
// shorter chains' steps inside it with the same values, and vLLM keeps no prefix cache for
// pooling models, so every repeated prefix would be recomputed on the server.
import type { FormatHead } from '../../formats/types.js';
import type { Boundaries } from '../../kernels/types.js';
import { VllmPoolingClient } from './client.js';
import type { PooledOutput, VllmClientOptions } from './client.js';
import { liveRows } from '../step-source.js';
import type { SourceStats, StepSource, VllmInfo } from '../step-source.js';

function isPrefix(a: Int32Array, b: Int32Array): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function compareIds(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * For each row, the index of the longest row it is a prefix of (itself if none). In
 * lexicographic order every row that extends a row follows it directly, so one pass from
 * the end finds each prefix run's longest member.
 */
export function prefixRepresentatives(rows: readonly Int32Array[]): number[] {
  const order = rows.map((_, i) => i).sort((x, y) => compareIds(rows[x]!, rows[y]!));
  const rep = new Array<number>(rows.length);
  for (let j = order.length - 1; j >= 0; j--) {
    const k = order[j]!;
    const next = order[j + 1];
    rep[k] = next !== undefined && isPrefix(rows[k]!, rows[next]!) ? rep[next]! : k;
  }
  return rep;
}

export class VllmSource implements StepSource {
  readonly info: VllmInfo;
  private readonly counts: SourceStats = { tokens: 0, paddedTokens: 0, calls: 0 };
  /** Aborts requests in flight when the source closes. */
  private readonly closing = new AbortController();

  private constructor(
    readonly client: VllmPoolingClient,
    readonly positive: number,
    /** Values per row (the head's classes), to read flattened base64 answers. */
    readonly classes: number,
  ) {
    this.info = Object.freeze({ kind: 'vllm', url: client.url, kvCache: false } as const);
  }

  /** A source reading `head`'s positive class from the server's token_classify rows (no request is made yet). */
  static connect(options: VllmClientOptions, head: FormatHead): VllmSource {
    const classes = head.labels?.length ?? (head.activation === 'sigmoid' ? 1 : head.outputs);
    return new VllmSource(new VllmPoolingClient(options), head.positive, classes);
  }

  stats(): SourceStats {
    return { ...this.counts };
  }

  async close(): Promise<void> {
    this.closing.abort(new Error(`vllm source for ${this.client.url} is closed`));
  }

  /** Every row through the server, counted; a call in flight when the source closes rejects. */
  private pool(rows: number[][], signal: AbortSignal | undefined, options?: { activation?: boolean }): Promise<PooledOutput[]> {
    this.closing.signal.throwIfAborted();
    const tokens = rows.reduce((a, r) => a + r.length, 0);
    this.counts.tokens += tokens;
    this.counts.paddedTokens += tokens;
    this.counts.calls += Math.ceil(rows.length / this.client.maxBatch);
    return this.client.poolAll(rows, signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal, options);
  }

  /** An answer as rows of `classes` values. */
  private rowsOf(out: PooledOutput, what: string): Float32Array[] {
    const K = out.width ?? this.classes;
    if (out.data.length % K !== 0) throw new Error(`vllm: ${what} came back with ${out.data.length} values, not rows of ${K}`);
    const rows: Float32Array[] = [];
    for (let t = 0; t < out.data.length; t += K) rows.push(out.data.subarray(t, t + K));
    return rows;
  }

  async stepLogProbs(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<Float32Array> {
    const { offsets, positions } = boundaries;
    const out = new Float32Array(positions.length);
    const { live, rows } = liveRows(inputIds, boundaries);
    const rep = prefixRepresentatives(rows);
    const sent = [...new Set(rep)];
    const at = new Map(sent.map((k, j) => [k, j]));
    const res = await this.pool(sent.map((k) => Array.from(rows[k]!)), signal);
    const answers = sent.map((k, j) => this.rowsOf(res[j]!, `item ${live[k]}`));
    live.forEach((item, k) => {
      const r = rep[k]!;
      const probs = answers[at.get(r)!]!;
      const repItem = live[r]!;
      const T = rows[r]!.length;
      const nRep = offsets[repItem + 1]! - offsets[repItem]!;
      const n = offsets[item + 1]! - offsets[item]!;
      const perToken = probs.length === T;
      if (!perToken && probs.length !== nRep)
        throw new Error(`vllm: item ${repItem} came back with ${probs.length} rows; expected ${T} (one per token) or ${nRep} (one per step)`);
      for (let s = 0; s < n; s++) {
        // a prefix's boundaries are the first boundaries of the chain that extends it
        const row = perToken ? probs[positions[offsets[item]! + s]!] : probs[s];
        const p = row?.[this.positive];
        if (typeof p !== 'number' || !(p >= 0 && p <= 1))
          throw new Error(`vllm: item ${item} step ${s}: class ${this.positive} probability is ${String(p)}, not a probability`);
        out[offsets[item]! + s] = Math.log(p);
      }
    });
    return out;
  }

  async classify(rows: readonly Int32Array[], signal?: AbortSignal, options: { activation?: boolean } = {}): Promise<number[][][]> {
    const res = await this.pool(rows.map((r) => Array.from(r)), signal, options);
    return res.map((o, i) => this.rowsOf(o, `input ${i}`).map((r) => Array.from(r)));
  }
}
