// POST /rerank, /v1/rerank, /v2/rerank: the Jina/Cohere rerank API as vLLM serves it (and
// TEI's `texts` form), so LangChain/LlamaIndex rerankers and Cohere/Jina clients rank
// candidate solutions with a PRM unchanged. Each document is one solution to the query
// (the problem); `relevance_score` is its chain score as a probability.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerContext } from '../context.js';
import { badRequest } from '../errors.js';
import { checkModelName } from './model-name.js';
import { rerankBody } from '../schemas.js';
import type { RerankBody } from '../schemas.js';
import { rank } from '../summarize.js';
import { responseId, useActivation } from '../vllm/request.js';
import { scoreSolutions } from './solutions.js';

export interface RerankResult {
  index: number;
  /** Absent when the request said `return_documents: false`. */
  document?: { text: string };
  relevance_score: number;
}

export interface RerankResponse {
  id: string;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
  results: RerankResult[];
}

/** TEI's answer: a bare array, best first. */
export type TeiRerankResponse = Array<{ index: number; score: number; text?: string }>;

export const RERANK_PATHS = ['/rerank', '/v1/rerank', '/v2/rerank'] as const;

export type RerankHandler = (request: FastifyRequest, reply: FastifyReply, body: RerankBody) => Promise<RerankResponse | TeiRerankResponse>;

export function registerRerank(app: FastifyInstance, ctx: ServerContext): RerankHandler {
  const handle: RerankHandler = async (request, reply, body) => {
    checkModelName(body.model, ctx.options.modelName);
    const tei = body.documents === undefined && body.texts !== undefined;
    const docs = body.documents ?? body.texts;
    if (docs === undefined) throw badRequest('documents is required', 'documents');
    const listField = tei ? 'texts' : 'documents';
    const texts = docs.map((d) => (typeof d === 'string' ? d : d.text));
    const activation = tei ? !(body.raw_scores ?? false) : useActivation(body);
    const { scores, tokens } = await scoreSolutions(
      ctx,
      reply,
      texts.map((text) => ({ problem: body.query, text })),
      {
        field: (i) => `${listField}[${i}]`,
        problemField: 'query',
        listField,
        splitter: body.step_splitter,
        aggregate: body.aggregate,
        activation,
        truncatePromptTokens: body.truncate_prompt_tokens,
        priority: body.priority,
        maxTokensPerDoc: body.max_tokens_per_doc,
      },
    );
    const order = rank(scores);
    if (tei) return order.map((index) => (body.return_text ? { index, score: scores[index]!, text: texts[index]! } : { index, score: scores[index]! }));
    // top_n 0 (vLLM's default) or absent: every document
    const n = body.top_n ? Math.min(body.top_n, order.length) : order.length;
    const withText = body.return_documents ?? true;
    const results = order.slice(0, n).map((index): RerankResult =>
      withText ? { index, document: { text: texts[index]! }, relevance_score: scores[index]! } : { index, relevance_score: scores[index]! },
    );
    return { id: responseId('rerank', request), model: ctx.options.modelName, usage: { prompt_tokens: tokens, total_tokens: tokens }, results };
  };
  for (const path of RERANK_PATHS)
    app.post<{ Body: RerankBody }>(path, { schema: { body: rerankBody }, onRequest: ctx.shedWhenFull('scores') }, (request, reply) =>
      handle(request, reply, request.body),
    );
  return handle;
}
