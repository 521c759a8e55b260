// A response's steps and where each lies in the response text: split from the text by the
// project's one splitter, or given and found in it, in order.
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import { splitSteps } from '../formats/split.js';
import type { SplitStep, StepSplitter } from '../formats/split.js';

/** Text joining given steps when the item has no response text. */
export const STEP_JOINER = '\n\n';

export interface ResponseSteps {
  response: string;
  steps: SplitStep[];
}

/**
 * `response` alone: split by `splitter`. `steps` alone: joined by a blank line. Both: each
 * step (trimmed) is found in the response after the previous one.
 */
export function responseSteps(
  item: { response?: unknown; steps?: unknown },
  path: string,
  splitter: StepSplitter,
  separator?: string,
): ResponseSteps {
  const { response, steps } = item;
  if (response !== undefined && typeof response !== 'string') throw new PrmInputTypeError(`${path}.response`, 'must be a string');
  if (steps !== undefined) {
    if (!Array.isArray(steps)) throw new PrmInputTypeError(`${path}.steps`, 'must be an array of strings');
    steps.forEach((s, k) => {
      if (typeof s !== 'string') throw new PrmInputTypeError(`${path}.steps[${k}]`, 'must be a string');
    });
  }
  if (response === undefined && steps === undefined) throw new PrmInputTypeError(path, 'needs a response (text) or steps');
  if (steps === undefined) return { response: response as string, steps: splitSteps(response as string, splitter, separator) };
  const given = steps as string[];
  const text = response ?? given.join(STEP_JOINER);
  const out: SplitStep[] = [];
  let from = 0;
  given.forEach((raw, k) => {
    const s = raw.trim();
    if (s.length === 0) throw new PrmInputError(`${path}.steps[${k}]`, 'is empty');
    const at = text.indexOf(s, from);
    if (at < 0) throw new PrmInputError(`${path}.steps[${k}]`, `is not in ${path}.response after the previous step`);
    out.push({ text: s, start: at, end: at + s.length });
    from = at + s.length;
  });
  return { response: text, steps: out };
}
