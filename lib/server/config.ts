// Server defaults and option checks: a bad option is a TypeError/RangeError at startup,
// never a surprise under load.
import * as is from '../is.js';
import type { Aggregation } from '../kernels/types.js';
import type { BatchingOptions, ServerLimits, ServerModel, ServerOptions } from './types.js';
import { resolveCompat } from './vllm/options.js';
import type { CompatOptions } from './vllm/options.js';

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxBodyBytes: 4 << 20,
  maxItems: 256,
  maxSteps: 128,
  maxItemTokens: 8192,
  maxRequestTokens: 262_144,
};

export const DEFAULT_BATCHING: Readonly<BatchingOptions> = {
  maxBatchTokens: 16_384,
  maxBatchItems: 64,
  maxWaitMs: 5,
  concurrency: 1,
  maxQueueRequests: 256,
  maxQueueTokens: 1 << 20,
};

export interface ResolvedServerOptions {
  model: ServerModel;
  modelName: string;
  limits: ServerLimits;
  batching: BatchingOptions;
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  maxConnections: number;
  apiKey: string | undefined;
  defaultAggregate: Aggregation;
  errorThreshold: number;
  closeModel: boolean;
  logger: boolean | Record<string, unknown>;
  /** vLLM-compatibility settings (pooling rows, step splitter). */
  compat: CompatOptions;
}

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  is.object(options, 'options');
  const model = options.model;
  is.object(model, 'options.model', 'a model object');
  if (typeof model.score !== 'function') throw new TypeError('options.model.score must be a function');
  const encodes = typeof model.encodeChains === 'function';
  if (encodes !== (typeof model.scoreEncodedChains === 'function'))
    throw new TypeError('options.model must have both encodeChains and scoreEncodedChains, or neither');
  if (!encodes && typeof model.countTokens !== 'function')
    throw new TypeError('options.model.countTokens must be a function (or give the model encodeChains and scoreEncodedChains)');

  const limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  // a chain longer than the model's context would fail its whole batch; refuse it up front
  if (options.limits?.maxItemTokens === undefined && typeof model.maxContext === 'number' && model.maxContext > 0) {
    limits.maxItemTokens = Math.min(limits.maxItemTokens, model.maxContext);
  }
  if (options.limits !== undefined) is.knownKeys(is.object(options.limits, 'options.limits'), Object.keys(DEFAULT_LIMITS), 'options.limits');
  for (const key of Object.keys(limits) as (keyof ServerLimits)[]) {
    is.positiveInt(limits[key], `options.limits.${key}`);
  }
  if (limits.maxItemTokens > limits.maxRequestTokens) {
    throw new RangeError(`options.limits.maxItemTokens (${limits.maxItemTokens}) must not exceed maxRequestTokens (${limits.maxRequestTokens})`);
  }

  const batching = { ...DEFAULT_BATCHING, ...(options.batching ?? {}) };
  if (options.batching !== undefined) is.knownKeys(is.object(options.batching, 'options.batching'), Object.keys(DEFAULT_BATCHING), 'options.batching');
  for (const key of Object.keys(batching) as (keyof BatchingOptions)[]) {
    if (key === 'maxWaitMs') is.number(batching[key], 'options.batching.maxWaitMs', 0);
    else is.positiveInt(batching[key], `options.batching.${key}`);
  }
  // A request that could never fit in the queue would wait forever; refuse the setup instead.
  if (limits.maxRequestTokens > batching.maxQueueTokens) {
    throw new RangeError(
      `options.limits.maxRequestTokens (${limits.maxRequestTokens}) must not exceed options.batching.maxQueueTokens (${batching.maxQueueTokens})`,
    );
  }

  // Node's timers take at most 2^31 - 1 ms
  const requestTimeoutMs = is.positiveInt(options.requestTimeoutMs ?? 30_000, 'options.requestTimeoutMs', 2 ** 31 - 1);
  const headersTimeoutMs = is.positiveInt(options.headersTimeoutMs ?? Math.min(10_000, requestTimeoutMs), 'options.headersTimeoutMs', requestTimeoutMs);
  const maxConnections = is.positiveInt(options.maxConnections ?? 1024, 'options.maxConnections');
  let apiKey: string | undefined;
  if (options.apiKey !== undefined && options.apiKey !== null) {
    is.string(options.apiKey, 'options.apiKey');
    apiKey = options.apiKey.length > 0 ? options.apiKey : undefined;
  }
  const defaultAggregate: Aggregation = is.aggregation(options.defaultAggregate ?? 'prod', 'options.defaultAggregate');
  const errorThreshold = is.threshold(options.errorThreshold ?? 0.5, 'options.errorThreshold');
  const modelName = is.string(options.modelName ?? model.name ?? 'prmkit', 'options.modelName', { nonEmpty: true });

  return {
    model,
    modelName,
    limits,
    batching,
    requestTimeoutMs,
    headersTimeoutMs,
    maxConnections,
    apiKey,
    defaultAggregate,
    errorThreshold,
    closeModel: options.closeModel ?? true,
    logger: options.logger ?? false,
    compat: resolveCompat(options, model),
  };
}
