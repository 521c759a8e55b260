// What the HTTP service needs from a model, and what it promises its clients. The server
// depends on this narrow contract, not on `Prm` itself, so the batcher, limits, queue,
// metrics and shutdown can be exercised with any scorer (a `Prm` fits it through
// `prmServerModel`).
import type { PrefixCacheProbe } from './metrics.js';
import type { Aggregation } from '../kernels/types.js';
import type { ChainItem } from '../interfaces.js';

/**
 * Per-chain output of the backbone: what the batcher carries back to each request. Step
 * scores stay in log space until a route answers, so the aggregates are reduced from the
 * backbone's own numbers.
 */
export interface ModelChainScore {
  /** log P(step correct) per scored step (empty for an outcome reward model and an implicit PRM). */
  stepLogProbs: readonly number[];
  /** An outcome reward model's one score for the whole solution (its model has kind 'orm'). */
  outcome?: ModelOutcome;
  /**
   * An implicit PRM's per-step sums of log policy(y_i) - log reference(y_i) over the step's
   * response tokens (unscaled): each request turns them into rewards with its own beta.
   */
  stepLogRatios?: readonly number[];
  /** Backbone tokens spent on this chain. */
  tokens: number;
  /** The chain was cut to fit the model's context (its last steps are then missing or unscored). */
  truncated: boolean;
}

/** An outcome reward model's verdict on a solution: the raw reward, and P(correct) where the model defines one. */
export interface ModelOutcome {
  reward: number;
  probability?: number;
}

/** Per-token class probabilities, as vLLM's `token_classify` pooling returns them. */
export interface ModelTokenClassification {
  tokens: number[];
  /** `[T][K]` probabilities per token (raw head outputs when called with `activation: false`). */
  probs: number[][];
}

/**
 * One chain as the model tokenized it, for the whole life of a request: the server checks
 * its limits on `tokens` and later hands the same object back to `ChainScorer.score`, in a
 * batch that may hold other requests' chains. Anything else it carries is the model's own.
 */
export interface ModelEncodedChain {
  /** Backbone tokens of the chain (before any truncation the model applies when scoring). */
  readonly tokens: number;
}

export interface ModelCallOptions {
  signal?: AbortSignal;
}

export interface ModelClassifyOptions extends ModelCallOptions {
  /** false: the head's raw outputs (vLLM's `use_activation: false`); default true. */
  activation?: boolean;
}

/**
 * The part every model has: chains tokenized once per request, then scored in batches that
 * mix requests.
 */
export interface ChainScorer {
  /**
   * The most text (UTF-16 code units) one token covers. With it, text too long for the token
   * limits is refused from its length alone, before it costs any tokenizing.
   */
  readonly maxTokenChars?: number;
  /**
   * Tokenizes chains (once per request): the server checks its limits on these encodings and
   * scores them as they are. Throws a PrmInputError for a chain it cannot take (answered 400,
   * its `path` re-rooted into the request's field names); anything else is a 500.
   */
  encode(items: ChainItem[]): ModelEncodedChain[];
  /** Scores chains from `encode` (of one or several requests); one result per chain, in order. */
  score(chains: ModelEncodedChain[], options?: ModelCallOptions): Promise<ModelChainScore[]>;
}

/** The model's tokenizer, for /tokenize, /detokenize, text inputs of /pooling and chat rendering. */
export interface ServerTokenizer {
  /** As `ChainScorer.maxTokenChars`, for raw text. */
  readonly maxTokenChars?: number;
  tokenize(texts: string[], options?: { addSpecialTokens?: boolean }): number[][];
  /** Token ids → text (for /detokenize), special tokens kept. */
  detokenize(ids: readonly number[]): string;
  /** The vocabulary's text of each id (for /tokenize's `return_token_strs`). */
  tokenStrings(ids: readonly number[]): string[];
  /** Whether a token id is in the vocabulary (checked on token-id inputs, as vLLM does). */
  isTokenId(id: number): boolean;
  /**
   * The model's own chat template (Jinja) and the special tokens it reads. Without a
   * template, chat-form requests need one of their own (and a server that trusts them).
   */
  readonly chat?: { template?: string; bosToken?: string; eosToken?: string };
}

/** vLLM's `token_classify` for /pooling. */
export interface TokenClassifier {
  /**
   * The step-tag token whose rows `/pooling` returns in STEP mode, as vLLM's STEP pooler does
   * (`<extra_0>` for Qwen2.5-Math-PRM, `ки` for Math-Shepherd). Without one, every row is returned.
   */
  readonly stepTagId?: number;
  /** Per input (text, or token ids), its ids and every token's class probabilities. */
  classify(inputs: Array<string | number[]>, options?: ModelClassifyOptions): Promise<ModelTokenClassification[]>;
}

/**
 * What the service needs of a model: a chain scorer, and optional parts for the routes that
 * use them (a route whose part is missing answers 501). `prmServerModel(prm)` adapts a Prm.
 */
export interface ServerModel {
  readonly chains: ChainScorer;
  readonly name?: string;
  /**
   * 'prm' (default): scores every step. 'orm': scores a whole solution once (every chain score
   * carries `outcome` and no step scores), so the routes answer one score per solution and a
   * client (the page at GET /) ranks whole solutions. The routes hand an ORM a solution text
   * as a chain of one step, the text itself (every built-in ORM format reads it as it is).
   */
  readonly kind?: 'prm' | 'orm';
  /** The model's input format (e.g. 'qwen2.5-math-prm'), shown by GET /v1/prm/info. */
  readonly format?: string;
  /** What runs the backbone, in words (e.g. 'onnx/cpu', 'vllm'), shown by GET /v1/prm/info. */
  readonly backend?: string;
  /**
   * An implicit PRM (its chains come back as stepLogRatios): the reward defaults. Its routes
   * answer step rewards, aggregates over them and the first reward below a reward threshold,
   * never probabilities.
   */
  readonly rewards?: { beta: number; rewards: 'cumulative' | 'step' };
  /** Longest chain the model takes, in tokens; caps the default maxItemTokens. */
  readonly maxContext?: number;
  /** The format's step mark as text: the 'auto' splitter of solution texts splits on it when present. */
  readonly stepSeparator?: string;
  readonly tokenizer?: ServerTokenizer;
  readonly tokenClassifier?: TokenClassifier;
  /** The model's prefix cache across requests, for /metrics (hits, misses, evictions, bytes). */
  readonly prefixCache?: PrefixCacheProbe;
  close?(): Promise<void>;
}

/** Limits enforced before any work; a request over one gets 413 naming the field. */
export interface ServerLimits {
  /** Request body bytes (Fastify's bodyLimit). */
  maxBodyBytes: number;
  /** Chains per /v1/prm/score request, candidates or documents per rerank/score request, inputs per /pooling, messages per chat. */
  maxItems: number;
  /** Steps per chain. */
  maxSteps: number;
  /** Backbone tokens per chain (or per /pooling or /tokenize input). */
  maxItemTokens: number;
  /**
   * Characters (UTF-16 code units) per chain, per text input and per rendered chat: what
   * one tokenizer call on the event loop may take, and the most a chat template may write
   * (default 8 x maxItemTokens, past any real text's tokens).
   */
  maxItemChars: number;
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

export type PoolingType = 'step' | 'all';

export interface TemplateLimits {
  /** Template steps (evaluated nodes, loop iterations) per render (default 200 000). */
  maxSteps: number;
  /** Time of one render, in ms (default 250). */
  timeoutMs: number;
}

export interface ServerOptions {
  model: ServerModel;
  /** Name reported in responses and checked against vLLM's `model` field (default: model.name or 'prmkit'). */
  modelName?: string;
  limits?: Partial<ServerLimits>;
  batching?: Partial<BatchingOptions>;
  /**
   * Per-request deadline in ms, queueing included (default 30 000); past it the answer is 504.
   * It also bounds receiving a request: a body still arriving after it gets 408 and the
   * connection is closed.
   */
  requestTimeoutMs?: number;
  /** Time to receive a request's headers, in ms (default min(10 000, requestTimeoutMs)); past it 408 and close. */
  headersTimeoutMs?: number;
  /** Open connections at most (default 1024); a request on a connection over the cap gets 503 and the connection is closed. */
  maxConnections?: number;
  /** Bearer key required on every route but /health; off when absent or empty. */
  apiKey?: string;
  /** Default chain aggregation when a request names none (default 'prod'). */
  defaultAggregate?: Aggregation;
  /** Default first-error threshold, in (0, 1) (default 0.5). */
  errorThreshold?: number;
  /**
   * Rows `/pooling` returns for `token_classify`: 'step' (default when the model has a step
   * tag): only the step-tag rows, [S][K], as vLLM serves Qwen2.5-Math-PRM; 'all': one row
   * per token, [T][K].
   */
  pooling?: PoolingType;
  /** Overrides the model's step-tag token id for 'step' pooling. */
  stepTagId?: number;
  /**
   * How /rerank and /score split a solution text into steps when the request names no
   * `step_splitter`: 'auto' (default: the format's separator if the text holds it, else
   * blank lines), 'blank-lines', 'lines', or a literal separator text.
   */
  stepSplitter?: string;
  /**
   * Render a chat template sent with a request (`chat_template` on /pooling and /tokenize).
   * Off by default, as in vLLM (`--trust-request-chat-template`): a template is a program.
   * Trusted or not, every template renders off the event loop under `templateBudget`.
   */
  trustRequestChatTemplate?: boolean;
  /** Bounds of one chat render (its output is bounded by limits.maxItemChars). */
  templateBudget?: Partial<TemplateLimits>;
  /** Serve the scoring page at GET / and its files under /ui/ (default true). */
  ui?: boolean;
  /** Close the model when the server closes (default true). */
  closeModel?: boolean;
  /** Fastify logger: false (default) or true / pino options. */
  logger?: boolean | Record<string, unknown>;
}

/** One solution's result on /v1/prm/score from an outcome reward model: one score, no step scores. */
export interface OrmChainResult {
  index: number;
  id?: string;
  /** The raw reward. */
  reward: number;
  /** P(solution correct), where the model defines one. */
  probability?: number;
  /** What the solution ranks by: the probability where defined, else the reward. */
  score: number;
  tokens: number;
  truncated: boolean;
}

/** One chain's result on /v1/prm/score. Probabilities, not logs; NaN (empty chains) becomes null in JSON. */
export interface ChainResult {
  index: number;
  id?: string;
  /** Absent for an implicit PRM (its rewards are not probabilities). */
  stepProbs?: number[];
  /** An implicit PRM's step rewards. */
  stepRewards?: number[];
  /** The requested aggregate, as a probability (an implicit PRM: of its rewards). */
  score: number;
  /** Every aggregate (an implicit PRM: min, last and mean of its rewards). */
  aggregates: Partial<Record<Aggregation, number>>;
  /** First step with probability below the threshold (an implicit PRM: reward below rewardThreshold), -1 if none. */
  firstError: number;
  tokens: number;
  truncated: boolean;
}
