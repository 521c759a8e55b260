// GET /v1/prm/info: the served model as a client needs it before sending chains: whether it
// scores steps (a PRM) or whole solutions (an ORM), its format, what runs it, the
// aggregations, the default threshold and the limits. The scoring page is built on it.
import type { FastifyInstance } from 'fastify';
import type { ServerContext } from '../context.js';
import { modelInfoResponse } from '../schemas.js';
import type { ModelInfo } from '../schemas.js';
import { kernelBackendInfo } from '../../kernels/backend.js';
import { AGGREGATIONS } from '../../kernels/types.js';
import { REWARD_AGGREGATIONS } from '../../prm/rewards.js';

export function registerInfo(app: FastifyInstance, ctx: ServerContext): void {
  const o = ctx.options;
  const m = o.model;
  const info: ModelInfo = {
    object: 'model_info',
    model: o.modelName,
    kind: m.kind ?? 'prm',
    format: m.format ?? null,
    backend: m.backend ?? null,
    kernels: '',
    aggregations: m.rewards ? [...REWARD_AGGREGATIONS] : [...AGGREGATIONS],
    ...(m.rewards ? { rewards: { ...m.rewards } } : {}),
    defaultAggregate: o.defaultAggregate,
    errorThreshold: o.errorThreshold,
    stepSeparator: m.stepSeparator ?? null,
    maxContext: m.maxContext ?? null,
    limits: { ...o.limits },
  };
  app.get('/v1/prm/info', { schema: { response: { 200: modelInfoResponse } } }, async (): Promise<ModelInfo> => ({
    ...info,
    // asked each time: the label says which backend the kernels actually fell back to, if any
    kernels: kernelBackendInfo().label,
  }));
}
