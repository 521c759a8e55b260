// Step probabilities → chain aggregates, first error and ranks, with the project's kernels.
// The batcher carries only step probabilities, so requests asking for different
// aggregations or thresholds still share one backbone batch; this runs per request after.
import { toLogSpace } from '../batch/log-space.js';
import { aggregate, firstError, rankGroups } from '../kernels/index.js';
import { AGGREGATIONS } from '../kernels/types.js';
import type { Aggregation } from '../kernels/types.js';

export interface ChainSummary {
  score: number;
  aggregates: Record<Aggregation, number>;
  firstError: number;
}

// one thread: these arrays are tiny and the request handler must not wake a thread pool
const KERNEL = { threads: 1 } as const;

export function summarize(chains: readonly (readonly number[])[], how: Aggregation, threshold: number): ChainSummary[] {
  const { logs, offsets } = toLogSpace(chains);
  const all = {} as Record<Aggregation, Float32Array>;
  for (const a of AGGREGATIONS) all[a] = aggregate({ stepLogProbs: logs, offsets, how: a }, KERNEL);
  const first = firstError({ stepLogProbs: logs, offsets, threshold }, KERNEL);
  const out: ChainSummary[] = [];
  for (let i = 0; i < chains.length; i++) {
    const aggregates = {} as Record<Aggregation, number>;
    for (const a of AGGREGATIONS) aggregates[a] = Math.exp(all[a][i]!);
    out.push({ score: aggregates[how], aggregates, firstError: first[i]! });
  }
  return out;
}

/** Candidate indices best first; NaN scores (empty chains) last, ties by index. */
export function rank(scores: readonly number[]): number[] {
  return Array.from(rankGroups({ scores: Float32Array.from(scores), groupOffsets: Int32Array.of(0, scores.length) }, KERNEL));
}
