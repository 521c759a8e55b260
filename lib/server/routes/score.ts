// POST /v1/score: chains in, per-step probabilities, every aggregate and the first error out.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { checkChains } from '../limits.js';
import { checkModelName } from './model-name.js';
import { scoreBody } from '../schemas.js';
import type { ScoreBody } from '../schemas.js';
import { summarize } from '../summarize.js';
import type { ChainResult } from '../types.js';
import type { ChainItem } from '../../interfaces.js';

export interface ScoreResponse {
  model: string;
  aggregate: string;
  results: ChainResult[];
  usage: { tokens: number };
}

export function registerScore(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: ScoreBody }>('/v1/score', { schema: { body: scoreBody }, onRequest: ctx.shedWhenFull('scores') }, async (request, reply) => {
    const body = request.body;
    const o = ctx.options;
    checkModelName(body.model, o.modelName);
    const items: ChainItem[] = body.items.map((it) => (it.id === undefined ? { problem: it.problem, steps: it.steps } : it));
    const chains = checkChains(items, 'items', (i) => `items[${i}]`, (i, k) => `items[${i}].steps[${k}]`, o.limits, ctx.chains);
    const how = body.aggregate ?? o.defaultAggregate;
    const threshold = body.errorThreshold ?? o.errorThreshold;

    const scored = await ctx.guarded(request, reply, (signal) => ctx.scores.submit(chains, chains.map((c) => c.tokens), signal));
    const summaries = summarize(
      scored.map((s) => s.stepProbs),
      how,
      threshold,
    );
    let tokens = 0;
    const results = scored.map((s, i): ChainResult => {
      tokens += s.tokens;
      const r: ChainResult = {
        index: i,
        stepProbs: s.stepProbs,
        score: summaries[i]!.score,
        aggregates: summaries[i]!.aggregates,
        firstError: summaries[i]!.firstError,
        tokens: s.tokens,
        truncated: s.truncated,
      };
      if (items[i]!.id !== undefined) r.id = items[i]!.id;
      return r;
    });
    const response: ScoreResponse = { model: o.modelName, aggregate: how, results, usage: { tokens } };
    return response;
  });
}
