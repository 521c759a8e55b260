// Step log-probabilities → step probabilities, chain aggregates, first error and ranks, with
// the project's kernels. The batcher carries only each chain's step log-probabilities (the
// backbone's own numbers), so requests asking for different aggregations or thresholds still
// share one backbone batch; this runs per request after, once.
import { aggregate, firstError, rankGroups } from '../kernels/index.js';
import { AGGREGATIONS } from '../kernels/types.js';
import type { Aggregation } from '../kernels/types.js';
import { aggregateRewards, firstRewardBelow, REWARD_AGGREGATIONS, stepRewards } from '../prm/rewards.js';
import type { RewardAggregation, RewardKind } from '../prm/rewards.js';

export interface ChainSummary {
  stepProbs: number[];
  /** The requested aggregate, as a probability. */
  score: number;
  /** The requested aggregate in log space, as the kernels reduced it. */
  logScore: number;
  /** Every aggregate, as a probability (an implicit PRM: min, last and mean of its rewards). */
  aggregates: Partial<Record<Aggregation, number>>;
  firstError: number;
  /** An implicit PRM's step rewards (its stepProbs are empty). */
  stepRewards?: number[];
}

/** How an implicit PRM's chains become rewards, per request. */
export interface RewardSummary {
  how: RewardAggregation;
  beta: number;
  rewards: RewardKind;
  threshold: number;
}

/** `chains[i]` holds chain i's per-step log-likelihood ratios (lib/prm/rewards.ts says how they are read). */
export function summarizeRewards(chains: readonly (readonly number[])[], r: RewardSummary): ChainSummary[] {
  return chains.map((c) => {
    const q = stepRewards(c, r.beta, r.rewards);
    const aggregates: Partial<Record<Aggregation, number>> = {};
    for (const a of REWARD_AGGREGATIONS) aggregates[a] = aggregateRewards(q, a);
    const score = aggregates[r.how]!;
    return { stepProbs: [], stepRewards: q, score, logScore: score, aggregates, firstError: firstRewardBelow(q, r.threshold) };
  });
}

// one thread: these arrays are tiny and the request handler must not wake a thread pool
const KERNEL = { threads: 1 } as const;

/** `chains[i]` holds chain i's log P(step correct) per step. */
export function summarize(chains: readonly (readonly number[])[], how: Aggregation, threshold: number): ChainSummary[] {
  const offsets = new Int32Array(chains.length + 1);
  chains.forEach((c, i) => (offsets[i + 1] = offsets[i]! + c.length));
  const logs = new Float32Array(offsets[chains.length]!);
  chains.forEach((c, i) => logs.set(c, offsets[i]));
  const all = {} as Record<Aggregation, Float32Array>;
  for (const a of AGGREGATIONS) all[a] = aggregate({ stepLogProbs: logs, offsets, how: a }, KERNEL);
  const first = firstError({ stepLogProbs: logs, offsets, threshold }, KERNEL);
  return chains.map((c, i) => {
    const aggregates = {} as Record<Aggregation, number>;
    for (const a of AGGREGATIONS) aggregates[a] = Math.exp(all[a][i]!);
    return { stepProbs: c.map(Math.exp), score: aggregates[how], logScore: all[how][i]!, aggregates, firstError: first[i]! };
  });
}

/** Candidate indices best first; NaN scores (empty chains) last, ties by index. */
export function rank(scores: readonly number[]): number[] {
  return Array.from(rankGroups({ scores: Float32Array.from(scores), groupOffsets: Int32Array.of(0, scores.length) }, KERNEL));
}
