// GET /health (liveness + queue state, open even when an API key is set), GET /metrics, and
// GET /v1/models, which vLLM/OpenAI clients call first to learn the served model's name and
// context length: a full vLLM model card.
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { notFound } from '../errors.js';
import { kernelBackendInfo } from '../../kernels/backend.js';

export interface HealthResponse {
  status: 'ok';
  model: string;
  queue: { requests: number; tokens: number };
  inFlight: number;
  uptimeSeconds: number;
  /** What the step-scoring kernels run on, e.g. `cpu (prebuild, avx2+fma+f16c, 8 threads; cuda: no device)`. */
  kernels: string;
}

export interface ModelPermission {
  id: string;
  object: 'model_permission';
  created: number;
  allow_create_engine: boolean;
  allow_sampling: boolean;
  allow_logprobs: boolean;
  allow_search_indices: boolean;
  allow_view: boolean;
  allow_fine_tuning: boolean;
  organization: string;
  group: string | null;
  is_blocking: boolean;
}

export interface ModelCard {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
  root: string;
  parent: string | null;
  max_model_len: number;
  permission: ModelPermission[];
}

export interface ModelList {
  object: 'list';
  data: ModelCard[];
}

export function registerOps(app: FastifyInstance, ctx: ServerContext): void {
  const started = performance.now();
  const created = Math.floor(Date.now() / 1000);
  app.get('/health', async (): Promise<HealthResponse> => ({
    status: 'ok',
    model: ctx.options.modelName,
    queue: { requests: ctx.queuedRequests, tokens: ctx.queuedTokens },
    inFlight: ctx.inFlight,
    uptimeSeconds: (performance.now() - started) / 1000,
    kernels: kernelBackendInfo().label,
  }));

  const card: ModelCard = {
    id: ctx.options.modelName,
    object: 'model',
    created,
    owned_by: 'prmkit',
    root: ctx.options.modelName,
    parent: null,
    max_model_len: ctx.options.model.maxContext ?? ctx.options.limits.maxItemTokens,
    permission: [
      {
        id: `modelperm-${randomUUID().replace(/-/g, '')}`,
        object: 'model_permission',
        created,
        allow_create_engine: false,
        allow_sampling: false,
        allow_logprobs: false,
        allow_search_indices: false,
        allow_view: true,
        allow_fine_tuning: false,
        organization: '*',
        group: null,
        is_blocking: false,
      },
    ],
  };
  app.get('/v1/models', async (): Promise<ModelList> => ({ object: 'list', data: [card] }));
  // names such as Qwen/Qwen2.5-Math-PRM-7B hold slashes
  app.get<{ Params: { '*': string } }>('/v1/models/*', async (request): Promise<ModelCard> => {
    const id = request.params['*'];
    if (id !== card.id) throw notFound(`The model \`${id}\` does not exist.`, 'model');
    return card;
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    return ctx.metrics.render();
  });
}
