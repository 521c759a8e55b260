// The part every chain-scoring route shares: encoded chains through the scoring batcher under
// the request's deadline, then summarized with the request's aggregation and threshold (per
// request, so requests asking for different ones still share one backbone batch).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { summarize } from '../summarize.js';
import type { ChainSummary } from '../summarize.js';
import type { ModelChainScore, ModelEncodedChain } from '../types.js';
import type { Aggregation } from '../../kernels/types.js';

export interface ChainRun {
  scored: ModelChainScore[];
  summaries: ChainSummary[];
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
  const summaries = summarize(
    scored.map((s) => s.stepLogProbs),
    aggregate,
    threshold,
  );
  let tokens = 0;
  for (const s of scored) tokens += s.tokens;
  return { scored, summaries, tokens };
}
