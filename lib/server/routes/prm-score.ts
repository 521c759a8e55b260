// POST /v1/prm/score, prmkit's own: chains of steps in, per-step probabilities, every aggregate
// and the first error out. From an outcome reward model: one score per chain (the reward, the
// probability where the model defines one), and no step scores.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { checkChains } from '../limits.js';
import { checkModelName } from './model-name.js';
import { prmScoreBody } from '../schemas.js';
import type { PrmScoreBody } from '../schemas.js';
import { outcomeScore, rewardSettings, runChains } from './run-chains.js';
import type { ChainResult, OrmChainResult } from '../types.js';
import type { ChainItem } from '../../interfaces.js';

export interface PrmScoreResponse {
  model: string;
  aggregate: string;
  results: ChainResult[];
  usage: { tokens: number };
}

/** /v1/prm/score's answer from an outcome reward model. */
export interface OrmScoreResponse {
  model: string;
  kind: 'orm';
  results: OrmChainResult[];
  usage: { tokens: number };
}

export function registerPrmScore(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: PrmScoreBody }>('/v1/prm/score', { schema: { body: prmScoreBody }, onRequest: ctx.shedWhenFull('scores') }, async (request, reply) => {
    const body = request.body;
    const o = ctx.options;
    checkModelName(body.model, o.modelName);
    const items: ChainItem[] = body.items.map((it) => (it.id === undefined ? { problem: it.problem, steps: it.steps } : it));
    const chains = await checkChains(items, 'items', (i) => `items[${i}]`, (i, k) => `items[${i}].steps[${k}]`, o.limits, ctx.chains);
    const rewards = rewardSettings(ctx, body);
    const how = rewards?.how ?? body.aggregate ?? o.defaultAggregate;
    const threshold = body.errorThreshold ?? o.errorThreshold;

    const { scored, summaries, outcomes, tokens } = await runChains(ctx, reply, chains, how, threshold, rewards);
    if (outcomes) {
      const results = outcomes.map((x, i): OrmChainResult => ({
        index: i,
        ...(items[i]!.id !== undefined ? { id: items[i]!.id } : {}),
        reward: x.reward,
        ...(x.probability !== undefined ? { probability: x.probability } : {}),
        score: outcomeScore(x),
        tokens: scored[i]!.tokens,
        truncated: scored[i]!.truncated,
      }));
      const answer: OrmScoreResponse = { model: o.modelName, kind: 'orm', results, usage: { tokens } };
      return answer;
    }
    const results = scored.map((s, i): ChainResult => {
      const r: ChainResult = {
        index: i,
        // an implicit PRM's answer has rewards and no probabilities
        ...(rewards ? { stepRewards: summaries[i]!.stepRewards! } : { stepProbs: summaries[i]!.stepProbs }),
        score: summaries[i]!.score,
        aggregates: summaries[i]!.aggregates,
        firstError: summaries[i]!.firstError,
        tokens: s.tokens,
        truncated: s.truncated,
      };
      if (items[i]!.id !== undefined) r.id = items[i]!.id;
      return r;
    });
    const response: PrmScoreResponse = { model: o.modelName, aggregate: how, results, usage: { tokens } };
    return response;
  });
}
