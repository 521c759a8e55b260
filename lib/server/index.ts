// prmkit/server: the HTTP scoring service (Fastify) over any model that fits ServerModel.
// `createServer` builds it, `prmServerModel` adapts a Prm and `ormServerModel` an Orm; the batcher, lanes and error
// mapping behind them are internal.
export { createServer } from './app.js';
export type { ListenOptions, PrmServer } from './app.js';
export type { BatchReport } from './batcher.js';
export { DEFAULT_BATCHING, DEFAULT_LIMITS, resolveServerOptions } from './config.js';
export type { ResolvedServerOptions } from './config.js';
export { ApiError, QueueFullError, ShuttingDownError } from './errors.js';
export type { ErrorBody, ErrorType } from './errors.js';
export type { ServerMetrics } from './metrics.js';
export type { PoolingResponse, PoolingResponseData } from './routes/pooling.js';
export type { RerankResult, RerankResponse } from './routes/rerank.js';
export type { ScoreResponse } from './routes/score.js';
export type { TeiRerankResponse } from './routes/rerank.js';
export type { PrmScoreResponse } from './routes/prm-score.js';
export type { PrmRerankResult, PrmRerankResponse } from './routes/prm-rerank.js';
export type { TokenizeResponse, DetokenizeResponse } from './routes/tokenize.js';
export type { ModelCard, ModelList, ModelPermission } from './routes/ops.js';
export type { ModelInfo } from './schemas.js';
export type { CompatOptions } from './vllm/options.js';
export type * from './types.js';
export { prmServerModel } from './prm-model.js';
export type { PrmServerModelOptions } from './prm-model.js';
export { ormServerModel } from './orm-model.js';
