// JSON schemas of every request body (and of the model-info answer), and the types derived
// from them (one source of truth: a field added to a schema is in the handler's type at
// once). They check shape and types only; size limits are checked after (limits.ts) so that
// "too many" answers 413 and "wrong" answers 400. The vLLM-shaped bodies let unknown fields
// pass, as vLLM does, so clients that send `user`, `priority` or newer options keep working.
import type { FromSchema } from 'json-schema-to-ts';
import { AGGREGATIONS } from '../kernels/types.js';

const chainItem = {
  type: 'object',
  additionalProperties: false,
  required: ['problem', 'steps'],
  properties: {
    problem: { type: 'string' },
    steps: { type: 'array', items: { type: 'string' } },
    id: { type: 'string' },
  },
} as const;

export const aggregate = { type: 'string', enum: [...AGGREGATIONS] } as const;
// the kernels' firstError takes thresholds strictly inside (0, 1)
export const threshold = { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 } as const;
/** How a solution text becomes steps: 'auto', 'blank-lines', 'lines' or a literal separator. */
export const stepSplitter = { type: 'string', minLength: 1 } as const;
const optionalBool = { type: ['boolean', 'null'] } as const;
const optionalString = { type: ['string', 'null'] } as const;

/** An implicit PRM's reward settings per request: beta, cumulative or per-step rewards, and the error threshold on a reward. */
const rewardFields = {
  beta: { type: 'number', exclusiveMinimum: 0 },
  rewards: { type: 'string', enum: ['cumulative', 'step'] },
  rewardThreshold: { type: 'number' },
} as const;

/** prmkit's own scoring route: chains of steps in, every step probability and aggregate out. */
export const prmScoreBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    model: { type: 'string' },
    items: { type: 'array', minItems: 1, items: chainItem },
    aggregate,
    errorThreshold: threshold,
    ...rewardFields,
  },
} as const;

export const prmRerankBody = {
  type: 'object',
  additionalProperties: false,
  required: ['problem', 'candidates'],
  properties: {
    model: { type: 'string' },
    problem: { type: 'string' },
    candidates: { type: 'array', minItems: 1, items: { type: 'array', items: { type: 'string' } } },
    aggregate,
    errorThreshold: threshold,
    topN: { type: 'integer', minimum: 1 },
    returnStepProbs: { type: 'boolean' },
    ...rewardFields,
  },
} as const;

const tokenIds = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } as const;

const contentPart = {
  type: 'object',
  required: ['type'],
  properties: { type: { type: 'string' }, text: { type: 'string' } },
} as const;

const messages = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    required: ['role'],
    properties: {
      role: { type: 'string' },
      content: { anyOf: [{ type: 'string' }, { type: 'null' }, { type: 'array', items: contentPart }] },
    },
  },
} as const;

/** The options of a chat-form request (vLLM's defaults are applied by the handler). */
const chatOptions = {
  add_generation_prompt: { type: 'boolean' },
  continue_final_message: { type: 'boolean' },
  chat_template: optionalString,
  chat_template_kwargs: { type: ['object', 'null'] },
} as const;

/**
 * vLLM's pooling request, completion form (`input`) or chat form (`messages`). Enumerated
 * fields are plain strings here and checked by the handler, which answers with the offending
 * value in the message as vLLM does.
 */
export const poolingBody = {
  type: 'object',
  properties: {
    model: optionalString,
    input: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, items: { type: 'string' } },
        tokenIds,
        { type: 'array', minItems: 1, items: tokenIds },
      ],
    },
    messages,
    ...chatOptions,
    task: optionalString,
    encoding_format: { type: 'string' },
    embed_dtype: { type: 'string' },
    endianness: { type: 'string' },
    truncate_prompt_tokens: { type: ['integer', 'null'], minimum: -1 },
    truncation_side: optionalString,
    add_special_tokens: { type: 'boolean' },
    use_activation: optionalBool,
    softmax: optionalBool,
    activation: optionalBool,
    dimensions: { type: ['integer', 'null'] },
    user: optionalString,
    request_id: { type: 'string' },
    priority: { type: 'integer' },
  },
} as const;

const scoreInputs = { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] } as const;

/** Fields every vLLM scoring request may carry, plus prmkit's aggregation and step splitter. */
const scoringCommon = {
  model: optionalString,
  truncate_prompt_tokens: { type: ['integer', 'null'], minimum: -1 },
  use_activation: optionalBool,
  softmax: optionalBool,
  activation: optionalBool,
  user: optionalString,
  request_id: { type: 'string' },
  priority: { type: 'integer' },
  aggregate,
  step_splitter: stepSplitter,
} as const;

/**
 * vLLM's /score: pairs from `queries`+`documents`, `queries`+`items`, `data_1`+`data_2` or
 * `text_1`+`text_2`. For a PRM the first of each pair is the problem, the second a solution.
 */
export const scoreBody = {
  type: 'object',
  properties: {
    ...scoringCommon,
    queries: scoreInputs,
    documents: scoreInputs,
    items: scoreInputs,
    data_1: scoreInputs,
    data_2: scoreInputs,
    text_1: scoreInputs,
    text_2: scoreInputs,
  },
} as const;

/**
 * The Jina/Cohere rerank request as vLLM serves it (`documents` as strings or `{text}`,
 * `top_n`, `return_documents`), and TEI's (`texts`, `return_text`, `raw_scores`).
 */
export const rerankBody = {
  type: 'object',
  required: ['query'],
  properties: {
    ...scoringCommon,
    query: { type: 'string' },
    documents: {
      type: 'array',
      items: {
        anyOf: [{ type: 'string' }, { type: 'object', required: ['text'], properties: { text: { type: 'string' } } }],
      },
    },
    texts: { type: 'array', items: { type: 'string' } },
    top_n: { type: ['integer', 'null'], minimum: 0 },
    return_documents: optionalBool,
    return_text: { type: 'boolean' },
    raw_scores: { type: 'boolean' },
    truncate: { type: 'boolean' },
    max_tokens_per_doc: { type: ['integer', 'null'], minimum: 1 },
  },
} as const;

/** vLLM's /tokenize, completion form (`prompt`) or chat form (`messages`). */
export const tokenizeBody = {
  type: 'object',
  properties: {
    model: optionalString,
    prompt: { type: 'string' },
    messages,
    ...chatOptions,
    add_special_tokens: { type: 'boolean' },
    return_token_strs: optionalBool,
  },
} as const;

export const detokenizeBody = {
  type: 'object',
  required: ['tokens'],
  properties: {
    model: optionalString,
    tokens: { type: 'array', items: { type: 'integer', minimum: 0 } },
  },
} as const;

const limitCount = { type: 'integer', minimum: 1 } as const;

/**
 * The answer of GET /v1/prm/info: what a client needs to know before it sends chains (the
 * scoring page reads it to pick its layout). A 'prm' scores every step (/v1/prm/score gives
 * step probabilities, every aggregate and the first error); an 'orm' scores a whole solution
 * once (rank solutions with /v1/rerank; no step scores). Also the response schema of the route.
 */
export const modelInfoResponse = {
  type: 'object',
  additionalProperties: false,
  required: ['object', 'model', 'kind', 'format', 'backend', 'kernels', 'aggregations', 'defaultAggregate', 'errorThreshold', 'stepSeparator', 'maxContext', 'limits'],
  properties: {
    object: { type: 'string', const: 'model_info' },
    model: { type: 'string' },
    kind: { type: 'string', enum: ['prm', 'orm'] },
    /** The model's input format, null when the model does not say. */
    format: { type: ['string', 'null'] },
    /** What runs the backbone ('onnx/cpu', 'vllm'), null when the model does not say. */
    backend: { type: ['string', 'null'] },
    /** What the step-scoring kernels run on, as GET /health says it. */
    kernels: { type: 'string' },
    aggregations: { type: 'array', items: aggregate },
    /**
     * An implicit PRM: its reward defaults (/v1/prm/score answers stepRewards, aggregates over
     * them and the first reward below rewardThreshold; no probabilities). Absent for other models.
     */
    rewards: {
      type: 'object',
      additionalProperties: false,
      required: ['beta', 'rewards'],
      properties: { beta: { type: 'number' }, rewards: { type: 'string', enum: ['cumulative', 'step'] } },
    },
    defaultAggregate: aggregate,
    errorThreshold: { type: 'number' },
    /** The format's step mark, which /rerank's 'auto' splitter splits on; null if none. */
    stepSeparator: { type: ['string', 'null'] },
    maxContext: { type: ['integer', 'null'] },
    limits: {
      type: 'object',
      additionalProperties: false,
      required: ['maxBodyBytes', 'maxItems', 'maxSteps', 'maxItemTokens', 'maxItemChars', 'maxRequestTokens'],
      properties: {
        maxBodyBytes: limitCount,
        maxItems: limitCount,
        maxSteps: limitCount,
        maxItemTokens: limitCount,
        maxItemChars: limitCount,
        maxRequestTokens: limitCount,
      },
    },
  },
} as const;

export type ModelInfo = FromSchema<typeof modelInfoResponse>;
export type PrmScoreBody = FromSchema<typeof prmScoreBody>;
export type PrmRerankBody = FromSchema<typeof prmRerankBody>;
export type PoolingBody = FromSchema<typeof poolingBody>;
export type ScoreBody = FromSchema<typeof scoreBody>;
export type RerankBody = FromSchema<typeof rerankBody>;
export type TokenizeBody = FromSchema<typeof tokenizeBody>;
export type DetokenizeBody = FromSchema<typeof detokenizeBody>;
export type ChatMessages = FromSchema<typeof messages>;
