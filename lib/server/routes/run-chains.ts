// The part every chain-scoring route shares: encoded chains through the scoring batcher under
// the request's deadline, then summarized with the request's aggregation and threshold (per
// request, so requests asking for different ones still share one backbone batch). An outcome
// reward model's chains carry one score each instead, passed on as they are.
import type { FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { ApiError } from '../errors.js';
import { summarize, summarizeRewards } from '../summarize.js';
import type { ChainSummary, RewardSummary } from '../summarize.js';
import { REWARD_AGGREGATIONS } from '../../prm/rewards.js';
import type { ModelChainScore, ModelEncodedChain, ModelOutcome } from '../types.js';
import type { Aggregation } from '../../kernels/types.js';

export interface ChainRun {
  scored: ModelChainScore[];
  /** Per chain, from its step scores (empty for an outcome reward model). */
  summaries: ChainSummary[];
  /** An outcome reward model's score per chain; undefined for a PRM. */
  outcomes?: ModelOutcome[];
  /** Backbone tokens spent, summed over the chains. */
  tokens: number;
}

export async function runChains(
  ctx: ServerContext,
  reply: FastifyReply,
  chains: ModelEncodedChain[],
  aggregate: Aggregation,
  threshold: number,
  rewards?: RewardSummary,
): Promise<ChainRun> {
  const scored = await ctx.guarded(reply, (signal) => ctx.scores.submit(chains, chains.map((c) => c.tokens), signal));
  let tokens = 0;
  for (const s of scored) tokens += s.tokens;
  if (ctx.options.model.kind === 'orm') {
    const outcomes = scored.map((s, i) => {
      if (!s.outcome) throw new Error(`the model (kind 'orm') gave chain ${i} no outcome`);
      return s.outcome;
    });
    return { scored, summaries: [], outcomes, tokens };
  }
  const summaries = ctx.options.model.rewards
    ? summarizeRewards(scored.map((s) => s.stepLogRatios ?? []), rewards ?? rewardSettings(ctx, { aggregate })!)
    : summarize(scored.map((s) => s.stepLogProbs), aggregate, threshold);
  return { scored, summaries, tokens };
}

/** What an outcome ranks by: P(correct) where the model defines one, else the raw reward (always the reward when `activation` is off). */
export function outcomeScore(o: ModelOutcome, activation = true): number {
  return activation ? (o.probability ?? o.reward) : o.reward;
}

/** A request's reward fields, named as in its body. */
export interface RewardFields {
  aggregate?: Aggregation;
  beta?: number;
  rewards?: 'cumulative' | 'step';
  rewardThreshold?: number;
  errorThreshold?: number;
}

/**
 * An implicit PRM's reward settings for a request (the model's defaults where it says
 * nothing); undefined for a probability PRM, which refuses the reward fields. Bad
 * combinations answer 400 naming the field.
 */
export function rewardSettings(ctx: ServerContext, body: RewardFields): RewardSummary | undefined {
  const d = ctx.options.model.rewards;
  if (!d) {
    for (const k of ['beta', 'rewards', 'rewardThreshold'] as const)
      if (body[k] !== undefined) throw new ApiError(400, 'invalid_request_error', `${k} applies to implicit PRMs; this model gives step probabilities`, k);
    return undefined;
  }
  if (body.errorThreshold !== undefined)
    throw new ApiError(400, 'invalid_request_error', "errorThreshold is a probability; this model is an implicit PRM whose rewards are not: send rewardThreshold", 'errorThreshold');
  const how = body.aggregate ?? ctx.options.defaultAggregate;
  if (!(REWARD_AGGREGATIONS as readonly string[]).includes(how))
    throw new ApiError(400, 'invalid_request_error', `aggregate '${how}' multiplies probabilities; this model is an implicit PRM: use one of ${REWARD_AGGREGATIONS.join(', ')}`, 'aggregate');
  return { how: how as RewardSummary['how'], beta: body.beta ?? d.beta, rewards: body.rewards ?? d.rewards, threshold: body.rewardThreshold ?? 0 };
}
