// GET /health (liveness + queue state, open even when an API key is set), GET /metrics, and
// GET /v1/models, which vLLM/OpenAI clients call first to learn the served model's name.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';

export interface HealthResponse {
  status: 'ok';
  model: string;
  queue: { requests: number; tokens: number };
  inFlight: number;
  uptimeSeconds: number;
}

export interface ModelList {
  object: 'list';
  data: Array<{ id: string; object: 'model'; created: number; owned_by: string; max_model_len?: number }>;
}

export function registerOps(app: FastifyInstance, ctx: ServerContext): void {
  const started = performance.now();
  const created = Math.floor(Date.now() / 1000);
  app.get('/health', async (): Promise<HealthResponse> => ({
    status: 'ok',
    model: ctx.options.modelName,
    queue: {
      requests: ctx.scores.queuedRequests + (ctx.pooling?.queuedRequests ?? 0),
      tokens: ctx.scores.queuedTokens + (ctx.pooling?.queuedTokens ?? 0),
    },
    inFlight: ctx.inFlight,
    uptimeSeconds: (performance.now() - started) / 1000,
  }));

  app.get('/v1/models', async (): Promise<ModelList> => {
    const entry: ModelList['data'][number] = { id: ctx.options.modelName, object: 'model', created, owned_by: 'prmkit' };
    if (ctx.options.model.maxContext !== undefined) entry.max_model_len = ctx.options.model.maxContext;
    return { object: 'list', data: [entry] };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render();
  });
}
