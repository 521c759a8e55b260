// POST /invocations, the SageMaker-style single entry vLLM also serves: the body's shape
// picks the API (a rerank body, a score body, else pooling) and the answer is that route's,
// checked by that route's own schema.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../errors.js';
import { poolingBody, rerankBody, scoreBody } from '../schemas.js';
import type { PoolingBody, RerankBody, ScoreBody } from '../schemas.js';
import type { PoolingHandler } from './pooling.js';
import type { RerankHandler } from './rerank.js';
import type { ScoreHandler } from './score.js';

export interface Handlers {
  pooling: PoolingHandler;
  rerank: RerankHandler;
  score: ScoreHandler;
}

/** Validates like a route schema would: the error carries ajv's issues, answered as a 400 naming the field. */
function validated<T>(request: FastifyRequest, schema: object, body: unknown): T {
  const check = request.compileValidationSchema(schema);
  if (!check(body)) throw Object.assign(new Error('body does not match the schema'), { validation: check.errors ?? [], statusCode: 400 });
  return body as T;
}

export function registerInvocations(app: FastifyInstance, handlers: Handlers): void {
  app.post('/invocations', async (request, reply) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest('body must be a JSON object', 'body');
    const b = body as Record<string, unknown>;
    if ('query' in b && ('documents' in b || 'texts' in b)) return handlers.rerank(request, reply, validated<RerankBody>(request, rerankBody, body));
    if (['queries', 'data_1', 'text_1'].some((k) => k in b)) return handlers.score(request, reply, validated<ScoreBody>(request, scoreBody, body));
    return handlers.pooling(request, reply, validated<PoolingBody>(request, poolingBody, body));
  });
}
