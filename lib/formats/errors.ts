// Chains that would be mis-split are refused with the item and the field named, never scored.
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import type { ChainItem } from '../interfaces.js';
import { show } from '../is.js';

/** A step (or the problem) holds the text the format uses to mark steps. */
export class SeparatorInStepError extends PrmInputError {
  /** The step, or -1 when the text is in the problem. */
  readonly step: number;
  readonly separator: string;
  constructor(item: number, step: number, separator: string, format: string) {
    const where = step < 0 ? 'problem' : 'step text';
    super(
      step < 0 ? `items[${item}].problem` : `items[${item}].steps[${step}]`,
      `contains ${JSON.stringify(separator)}, which ${format} uses to mark steps; remove or replace it in the ${where}`,
    );
    this.name = 'SeparatorInStepError';
    this.step = step;
    this.separator = separator;
  }
}

export function checkItemShape(item: unknown, index: number): asserts item is { problem: string; steps: readonly string[] } {
  if (item === null || typeof item !== 'object' || Array.isArray(item))
    throw new PrmInputTypeError(`items[${index}]`, `must be an object { problem, steps }, got ${show(item)}`);
  const it = item as { problem?: unknown; steps?: unknown };
  if (typeof it.problem !== 'string') throw new PrmInputTypeError(`items[${index}].problem`, `must be a string, got ${show(it.problem)}`);
  if (!Array.isArray(it.steps)) throw new PrmInputTypeError(`items[${index}].steps`, `must be an array of strings, got ${show(it.steps)}`);
  for (let s = 0; s < it.steps.length; s++)
    if (typeof it.steps[s] !== 'string') throw new PrmInputTypeError(`items[${index}].steps[${s}]`, `must be a string, got ${show(it.steps[s])}`);
}

/** Refuses steps that contain `needle` (or any special-token text). */
export function rejectInSteps(steps: readonly string[], needles: readonly string[], index: number, format: string): void {
  for (let s = 0; s < steps.length; s++)
    for (const n of needles) if (n.length > 0 && steps[s].includes(n)) throw new SeparatorInStepError(index, s, n, format);
}

/** Refuses a chain whose steps, then problem, contain any of `needles`. */
export function rejectInChain(item: ChainItem, needles: readonly string[], index: number, format: string): void {
  rejectInSteps(item.steps, needles, index, format);
  for (const n of needles) if (n.length > 0 && item.problem.includes(n)) throw new SeparatorInStepError(index, -1, n, format);
}

/** Token indices holding `id`; throws (naming the item) unless there is one per step. */
export function findBoundaries(ids: readonly number[], id: number, steps: readonly string[], index: number, format: string, sepText: string): number[] {
  const positions: number[] = [];
  for (let t = 0; t < ids.length; t++) if (ids[t] === id) positions.push(t);
  if (positions.length !== steps.length) {
    throw new PrmInputError(
      `items[${index}]`,
      `found ${positions.length} separator tokens (${JSON.stringify(sepText)}, id ${id}) for ${steps.length} steps in the ${format} encoding; ` +
        'the problem or a step tokenizes to the separator, so the chain cannot be split safely',
    );
  }
  return positions;
}

/** The last id of `text` encoded alone (how the authors' code resolves tags like '+', 'ки'). */
// Formats look their separator up for every chain; a tokenizer's answer never changes, so
// it is computed once per (tokenizer, text).
const lastTokenCache = new WeakMap<object, Map<string, number>>();

export function lastTokenId(tok: { encode(t: string, s?: boolean): number[] }, text: string, what: string): number {
  let known = lastTokenCache.get(tok);
  const hit = known?.get(text);
  if (hit !== undefined) return hit;
  const ids = tok.encode(text, false);
  if (ids.length === 0) throw new TypeError(`${what}: ${JSON.stringify(text)} encodes to no tokens with this tokenizer`);
  if (!known) lastTokenCache.set(tok, (known = new Map()));
  known.set(text, ids[ids.length - 1]);
  return ids[ids.length - 1];
}
