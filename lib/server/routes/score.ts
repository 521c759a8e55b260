// POST /score and /v1/score in vLLM's shapes: pairs from `queries`+`documents` (or `items`),
// `data_1`+`data_2` or `text_1`+`text_2`, 1:1, 1:N or N:N, each scored as a problem and one
// solution text → data[{index, object: "score", score}].
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import { checkModelName } from './model-name.js';
import { scoreBody } from '../schemas.js';
import type { ScoreBody } from '../schemas.js';
import { responseId, useActivation } from '../vllm/request.js';
import type { UsageInfo } from '../../backbones/vllm/protocol.js';
import { scoreSolutions } from './solutions.js';

export interface ScoreResponse {
  id: string;
  object: 'list';
  created: number;
  model: string;
  data: Array<{ index: number; object: 'score'; score: number }>;
  usage: UsageInfo;
}

/** The request's pair of fields, in the order vLLM tries its request shapes. */
const PAIRS = [
  ['queries', 'documents'],
  ['queries', 'items'],
  ['data_1', 'data_2'],
  ['text_1', 'text_2'],
] as const;

export const SCORE_PATHS = ['/score', '/v1/score'] as const;

export type ScoreHandler = (request: FastifyRequest, reply: FastifyReply, body: ScoreBody) => Promise<ScoreResponse>;

const list = (v: string | string[]): string[] => (typeof v === 'string' ? [v] : v);

export function registerScore(app: FastifyInstance, ctx: ServerContext): ScoreHandler {
  const handle: ScoreHandler = async (request, reply, body) => {
    checkModelName(body.model, ctx.options.modelName);
    const pair = PAIRS.find(([a, b]) => body[a] !== undefined && body[b] !== undefined);
    if (!pair) throw badRequest('send the pairs to score as queries and documents (or data_1 and data_2, or text_1 and text_2)', 'queries');
    const [leftName, rightName] = pair;
    const left = list(body[leftName]!);
    const right = list(body[rightName]!);
    if (left.length === 0) throw badRequest(`${leftName} is empty`, leftName);
    if (right.length === 0) throw badRequest(`${rightName} is empty`, rightName);
    if (left.length > 1 && left.length !== right.length)
      throw badRequest(`${leftName} has ${left.length} entries and ${rightName} ${right.length}: input lengths must be either 1:1, 1:N or N:N`, rightName);
    const many = Array.isArray(body[rightName]);
    const { scores, tokens } = await scoreSolutions(
      ctx,
      reply,
      right.map((text, i) => ({ problem: left.length === 1 ? left[0]! : left[i]!, text })),
      {
        field: (i) => (many ? `${rightName}[${i}]` : rightName),
        problemField: leftName,
        listField: rightName,
        splitter: body.step_splitter,
        aggregate: body.aggregate,
        activation: useActivation(body),
        truncatePromptTokens: body.truncate_prompt_tokens,
        priority: body.priority,
      },
    );
    return {
      id: responseId('score', request),
      object: 'list',
      created: Math.floor(Date.now() / 1000),
      model: ctx.options.modelName,
      data: scores.map((score, index) => ({ index, object: 'score', score })),
      usage: { prompt_tokens: tokens, total_tokens: tokens, completion_tokens: 0, prompt_tokens_details: null },
    };
  };
  for (const path of SCORE_PATHS)
    app.post<{ Body: ScoreBody }>(path, { schema: { body: scoreBody }, onRequest: ctx.shedWhenFull('scores') }, (request, reply) =>
      handle(request, reply, request.body),
    );
  return handle;
}
