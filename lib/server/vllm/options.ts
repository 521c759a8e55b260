// The vLLM-compatibility settings of one server: which rows /pooling returns, and how
// /rerank and /score split solution texts into steps. Checked once, at startup.
import { nonNegativeInt, oneOf, string } from '../../is.js';
import { splitSteps } from '../../formats/split.js';
import type { PoolingType, ServerModel, ServerOptions } from '../types.js';

export interface CompatOptions {
  pooling: PoolingType;
  /** Set when pooling is 'step'. */
  stepTagId?: number;
  stepSplitter: string;
}

export const POOLING_TYPES: readonly PoolingType[] = ['step', 'all'];

export function resolveCompat(options: ServerOptions, model: ServerModel): CompatOptions {
  const tag = options.stepTagId ?? model.tokenClassifier?.stepTagId;
  if (tag !== undefined) nonNegativeInt(tag, options.stepTagId !== undefined ? 'options.stepTagId' : 'options.model.tokenClassifier.stepTagId');
  const pooling = options.pooling === undefined ? (tag === undefined ? 'all' : 'step') : oneOf(options.pooling, 'options.pooling', POOLING_TYPES);
  if (pooling === 'step' && tag === undefined)
    throw new RangeError("options.pooling 'step' needs a step-tag token: the model's format has none, so set options.stepTagId");
  const stepSplitter = string(options.stepSplitter ?? 'auto', 'options.stepSplitter', { nonEmpty: true });
  splitSteps('', stepSplitter);
  return { pooling, stepTagId: pooling === 'step' ? tag : undefined, stepSplitter };
}
