// POST /v1/prm/rerank, prmkit's own: one problem, candidate solutions (arrays of steps) →
// ranked best first, with each candidate's step probabilities and first error; from an
// outcome reward model, with each candidate's reward (and probability) instead.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { checkChains } from '../limits.js';
import { checkModelName } from './model-name.js';
import { prmRerankBody } from '../schemas.js';
import type { PrmRerankBody } from '../schemas.js';
import { rank } from '../summarize.js';
import { outcomeScore, rewardSettings, runChains } from './run-chains.js';
import type { Aggregation } from '../../kernels/types.js';
import type { ChainItem } from '../../interfaces.js';

export interface PrmRerankResult {
  /** Position of the candidate in the request. */
  index: number;
  /** 1 = best. */
  rank: number;
  score: number;
  /** A PRM's first step below the threshold (-1: none); absent from an outcome reward model. */
  firstError?: number;
  stepProbs?: number[];
  /** An outcome reward model's raw reward and, where it defines one, P(correct). */
  reward?: number;
  probability?: number;
  /** An implicit PRM's step rewards (with returnStepProbs). */
  stepRewards?: number[];
}

export interface PrmRerankResponse {
  model: string;
  aggregate: Aggregation;
  results: PrmRerankResult[];
  usage: { tokens: number };
}

export function registerPrmRerank(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: PrmRerankBody }>('/v1/prm/rerank', { schema: { body: prmRerankBody }, onRequest: ctx.shedWhenFull('scores') }, async (request, reply) => {
    const body = request.body;
    const o = ctx.options;
    checkModelName(body.model, o.modelName);
    const items: ChainItem[] = body.candidates.map((steps) => ({ problem: body.problem, steps }));
    const chains = await checkChains(items, 'candidates', (i) => `candidates[${i}]`, (i, k) => `candidates[${i}][${k}]`, o.limits, ctx.chains, 'problem');
    const rewards = rewardSettings(ctx, body);
    const how = rewards?.how ?? body.aggregate ?? o.defaultAggregate;
    const threshold = body.errorThreshold ?? o.errorThreshold;
    const withSteps = body.returnStepProbs ?? true;

    const { summaries, outcomes, tokens } = await runChains(ctx, reply, chains, how, threshold, rewards);
    if (outcomes) {
      const order = rank(outcomes.map((x) => outcomeScore(x)));
      const results = order.slice(0, Math.min(body.topN ?? order.length, order.length)).map((i, r): PrmRerankResult => ({
        index: i, rank: r + 1, score: outcomeScore(outcomes[i]!), reward: outcomes[i]!.reward,
        ...(outcomes[i]!.probability !== undefined ? { probability: outcomes[i]!.probability } : {}),
      }));
      return { model: o.modelName, kind: 'orm', results, usage: { tokens } };
    }
    const order = rank(summaries.map((s) => s.score));
    const topN = Math.min(body.topN ?? order.length, order.length);
    const results: PrmRerankResult[] = [];
    for (let r = 0; r < topN; r++) {
      const i = order[r]!;
      const c: PrmRerankResult = { index: i, rank: r + 1, score: summaries[i]!.score, firstError: summaries[i]!.firstError };
      if (withSteps && rewards) c.stepRewards = summaries[i]!.stepRewards;
      else if (withSteps) c.stepProbs = summaries[i]!.stepProbs;
      results.push(c);
    }
    const response: PrmRerankResponse = { model: o.modelName, aggregate: how, results, usage: { tokens } };
    return response;
  });
}
