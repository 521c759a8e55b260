// POST /v1/rerank: one problem, candidate solutions (arrays of steps) → ranked best first.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { checkChains } from '../limits.js';
import { checkModelName } from './model-name.js';
import { rerankBody } from '../schemas.js';
import type { RerankBody } from '../schemas.js';
import { rank, summarize } from '../summarize.js';
import type { Aggregation } from '../../kernels/types.js';
import type { ChainItem } from '../../interfaces.js';

export interface RerankResult {
  /** Position of the candidate in the request. */
  index: number;
  /** 1 = best. */
  rank: number;
  score: number;
  firstError: number;
  stepProbs?: number[];
}

export interface RerankResponse {
  model: string;
  aggregate: Aggregation;
  results: RerankResult[];
  usage: { tokens: number };
}

export function registerRerank(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: RerankBody }>('/v1/rerank', { schema: { body: rerankBody }, onRequest: ctx.shedWhenFull('scores') }, async (request, reply) => {
    const body = request.body;
    const o = ctx.options;
    checkModelName(body.model, o.modelName);
    const items: ChainItem[] = body.candidates.map((steps) => ({ problem: body.problem, steps }));
    const chains = checkChains(items, 'candidates', (i) => `candidates[${i}]`, (i, k) => `candidates[${i}][${k}]`, o.limits, ctx.chains, 'problem');
    const how = body.aggregate ?? o.defaultAggregate;
    const threshold = body.errorThreshold ?? o.errorThreshold;
    const withSteps = body.returnStepProbs ?? true;

    const scored = await ctx.guarded(request, reply, (signal) => ctx.scores.submit(chains, chains.map((c) => c.tokens), signal));
    const summaries = summarize(
      scored.map((s) => s.stepProbs),
      how,
      threshold,
    );
    const order = rank(summaries.map((s) => s.score));
    const topN = Math.min(body.topN ?? order.length, order.length);
    const results: RerankResult[] = [];
    for (let r = 0; r < topN; r++) {
      const i = order[r]!;
      const c: RerankResult = { index: i, rank: r + 1, score: summaries[i]!.score, firstError: summaries[i]!.firstError };
      if (withSteps) c.stepProbs = scored[i]!.stepProbs;
      results.push(c);
    }
    let tokens = 0;
    for (const s of scored) tokens += s.tokens;
    const response: RerankResponse = { model: o.modelName, aggregate: how, results, usage: { tokens } };
    return response;
  });
}
