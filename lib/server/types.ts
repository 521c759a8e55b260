// What the HTTP service needs from a model, and what it promises its clients. The server
// depends on this narrow contract, not on `Prm` itself, so the batcher, limits, queue,
// metrics and shutdown can be exercised with any scorer (and a `Prm` fits it as it is).
import type { Aggregation } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';

/** Per-chain output of the backbone: what the batcher carries back to each request. */
export interface ModelChainScore {
  stepProbs: number[];
  /** Backbone tokens spent on this chain. */
  tokens: number;
  /** The chain was cut to fit the model's context (its last steps are then missing or unscored). */
  truncated: boolean;
}

/** Per-token class probabilities, as vLLM's `token_classify` pooling returns them. */
export interface ModelTokenClassification {
  tokens: number[];
  /** `[T][K]` probabilities per token. */
  probs: number[][];
}

/**
 * One chain as the model tokenized it, for the whole life of a request: the server checks
 * its limits on `tokens` and later hands the same object back to `scoreEncodedChains`, in a
 * batch that may hold other requests' chains. Anything else it carries is the model's own.
 */
export interface ModelEncodedChain {
  /** Backbone tokens of the chain (before any truncation the model applies when scoring). */
  readonly tokens: number;
}

export interface ModelCallOptions {
  signal?: AbortSignal;
}

/**
 * What the service needs of a model. A `Prm` fits it as it is (counting, then scoring from
 * text); `prmServerModel(prm)` adds the encode-once pair.
 */
export interface ServerModel {
  readonly name?: string;
  /** Longest chain the model takes, in tokens; caps the default maxItemTokens. */
  readonly maxContext?: number;
  score(items: ChainItem[], options?: ModelCallOptions): Promise<ModelChainScore[]>;
  /** Token-level classification for `/pooling`; a model without it answers 501 there. */
  classifyTokens?(inputs: Array<string | number[]>, options?: ModelCallOptions): Promise<ModelTokenClassification[]>;
  /**
   * Backbone tokens each chain will cost (after the format's template), without running it.
   * Needed unless the model has `encodeChains` and `scoreEncodedChains` (then not called).
   */
  countTokens?(items: ChainItem[]): number[];
  /**
   * Tokenizes chains once per request (with `scoreEncodedChains`, both or neither): the server
   * checks its limits on these encodings and scores them, where `countTokens` + `score`
   * would tokenize every chain twice. Throws TypeError/RangeError for a chain it cannot take
   * (answered 400, naming the step when the error has `item` and `step`).
   */
  encodeChains?(items: ChainItem[]): ModelEncodedChain[];
  /** Scores chains from `encodeChains` (of one or several requests); one result per chain, in order. */
  scoreEncodedChains?(chains: ModelEncodedChain[], options?: ModelCallOptions): Promise<ModelChainScore[]>;
  /** Tokens of raw text (for `/pooling` string inputs); falls back to an upper bound when absent. */
  countTextTokens?(texts: string[]): number[];
  /** Whether a token id is in the vocabulary (checked on /pooling token-id inputs, as vLLM does). */
  isTokenId?(id: number): boolean;
  /** Raw text → token ids, for /pooling's `add_special_tokens` and `truncate_prompt_tokens` on text input. */
  tokenize?(texts: string[], options?: { addSpecialTokens?: boolean }): number[][];
  close?(): Promise<void>;
}

/** Limits enforced before any work; a request over one gets 413 naming the field. */
export interface ServerLimits {
  /** Request body bytes (Fastify's bodyLimit). */
  maxBodyBytes: number;
  /** Chains per /v1/score request, candidates per /v1/rerank, inputs per /pooling. */
  maxItems: number;
  /** Steps per chain. */
  maxSteps: number;
  /** Backbone tokens per chain (or per /pooling input). */
  maxItemTokens: number;
  /** Backbone tokens per request, summed over its chains. */
  maxRequestTokens: number;
}

export interface BatchingOptions {
  /** A batch closes once it holds this many backbone tokens. */
  maxBatchTokens: number;
  /** ... or this many chains. */
  maxBatchItems: number;
  /** ... or once its oldest chain has waited this long. */
  maxWaitMs: number;
  /** Batches run at once against the model (the model parallelises inside a batch). */
  concurrency: number;
  /** Requests allowed to wait (scoring and /pooling queue apart); beyond this the server answers 503 with Retry-After. */
  maxQueueRequests: number;
  /** Backbone tokens allowed to wait. */
  maxQueueTokens: number;
}

export interface ServerOptions {
  model: ServerModel;
  /** Name reported in responses and checked against vLLM's `model` field (default: model.name or 'prmkit'). */
  modelName?: string;
  limits?: Partial<ServerLimits>;
  batching?: Partial<BatchingOptions>;
  /** Per-request deadline in ms, queueing included (default 30 000); past it the answer is 504. */
  requestTimeoutMs?: number;
  /** Bearer key required on every route but /health; off when absent or empty. */
  apiKey?: string;
  /** Default chain aggregation when a request names none (default 'prod'). */
  defaultAggregate?: Aggregation;
  /** Default first-error threshold, in (0, 1) (default 0.5). */
  errorThreshold?: number;
  /** Close the model when the server closes (default true). */
  closeModel?: boolean;
  /** Fastify logger: false (default) or true / pino options. */
  logger?: boolean | Record<string, unknown>;
}

/** One chain's result on /v1/score. Probabilities, not logs; NaN (empty chains) becomes null in JSON. */
export interface ChainResult {
  index: number;
  id?: string;
  stepProbs: number[];
  /** The requested aggregate, as a probability. */
  score: number;
  aggregates: Record<Aggregation, number>;
  /** First step with probability below the threshold, -1 if none. */
  firstError: number;
  tokens: number;
  truncated: boolean;
}
