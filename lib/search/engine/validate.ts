// Argument checks shared by generators, scorers and strategies: bad input fails with a
// TypeError/RangeError naming the argument, before any work starts.
import type { ChainItem, GenerateOptions, GenerateRequest, StepScores } from '../../interfaces.js';

export function checkChain(problem: unknown, steps: unknown, where: string, owner: string): void {
  if (typeof problem !== 'string') throw new TypeError(`${owner}: ${where}.problem must be a string`);
  if (!Array.isArray(steps)) throw new TypeError(`${owner}: ${where}.steps must be an array of strings`);
  for (let k = 0; k < steps.length; k++)
    if (typeof steps[k] !== 'string') throw new TypeError(`${owner}: ${where}.steps[${k}] must be a string`);
}

export function checkItems(items: unknown, owner: string): asserts items is readonly ChainItem[] {
  if (!Array.isArray(items)) throw new TypeError(`${owner}: items must be an array of {problem, steps}`);
  items.forEach((it, i) => {
    if (!it || typeof it !== 'object') throw new TypeError(`${owner}: items[${i}] must be an object {problem, steps}`);
    checkChain((it as ChainItem).problem, (it as ChainItem).steps, `items[${i}]`, owner);
  });
}

export function checkSignal(signal: unknown, name: string, owner: string): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${owner}: ${name} must be an AbortSignal`);
}

export function checkGenerateArgs(requests: unknown, options: unknown, owner: string): void {
  if (!Array.isArray(requests)) throw new TypeError(`${owner}: requests must be an array of {problem, steps, n}`);
  requests.forEach((r: GenerateRequest, i) => {
    if (!r || typeof r !== 'object') throw new TypeError(`${owner}: requests[${i}] must be an object {problem, steps, n}`);
    checkChain(r.problem, r.steps, `requests[${i}]`, owner);
    if (!Number.isInteger(r.n) || r.n < 1) throw new RangeError(`${owner}: requests[${i}].n must be a positive integer, got ${String(r.n)}`);
  });
  if (options === null || typeof options !== 'object') throw new TypeError(`${owner}: options must be an object`);
  const o = options as GenerateOptions;
  if (o.temperature !== undefined && !(typeof o.temperature === 'number' && o.temperature >= 0 && Number.isFinite(o.temperature)))
    throw new RangeError(`${owner}: options.temperature must be a finite number >= 0`);
  if (o.topP !== undefined && !(typeof o.topP === 'number' && o.topP > 0 && o.topP <= 1))
    throw new RangeError(`${owner}: options.topP must be in (0, 1]`);
  if (o.maxTokens !== undefined && !(Number.isInteger(o.maxTokens) && o.maxTokens >= 1))
    throw new RangeError(`${owner}: options.maxTokens must be a positive integer`);
  if (o.stop !== undefined && !(Array.isArray(o.stop) && o.stop.every((s) => typeof s === 'string' && s.length > 0)))
    throw new TypeError(`${owner}: options.stop must be an array of non-empty strings`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= 0xffffffff))
    throw new RangeError(`${owner}: options.seed must be an integer in [0, 2^32)`);
  checkSignal(o.signal, 'options.signal', owner);
}

/** A scorer's answer must match its input: one result per chain, one probability in [0, 1] per step. */
export function checkScoresShape(scores: unknown, items: readonly ChainItem[], scorer: string): StepScores[] {
  if (!Array.isArray(scores) || scores.length !== items.length)
    throw new Error(`scorer '${scorer}' returned ${Array.isArray(scores) ? scores.length : typeof scores} results for ${items.length} chains`);
  scores.forEach((s: StepScores, i) => {
    const probs = s?.stepProbs;
    if (!probs || typeof (probs as ArrayLike<number>).length !== 'number' || probs.length !== items[i].steps.length)
      throw new Error(`scorer '${scorer}': result ${i} has ${probs?.length ?? 'no'} step probabilities for ${items[i].steps.length} steps`);
    for (let k = 0; k < probs.length; k++)
      if (!(probs[k] >= 0 && probs[k] <= 1))
        throw new Error(`scorer '${scorer}': result ${i} step ${k} probability ${probs[k]} is not in [0, 1]`);
  });
  return scores;
}

export function positiveInt(x: unknown, name: string, owner: string, min = 1): number {
  if (!Number.isInteger(x) || (x as number) < min) throw new RangeError(`${owner}: ${name} must be an integer >= ${min}, got ${String(x)}`);
  return x as number;
}
