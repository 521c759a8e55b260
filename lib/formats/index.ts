// PRM input formats: the known families (each file cites its model's convention) and custom ones.
import { invalidRange, invalidType } from '../is.js';
import { customFormat } from './custom.js';
import { eurusPrm } from './eurus.js';
import { granitePrm } from './granite.js';
import { mathShepherd } from './math-shepherd.js';
import { qwenMathPrm } from './qwen-math-prm.js';
import { rlhflow } from './rlhflow.js';
import { skywork } from './skywork.js';
import { trl, trlFormat } from './trl.js';
import type { FormatName, FormatSpec, PrmFormat } from './types.js';

export type * from './types.js';
export { SeparatorInStepError } from './errors.js';
export { customFormat, DEFAULT_CUSTOM_TEMPLATE } from './custom.js';
export { splitSteps } from './split.js';
export type { SplitStep, StepSplitter } from './split.js';
export { QWEN_PRM_SEPARATOR, QWEN_PRM_SEPARATOR_ID, QWEN_PRM_SYSTEM } from './qwen-math-prm.js';
export { SHEPHERD_TAG } from './math-shepherd.js';
export { trlFormat, TRL_SEPARATOR } from './trl.js';
export { EURUS_JOIN } from './eurus.js';
export { GRANITE_ANSWER, GRANITE_QUESTION } from './granite.js';

export const FORMATS: Readonly<Record<FormatName, PrmFormat>> = {
  'qwen2.5-math-prm': qwenMathPrm,
  'math-shepherd': mathShepherd,
  rlhflow,
  skywork,
  trl,
  'eurus-prm': eurusPrm,
  'granite-prm': granitePrm,
};

/** The built-in format names, in one place: every list of them (CLI flags, messages, the converter) reads this. */
export const FORMAT_NAMES = Object.keys(FORMATS) as readonly FormatName[];

export function resolveFormat(spec: FormatSpec): PrmFormat {
  if (typeof spec === 'string') {
    const f = FORMATS[spec as FormatName];
    if (!Object.hasOwn(FORMATS, spec)) throw invalidRange('format', `one of ${FORMAT_NAMES.join(', ')} or a custom format object`, spec);
    return f;
  }
  if (spec && typeof spec === 'object') {
    if ((spec as { kind?: unknown }).kind === 'custom') return customFormat(spec as Parameters<typeof customFormat>[0]);
    if ((spec as { kind?: unknown }).kind === 'trl') return trlFormat(spec as Parameters<typeof trlFormat>[0]);
    if (typeof (spec as PrmFormat).encode === 'function' && typeof (spec as PrmFormat).name === 'string') return spec as PrmFormat;
  }
  throw invalidType('format', `one of ${FORMAT_NAMES.join(', ')} or { kind: 'custom', separator, head, template? }`, spec);
}
