// Argument checks shared by generators, scorers and strategies: bad input fails with a
// TypeError/RangeError naming the argument, before any work starts.
import type { ChainItem, GenerateOptions, GenerateRequest, StepScores } from '../../interfaces.js';
import { integer, invalidType, isObject, keysOf, knownKeys, number, object, positiveInt as isPositiveInt, signal } from '../../is.js';

export function checkChain(problem: unknown, steps: unknown, where: string, owner: string): void {
  if (typeof problem !== 'string') throw invalidType(`${owner}: ${where}.problem`, 'a string', problem);
  if (!Array.isArray(steps)) throw invalidType(`${owner}: ${where}.steps`, 'an array of strings', steps);
  for (let k = 0; k < steps.length; k++)
    if (typeof steps[k] !== 'string') throw invalidType(`${owner}: ${where}.steps[${k}]`, 'a string', steps[k]);
}

export function checkItems(items: unknown, owner: string): asserts items is readonly ChainItem[] {
  if (!Array.isArray(items)) throw invalidType(`${owner}: items`, 'an array of {problem, steps}', items);
  items.forEach((it, i) => {
    if (!isObject(it)) throw invalidType(`${owner}: items[${i}]`, 'an object {problem, steps}', it);
    checkChain(it.problem, it.steps, `items[${i}]`, owner);
  });
}

export function checkSignal(v: unknown, name: string, owner: string): void {
  signal(v, `${owner}: ${name}`);
}

/** Stop sequences: an array of non-empty strings. */
export function checkStop(stop: unknown, name: string): void {
  if (stop !== undefined && !(Array.isArray(stop) && stop.every((s) => typeof s === 'string' && s.length > 0)))
    throw invalidType(name, 'an array of non-empty strings', stop);
}

const GENERATE_KEYS = keysOf<GenerateOptions>()({ temperature: true, topP: true, maxTokens: true, stop: true, seed: true, signal: true });

export function checkGenerateArgs(requests: unknown, options: unknown, owner: string): void {
  if (!Array.isArray(requests)) throw invalidType(`${owner}: requests`, 'an array of {problem, steps, n}', requests);
  requests.forEach((r: GenerateRequest, i) => {
    if (!isObject(r)) throw invalidType(`${owner}: requests[${i}]`, 'an object {problem, steps, n}', r);
    checkChain(r.problem, r.steps, `requests[${i}]`, owner);
    isPositiveInt(r.n, `${owner}: requests[${i}].n`);
  });
  const o = object(options, `${owner}: options`) as GenerateOptions;
  knownKeys(o as Record<string, unknown>, GENERATE_KEYS, `${owner}: options`);
  if (o.temperature !== undefined) number(o.temperature, `${owner}: options.temperature`, 0);
  if (o.topP !== undefined) number(o.topP, `${owner}: options.topP`, 0, 1, { openMin: true });
  if (o.maxTokens !== undefined) isPositiveInt(o.maxTokens, `${owner}: options.maxTokens`);
  checkStop(o.stop, `${owner}: options.stop`);
  if (o.seed !== undefined) integer(o.seed, `${owner}: options.seed`, 0, 0xffffffff);
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

/** An integer >= `min` (a count of samples, beams, retries), named with its owner. */
export function positiveInt(x: unknown, name: string, owner: string, min = 1): number {
  return integer(x, `${owner}: ${name}`, min);
}
