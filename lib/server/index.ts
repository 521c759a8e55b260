// prmkit/server: the HTTP scoring service (Fastify) over any model that fits ServerModel.
export { createServer, toApiError } from './app.js';
export type { ListenOptions, PrmServer } from './app.js';
export { Batcher } from './batcher.js';
export { Lane } from './lane.js';
export type { BatcherOptions, BatchReport, RunBatch } from './batcher.js';
export { DEFAULT_BATCHING, DEFAULT_LIMITS, resolveServerOptions } from './config.js';
export { ApiError, QueueFullError, ShuttingDownError } from './errors.js';
export type { ErrorBody, ErrorType } from './errors.js';
export { ServerMetrics } from './metrics.js';
export type { PoolingResponse, PoolingResponseData } from './routes/pooling.js';
export type { RerankResult, RerankResponse } from './routes/rerank.js';
export type { ScoreResponse } from './routes/score.js';
export type * from './types.js';
export { prmServerModel } from './prm-model.js';
