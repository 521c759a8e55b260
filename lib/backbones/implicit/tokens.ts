// The bookkeeping of an implicit PRM's reading, apart from any model: which hidden rows of a
// padded chunk predict which response tokens, and how per-token log-ratios fold into steps.
// Token i of a row (i >= the response start) is predicted by row position i - 1; step k owns
// the tokens after step k - 1's last token up to and including its own (step 0 from the
// response start).
import type { PaddedChunk } from '../../batch/index.js';

export interface ChunkTokens {
  /** Flat [B * T] row index predicting each read token. */
  rows: Int32Array;
  /** The token each row predicts. */
  targets: Int32Array;
  /** Per step of the chunk's chains (in the caller's CSR order): [first, end) into the tokens. */
  spans: Array<{ step: number; from: number; to: number }>;
}

/**
 * The tokens a chunk reads. `members[b]` is the chunk's row b: its ids, its response start and
 * the CSR step range [s0, s1) of its boundaries in `positions` (each its step's last token).
 */
export function chunkTokens(
  padded: Pick<PaddedChunk, 'T' | 'shift'>,
  members: ReadonlyArray<{ ids: Int32Array; start: number; s0: number; s1: number }>,
  positions: Int32Array,
): ChunkTokens {
  let n = 0;
  for (const m of members) if (m.s1 > m.s0) n += positions[m.s1 - 1] - m.start + 1;
  const rows = new Int32Array(n);
  const targets = new Int32Array(n);
  const spans: ChunkTokens['spans'] = [];
  let at = 0;
  members.forEach((m, b) => {
    if (m.s1 === m.s0) return;
    const base = b * padded.T + padded.shift[b];
    let from = m.start;
    for (let s = m.s0; s < m.s1; s++) {
      const last = positions[s];
      spans.push({ step: s, from: at, to: at + last - from + 1 });
      for (let i = from; i <= last; i++, at++) {
        rows[at] = base + i - 1;
        targets[at] = m.ids[i];
      }
      from = last + 1;
    }
  });
  return { rows, targets, spans };
}

/** out[step] = sum over the step's tokens of policy - reference (float64). */
export function foldSteps(spans: ChunkTokens['spans'], policy: ArrayLike<number>, reference: ArrayLike<number>, out: Float64Array): void {
  for (const { step, from, to } of spans) {
    let s = 0;
    for (let i = from; i < to; i++) s += policy[i] - reference[i];
    out[step] = s;
  }
}
