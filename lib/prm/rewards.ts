// An implicit PRM's step rewards, from its per-step log-likelihood ratios, and what the
// scoring calls make of a reward that is not a probability.
//
// The reward: q_t = beta * sum over response tokens i <= t of (log policy(y_i) - log
// reference(y_i)), read at each step's last token ('cumulative', as the model card defines
// it), or its per-step differences q_k - q_{k-1} ('step'). It is a real number (in logit
// units: the implicit PRM is trained so that sigmoid(q) of a whole response is its chance of
// being correct), not a probability, so:
// - no stepProbs / stepLogProbs are given (empty arrays), and aggregates are taken over the
//   rewards themselves: 'min' (EurusPRM-Stage1's ranking), 'last' (the whole response's
//   reward, with cumulative rewards), 'mean'; 'prod' and 'geomean' multiply probabilities and
//   are refused;
// - ranking orders by that aggregate, higher first, as for probabilities;
// - the first error is the first step whose reward is below `rewardThreshold` (default 0: a
//   cumulative q below 0 is a prefix the PRM finds less likely than its reference does, the
//   0.5 of a probability through the sigmoid); `errorThreshold`, a probability, is refused.
import { keysOf, knownKeys, number, object, oneOf, signal as abortSignal } from '../is.js';
import type { Aggregation } from '../kernels/types.js';
import type { PrmScore, RewardKind } from './results.js';

export type { RewardKind } from './results.js';
export const REWARD_KINDS: readonly RewardKind[] = ['cumulative', 'step'];
export type RewardAggregation = 'min' | 'last' | 'mean';
export const REWARD_AGGREGATIONS: readonly RewardAggregation[] = ['min', 'last', 'mean'];

/** A model's reward settings: the manifest's beta, overridable at load and per call. */
export interface RewardDefaults {
  beta: number;
  rewards: RewardKind;
}

export interface RewardCall {
  how: RewardAggregation;
  beta: number;
  rewards: RewardKind;
  threshold: number;
  signal?: AbortSignal;
}

export const REWARD_KEYS = keysOf<{ aggregate: 1; beta: 1; rewards: 1; rewardThreshold: 1; signal: 1 }>()({ aggregate: true, beta: true, rewards: true, rewardThreshold: true, signal: true });

/** beta: a positive finite number. */
export function checkBeta(v: unknown, name = 'beta'): number {
  return number(v, name, 0, Infinity, { openMin: true });
}

/** An aggregation name for rewards: min, last or mean. */
export function rewardAggregation(v: unknown, name = 'aggregate'): RewardAggregation {
  if (v === 'prod' || v === 'geomean')
    throw new RangeError(`${name} '${v}' multiplies probabilities; an implicit PRM's step rewards are log-likelihood ratios, not probabilities: use one of ${REWARD_AGGREGATIONS.join(', ')}`);
  return oneOf(v, name, REWARD_AGGREGATIONS);
}

/** The options of a scoring call on an implicit PRM (plus `extra` keys the caller reads itself). */
export function checkRewardCall(o: unknown, dflt: Aggregation, d: RewardDefaults, extra: readonly string[] = [], name = 'score options'): RewardCall {
  const opts = o === undefined ? {} : object(o, name);
  if (opts.errorThreshold !== undefined)
    throw new RangeError(`errorThreshold is a probability; an implicit PRM's rewards are not: pass rewardThreshold (a reward, default 0) instead`);
  knownKeys(opts, [...REWARD_KEYS, ...extra], name);
  return {
    how: rewardAggregation(opts.aggregate ?? dflt),
    beta: opts.beta === undefined ? d.beta : checkBeta(opts.beta),
    rewards: opts.rewards === undefined ? d.rewards : oneOf(opts.rewards, 'rewards', REWARD_KINDS),
    threshold: opts.rewardThreshold === undefined ? 0 : number(opts.rewardThreshold, 'rewardThreshold'),
    signal: abortSignal(opts.signal),
  };
}

/** One chain's rewards from its per-step log-ratio sums. */
export function stepRewards(ratios: ArrayLike<number>, beta: number, kind: RewardKind): number[] {
  const out: number[] = [];
  let q = 0;
  for (let k = 0; k < ratios.length; k++) {
    q += ratios[k];
    out.push(beta * (kind === 'cumulative' ? q : ratios[k]));
  }
  return out;
}

/** A chain's aggregate reward (NaN for a chain without steps, as for probabilities). */
export function aggregateRewards(r: readonly number[], how: RewardAggregation): number {
  if (r.length === 0) return NaN;
  if (how === 'last') return r[r.length - 1];
  if (how === 'min') return r.reduce((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)));
  return r.reduce((a, b) => a + b, 0) / r.length;
}

/** The first step whose reward is below `threshold`, -1 if none (a NaN reward is never one). */
export function firstRewardBelow(r: readonly number[], threshold: number): number {
  return r.findIndex((x) => x < threshold);
}

export function buildRewardScores(
  ratios: Float64Array,
  offsets: Int32Array,
  call: RewardCall,
  tokens: readonly number[],
  truncated: readonly boolean[],
  ids: ReadonlyArray<string | undefined>,
): PrmScore[] {
  const out: PrmScore[] = [];
  for (let i = 0; i < offsets.length - 1; i++) {
    const r = stepRewards(ratios.subarray(offsets[i], offsets[i + 1]), call.beta, call.rewards);
    const s: PrmScore = { stepProbs: [], stepLogProbs: [], stepRewards: r, score: aggregateRewards(r, call.how), firstError: firstRewardBelow(r, call.threshold), tokens: tokens[i], truncated: truncated[i] };
    if (ids[i] !== undefined) s.id = ids[i];
    out.push(s);
  }
  return out;
}
