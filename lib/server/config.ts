// Server defaults and option checks: a bad option is a TypeError/RangeError at startup,
// never a surprise under load.
import * as is from '../is.js';
import { rewardAggregation } from '../prm/rewards.js';
import type { Aggregation } from '../kernels/types.js';
import type { TemplateBudget } from './chat/protocol.js';
import type { BatchingOptions, ServerLimits, ServerModel, ServerOptions, TemplateLimits } from './types.js';
import { resolveCompat } from './vllm/options.js';
import type { CompatOptions } from './vllm/options.js';

export const DEFAULT_LIMITS: Readonly<ServerLimits> = {
  maxBodyBytes: 4 << 20,
  maxItems: 256,
  maxSteps: 128,
  maxItemTokens: 8192,
  maxItemChars: 65_536,
  maxRequestTokens: 262_144,
};

export const DEFAULT_TEMPLATE_LIMITS: Readonly<TemplateLimits> = {
  maxSteps: 200_000,
  timeoutMs: 250,
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
  trustRequestChatTemplate: boolean;
  /** The template worker's budget (its output bound is limits.maxItemChars). */
  templateBudget: TemplateBudget;
  /** Whether GET / serves the scoring page. */
  ui: boolean;
  closeModel: boolean;
  logger: boolean | Record<string, unknown>;
  /** What /metrics exports as prmkit_setting{name}. */
  settings: Readonly<Record<string, number>>;
  /** vLLM-compatibility settings (pooling rows, step splitter). */
  compat: CompatOptions;
}

export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  is.object(options, 'options');
  const model = options.model;
  is.object(model, 'options.model', 'a model object');
  is.object(model.chains, 'options.model.chains', 'a chain scorer ({ encode, score })');
  if (typeof model.chains.encode !== 'function' || typeof model.chains.score !== 'function')
    throw new TypeError('options.model.chains must have encode(items) and score(chains, options) functions');
  if (model.tokenizer !== undefined) is.object(model.tokenizer, 'options.model.tokenizer');
  if (model.tokenClassifier !== undefined && typeof model.tokenClassifier?.classify !== 'function')
    throw new TypeError('options.model.tokenClassifier must have a classify(inputs, options) function');
  if (model.kind !== undefined) is.oneOf(model.kind, 'options.model.kind', ['prm', 'orm']);

  const limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
  // past any real text's tokens: a chain of maxItemTokens tokens is far shorter
  if (options.limits?.maxItemChars === undefined) limits.maxItemChars = Math.max(DEFAULT_LIMITS.maxItemChars, 8 * limits.maxItemTokens);
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
  // an implicit PRM's rewards are not probabilities: min, last or mean of them (default min)
  const defaultAggregate: Aggregation = model.rewards
    ? rewardAggregation(options.defaultAggregate ?? 'min', 'options.defaultAggregate')
    : is.aggregation(options.defaultAggregate ?? 'prod', 'options.defaultAggregate');
  const errorThreshold = is.threshold(options.errorThreshold ?? 0.5, 'options.errorThreshold');
  const modelName = is.string(options.modelName ?? model.name ?? 'prmkit', 'options.modelName', { nonEmpty: true });
  const trustRequestChatTemplate = is.boolean(options.trustRequestChatTemplate ?? false, 'options.trustRequestChatTemplate');
  const t = { ...DEFAULT_TEMPLATE_LIMITS, ...(options.templateBudget ?? {}) };
  if (options.templateBudget !== undefined) is.knownKeys(is.object(options.templateBudget, 'options.templateBudget'), Object.keys(DEFAULT_TEMPLATE_LIMITS), 'options.templateBudget');
  is.positiveInt(t.maxSteps, 'options.templateBudget.maxSteps');
  is.positiveInt(t.timeoutMs, 'options.templateBudget.timeoutMs', 600_000);
  // a template's output is one text to tokenize; its lists are bounded the same
  const templateBudget: TemplateBudget = { ...t, maxChars: limits.maxItemChars, maxItems: limits.maxItemChars };

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
    trustRequestChatTemplate,
    templateBudget,
    ui: is.boolean(options.ui ?? true, 'options.ui'),
    closeModel: options.closeModel ?? true,
    logger: options.logger ?? false,
    compat: resolveCompat(options, model),
    settings: {
      ...batching,
      ...limits,
      requestTimeoutMs,
      headersTimeoutMs,
      maxConnections,
      templateMaxSteps: templateBudget.maxSteps,
      templateTimeoutMs: templateBudget.timeoutMs,
      trustRequestChatTemplate: trustRequestChatTemplate ? 1 : 0,
    },
  };
}
