// The part every chain-scoring route shares: encoded chains through the scoring batcher under
// the request's deadline, then summarized with the request's aggregation and threshold (per
// request, so requests asking for different ones still share one backbone batch). An outcome
// reward model's chains carry one score each instead, passed on as they are.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { summarize } from '../summarize.js';
import type { ChainSummary } from '../summarize.js';
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
  request: FastifyRequest,
  reply: FastifyReply,
  chains: ModelEncodedChain[],
  aggregate: Aggregation,
  threshold: number,
): Promise<ChainRun> {
  const scored = await ctx.guarded(request, reply, (signal) => ctx.scores.submit(chains, chains.map((c) => c.tokens), signal));
  let tokens = 0;
  for (const s of scored) tokens += s.tokens;
  if (ctx.options.model.kind === 'orm') {
    const outcomes = scored.map((s, i) => {
      if (!s.outcome) throw new Error(`the model (kind 'orm') gave chain ${i} no outcome`);
      return s.outcome;
    });
    return { scored, summaries: [], outcomes, tokens };
  }
  const summaries = summarize(
    scored.map((s) => s.stepLogProbs),
    aggregate,
    threshold,
  );
  return { scored, summaries, tokens };
}

/** What an outcome ranks by: P(correct) where the model defines one, else the raw reward (always the reward when `activation` is off). */
export function outcomeScore(o: ModelOutcome, activation = true): number {
  return activation ? (o.probability ?? o.reward) : o.reward;
}
