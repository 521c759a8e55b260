// JSON schemas of every request body. They check shape and types only; size limits are
// checked after (limits.ts) so that "too many" answers 413 and "wrong" answers 400.
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

const aggregate = { type: 'string', enum: [...AGGREGATIONS] } as const;
// the kernels' firstError takes thresholds strictly inside (0, 1)
const threshold = { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 } as const;

export const scoreBody = {
  type: 'object',
  additionalProperties: false,
  required: ['items'],
  properties: {
    model: { type: 'string' },
    items: { type: 'array', minItems: 1, items: chainItem },
    aggregate,
    errorThreshold: threshold,
  },
} as const;

export const rerankBody = {
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
  },
} as const;

const tokenIds = { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } } as const;

/**
 * vLLM's pooling request (completion form). Unknown fields pass, as they do in vLLM, so
 * clients that send `user`, `priority` or newer options keep working.
 */
export const poolingBody = {
  type: 'object',
  required: ['input'],
  properties: {
    model: { type: ['string', 'null'] },
    input: {
      anyOf: [
        { type: 'string' },
        { type: 'array', minItems: 1, items: { type: 'string' } },
        tokenIds,
        { type: 'array', minItems: 1, items: tokenIds },
      ],
    },
    task: { type: ['string', 'null'] },
    encoding_format: { type: 'string', enum: ['float', 'base64'] },
    truncate_prompt_tokens: { type: ['integer', 'null'], minimum: -1 },
    add_special_tokens: { type: 'boolean' },
    use_activation: { type: ['boolean', 'null'] },
    softmax: { type: ['boolean', 'null'] },
    activation: { type: ['boolean', 'null'] },
    dimensions: { type: ['integer', 'null'] },
    user: { type: ['string', 'null'] },
    request_id: { type: 'string' },
    priority: { type: 'integer' },
  },
} as const;

export interface ScoreBody {
  model?: string;
  items: Array<{ problem: string; steps: string[]; id?: string }>;
  aggregate?: (typeof AGGREGATIONS)[number];
  errorThreshold?: number;
}

export interface RerankBody {
  model?: string;
  problem: string;
  candidates: string[][];
  aggregate?: (typeof AGGREGATIONS)[number];
  errorThreshold?: number;
  topN?: number;
  returnStepProbs?: boolean;
}

export interface PoolingBody {
  model?: string | null;
  input: string | string[] | number[] | number[][];
  task?: string | null;
  encoding_format?: 'float' | 'base64';
  truncate_prompt_tokens?: number | null;
  add_special_tokens?: boolean;
  use_activation?: boolean | null;
  softmax?: boolean | null;
  activation?: boolean | null;
  dimensions?: number | null;
  messages?: unknown;
  request_id?: string;
  [extra: string]: unknown;
}
