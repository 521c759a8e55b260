// Server defaults and option checks: a bad option is a TypeError/RangeError at startup,
// never a surprise under load.
import { AGGREGATIONS } from '../kernels/types.js';
import type { Aggregation } from '../kernels/types.js';
import type { BatchingOptions, ServerLimits, ServerModel, ServerOptions } from './types.js';

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
  apiKey: string | undefined;
  defaultAggregate: Aggregation;
  errorThreshold: number;
  closeModel: boolean;
  logger: boolean | Record<string, unknown>;
}

function positiveInt(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < 1) throw new RangeError(`${name} must be >= 1, got ${value}`);
  return value;
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a finite number, got ${String(value)}`);
  if (value < 0) throw new RangeError(`${name} must be >= 0, got ${value}`);
  return value;
}

export function checkAggregate(value: unknown, name: string): Aggregation {
  if (typeof value !== 'string' || !(AGGREGATIONS as readonly string[]).includes(value)) {
    throw new RangeError(`${name} must be one of ${AGGREGATIONS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as Aggregation;
}

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object');
  const model = options.model;
  if (model === null || typeof model !== 'object') throw new TypeError('options.model must be a model object');
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
  for (const key of Object.keys(limits) as (keyof ServerLimits)[]) {
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`options.limits.${key} is not a known limit`);
    positiveInt(limits[key], `options.limits.${key}`);
  }
  if (limits.maxItemTokens > limits.maxRequestTokens) {
    throw new RangeError(`options.limits.maxItemTokens (${limits.maxItemTokens}) must not exceed maxRequestTokens (${limits.maxRequestTokens})`);
  }

  const batching = { ...DEFAULT_BATCHING, ...(options.batching ?? {}) };
  for (const key of Object.keys(batching) as (keyof BatchingOptions)[]) {
    if (!(key in DEFAULT_BATCHING)) throw new TypeError(`options.batching.${key} is not a known batching option`);
    if (key === 'maxWaitMs') nonNegative(batching[key], 'options.batching.maxWaitMs');
    else positiveInt(batching[key], `options.batching.${key}`);
  }
  // A request that could never fit in the queue would wait forever; refuse the setup instead.
  if (limits.maxRequestTokens > batching.maxQueueTokens) {
    throw new RangeError(
      `options.limits.maxRequestTokens (${limits.maxRequestTokens}) must not exceed options.batching.maxQueueTokens (${batching.maxQueueTokens})`,
    );
  }

  const requestTimeoutMs = positiveInt(options.requestTimeoutMs ?? 30_000, 'options.requestTimeoutMs');
  let apiKey: string | undefined;
  if (options.apiKey !== undefined && options.apiKey !== null) {
    if (typeof options.apiKey !== 'string') throw new TypeError('options.apiKey must be a string');
    apiKey = options.apiKey.length > 0 ? options.apiKey : undefined;
  }
  const defaultAggregate = checkAggregate(options.defaultAggregate ?? 'prod', 'options.defaultAggregate');
  const errorThreshold = nonNegative(options.errorThreshold ?? 0.5, 'options.errorThreshold');
  if (!(errorThreshold > 0 && errorThreshold < 1)) throw new RangeError(`options.errorThreshold must be in (0, 1), got ${errorThreshold}`);
  const modelName = options.modelName ?? model.name ?? 'prmkit';
  if (typeof modelName !== 'string' || modelName.length === 0) throw new TypeError('options.modelName must be a non-empty string');

  return {
    model,
    modelName,
    limits,
    batching,
    requestTimeoutMs,
    apiKey,
    defaultAggregate,
    errorThreshold,
    closeModel: options.closeModel ?? true,
    logger: options.logger ?? false,
  };
}
