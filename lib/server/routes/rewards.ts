// The reward-model APIs RL trainers call. All of them score through the shared dynamic
// batcher, so trainers that send one sample per request still fill batches:
// - POST /v1/rewards: dense rewards (step rewards on the policy's tokens) and optionally
//   GRPO advantages for groups of responses;
// - POST /get_reward: OpenRLHF's remote reward model ({query, prompts, labels} → {rewards, scores, extra_logs}):
//   the prompt is cut from the front of the query, and the problem is its last user turn; an
//   outcome reward model (what OpenRLHF's remote reward model usually is) rewards the whole
//   response with its raw reward;
// - POST /worker_value_inference: OpenR's value worker ({input_str} → {input, value}).
// Dense step rewards and OpenR's per-step values need step scores: an ORM answers them 501.
import { runChains } from './run-chains.js';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ServerContext } from '../context.js';
import { ApiError, badRequest } from '../errors.js';
import { checkChains } from '../limits.js';
import { checkModelName } from './model-name.js';
import type { ChainSummary } from '../summarize.js';
import { isInputError } from '../../errors.js';
import { splitSteps } from '../../formats/split.js';
import type { SplitStep } from '../../formats/split.js';
import { openrChain, problemOf, stripEnd } from '../chat/turns.js';
import type { FromSchema } from 'json-schema-to-ts';
import { aggregate, stepSplitter, threshold } from '../schemas.js';
import type { Aggregation } from '../../kernels/types.js';
import type { ChainItem } from '../../interfaces.js';
import { denseFromProbs, PLACEMENTS, prepareResponses, STEP_REWARD_KINDS } from '../../rewards/dense.js';
import type { PreparedResponse } from '../../rewards/dense.js';
import { groupAdvantages } from '../../rewards/advantages.js';

export const rewardsBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    model: { type: 'string' },
    items: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['problem'],
        properties: {
          problem: { type: 'string' },
          response: { type: 'string' },
          steps: { type: 'array', items: { type: 'string' } },
          tokenOffsets: { type: 'array', items: { type: 'array', minItems: 2, maxItems: 2, items: { type: 'integer', minimum: 0 } } },
          id: { type: 'string' },
        },
      },
    },
    stepReward: { type: 'string', enum: [...STEP_REWARD_KINDS] },
    placement: { type: 'string', enum: [...PLACEMENTS] },
    splitter: stepSplitter,
    aggregate,
    errorThreshold: threshold,
    /** Sizes of consecutive groups of items (default: all items are one group). */
    groups: { type: 'array', minItems: 1, items: { type: 'integer', minimum: 1 } },
    advantages: {
      anyOf: [
        { type: 'boolean' },
        {
          type: 'object',
          additionalProperties: false,
          properties: {
            mode: { type: 'string', enum: ['process', 'outcome'] },
            std: { type: 'string', enum: ['sample', 'population'] },
            eps: { type: 'number', minimum: 0 },
          },
        },
      ],
    },
  },
} as const;

type RewardsBody = FromSchema<typeof rewardsBody>;

/** OpenRLHF's remote reward model request; unknown fields pass (trainers add their own). */
export const getRewardBody = {
  type: 'object',
  required: ['query'],
  properties: {
    query: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
    prompts: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    labels: {},
  },
} as const;

type GetRewardBody = FromSchema<typeof getRewardBody>;

export const valueInferenceBody = {
  type: 'object',
  required: ['input_str'],
  properties: {
    input_str: { anyOf: [{ type: 'string' }, { type: 'array', minItems: 1, items: { type: 'string' } }] },
  },
} as const;

/** Checks, tokenizes and scores chains through the batcher, summarized by `how`. */
async function scoreChains(
  ctx: ServerContext,
  reply: FastifyReply,
  items: ChainItem[],
  itemField: (i: number) => string,
  listField: string,
  how: Aggregation,
  threshold: number,
): Promise<{ probs: number[][]; summaries: ChainSummary[]; tokens: number }> {
  if (ctx.options.model.rewards)
    throw new ApiError(400, 'invalid_request_error', "this model is an implicit PRM: its step rewards come from /v1/prm/score (rewards: 'step' for per-step ones), not from step probabilities", null);
  const chains = await checkChains(items, listField, itemField, (i, k) => `${itemField(i)}.steps[${k}]`, ctx.options.limits, ctx.chains);
  const { summaries, tokens } = await runChains(ctx, reply, chains, how, threshold);
  return { probs: summaries.map((s) => s.stepProbs), summaries, tokens };
}

/** The caller's input errors (a step not in its response, bad token offsets) as 400s naming the field. */
function inputErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isInputError(e)) throw new ApiError(400, 'invalid_request_error', e.message, e.path);
    throw e;
  }
}

const finite = (x: number) => (Number.isFinite(x) ? x : 0);

/** A route that reads step scores, asked of an outcome reward model. */
function needsSteps(ctx: ServerContext, what: string): void {
  if (ctx.options.model.kind === 'orm')
    throw new ApiError(501, 'not_implemented_error', `${what} needs step scores, and this model is an outcome reward model (one score per solution); use /get_reward, /v1/rerank or /v1/prm/score`, null);
}

function registerDenseRewards(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: RewardsBody }>('/v1/rewards', { schema: { body: rewardsBody }, onRequest: ctx.shedWhenFull('scores') }, async (request, reply) => {
    const body = request.body;
    const o = ctx.options;
    checkModelName(body.model, o.modelName);
    needsSteps(ctx, '/v1/rewards (dense step rewards)');
    const groups = body.groups ?? [body.items.length];
    if (groups.reduce((a, b) => a + b, 0) !== body.items.length)
      throw badRequest(`groups add up to ${groups.reduce((a, b) => a + b, 0)} responses but items has ${body.items.length}`, 'groups');
    const wantAdvantages = body.advantages !== undefined && body.advantages !== false;
    if (wantAdvantages) {
      const i = body.items.findIndex((it) => it.tokenOffsets === undefined);
      if (i >= 0) throw badRequest(`items[${i}] has no tokenOffsets: advantages are per policy token, so every item needs its tokenOffsets`, `items[${i}].tokenOffsets`);
    }
    const prepared: PreparedResponse[] = inputErrors(() => prepareResponses(body.items, body.splitter ?? o.compat.stepSplitter, o.model.stepSeparator));
    prepared.forEach((p, i) => {
      if (p.steps.length === 0) throw badRequest(`items[${i}] has no steps (its response is empty)`, `items[${i}]`);
    });
    const how = body.aggregate ?? o.defaultAggregate;
    const items = body.items.map((it, i) => ({ problem: it.problem, steps: prepared[i]!.steps.map((s) => s.text) }));
    const { probs, summaries, tokens } = await scoreChains(ctx, reply, items, (i) => `items[${i}]`, 'items', how, body.errorThreshold ?? o.errorThreshold);
    const dense = inputErrors(() =>
      prepared.map((p, i) => denseFromProbs(p, probs[i]!, body.stepReward ?? 'prob', body.placement ?? 'end', `items[${i}]`)),
    );
    let advantages: Float32Array[] | undefined;
    if (wantAdvantages) {
      let at = 0;
      const grouped = groups.map((n) => dense.slice(at, (at += n)));
      const opts = typeof body.advantages === 'object' ? body.advantages : {};
      advantages = (await groupAdvantages(grouped, opts)).flat();
    }
    const results = dense.map((d, i) => ({
      index: i,
      ...(body.items[i]!.id !== undefined ? { id: body.items[i]!.id } : {}),
      steps: d.steps.map((s: SplitStep) => ({ text: s.text, start: s.start, end: s.end })),
      stepProbs: d.stepProbs,
      stepRewards: d.stepRewards,
      stepEnds: d.stepEnds,
      ...(d.tokenRewards ? { tokenRewards: Array.from(d.tokenRewards) } : {}),
      ...(advantages ? { advantages: Array.from(advantages[i]!) } : {}),
      score: summaries[i]!.score,
      firstError: summaries[i]!.firstError,
      tokens: d.tokens,
    }));
    return { model: o.modelName, aggregate: how, results, usage: { tokens } };
  });
}

function registerGetReward(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: GetRewardBody }>('/get_reward', { schema: { body: getRewardBody }, onRequest: ctx.shedWhenFull('scores') }, async (request, reply) => {
    const o = ctx.options;
    const body = request.body;
    const queries = typeof body.query === 'string' ? [body.query] : body.query;
    if (body.prompts === undefined) throw badRequest('prompts is required: the prompt is stripped from the front of each query to leave the response', 'prompts');
    const prompts = typeof body.prompts === 'string' ? [body.prompts] : body.prompts;
    if (prompts.length !== queries.length)
      throw badRequest(`prompts has ${prompts.length} entries but query has ${queries.length}`, 'prompts');
    const field = (i: number) => (typeof body.query === 'string' ? 'query' : `query[${i}]`);
    if (o.model.kind === 'orm') return outcomeRewards(ctx, reply, queries, prompts, field);
    const steps = queries.map((q, i) => {
      const p = prompts[i]!;
      if (!q.startsWith(p)) throw badRequest(`${field(i)} does not start with its prompt (prompts[${i}]); send the prompt and the full sequence as OpenRLHF does`, field(i));
      return inputErrors(() => splitSteps(stripEnd(q.slice(p.length)), o.compat.stepSplitter, o.model.stepSeparator)).map((s) => s.text);
    });
    // a response with no text gets no steps and reward 0: there is nothing to credit
    const live = steps.flatMap((s, i) => (s.length > 0 ? [i] : []));
    const items = live.map((i) => ({ problem: problemOf(prompts[i]!), steps: steps[i]! }));
    const scored = items.length > 0
      ? await scoreChains(ctx, reply, items, (k) => field(live[k]!), 'query', o.defaultAggregate, o.errorThreshold)
      : { probs: [], summaries: [] as ChainSummary[], tokens: 0 };
    const rewards = queries.map(() => 0);
    const minStep = queries.map(() => 0);
    const firstError = queries.map(() => -1);
    live.forEach((i, k) => {
      rewards[i] = finite(scored.summaries[k]!.score);
      minStep[i] = finite(scored.summaries[k]!.aggregates.min ?? NaN);
      firstError[i] = scored.summaries[k]!.firstError;
    });
    return {
      rewards,
      scores: rewards,
      extra_logs: { min_step_prob: minStep, first_error: firstError, steps: steps.map((s) => s.length) },
    };
  });
}

/**
 * /get_reward from an outcome reward model: each response (the query past its prompt, with
 * the end-of-sequence text stripped) read whole; the reward is the model's raw reward, as
 * OpenRLHF's reward models give it.
 */
async function outcomeRewards(
  ctx: ServerContext,
  reply: FastifyReply,
  queries: readonly string[],
  prompts: readonly string[],
  field: (i: number) => string,
) {
  const items = queries.map((q, i) => {
    const p = prompts[i]!;
    if (!q.startsWith(p)) throw badRequest(`${field(i)} does not start with its prompt (prompts[${i}]); send the prompt and the full sequence as OpenRLHF does`, field(i));
    return { problem: problemOf(p), steps: [stripEnd(q.slice(p.length))] };
  });
  const chains = await checkChains(items, 'query', field, (i) => field(i), ctx.options.limits, ctx.chains);
  const { scored, outcomes } = await runChains(ctx, reply, chains, ctx.options.defaultAggregate, ctx.options.errorThreshold);
  const rewards = outcomes!.map((x) => finite(x.reward));
  const probability = outcomes!.map((x) => x.probability);
  const tokens = scored.map((s) => s.tokens);
  return {
    rewards,
    scores: rewards,
    extra_logs: probability.every((p) => p !== undefined) ? { probability: probability.map((p) => finite(p!)), tokens } : { tokens },
  };
}

function registerValueInference(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: FromSchema<typeof valueInferenceBody> }>(
    '/worker_value_inference',
    { schema: { body: valueInferenceBody }, onRequest: ctx.shedWhenFull('scores') },
    async (request, reply) => {
      const o = ctx.options;
      needsSteps(ctx, '/worker_value_inference (values per step)');
      const input = request.body.input_str;
      const texts = typeof input === 'string' ? [input] : input;
      const field = (i: number) => (typeof input === 'string' ? 'input_str' : `input_str[${i}]`);
      const chains = inputErrors(() => texts.map((t) => openrChain(t, o.model.stepSeparator, o.compat.stepSplitter)));
      const live = chains.flatMap((c, i) => (c.steps.length > 0 ? [i] : []));
      const scored = live.length > 0
        ? await scoreChains(ctx, reply, live.map((i) => chains[i]!), (k) => field(live[k]!), 'input_str', o.defaultAggregate, o.errorThreshold)
        : { probs: [] as number[][] };
      const values: number[][] = texts.map(() => []);
      live.forEach((i, k) => (values[i] = scored.probs[k]!));
      return { input, value: typeof input === 'string' ? values[0] : values };
    },
  );
}

export function registerRewards(app: FastifyInstance, ctx: ServerContext): void {
  registerDenseRewards(app, ctx);
  registerGetReward(app, ctx);
  registerValueInference(app, ctx);
}
