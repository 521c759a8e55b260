// Chains that would be mis-split are refused with the item and step named, never scored.
export class SeparatorInStepError extends RangeError {
  constructor(
    readonly item: number,
    readonly step: number,
    readonly separator: string,
    format: string,
  ) {
    super(`items[${item}].steps[${step}] contains ${JSON.stringify(separator)}, which ${format} uses to mark steps; remove or replace it in the step text`);
    this.name = 'SeparatorInStepError';
  }
}

export function checkItemShape(item: unknown, index: number): asserts item is { problem: string; steps: readonly string[] } {
  if (item === null || typeof item !== 'object') throw new TypeError(`items[${index}] must be an object { problem, steps }`);
  const it = item as { problem?: unknown; steps?: unknown };
  if (typeof it.problem !== 'string') throw new TypeError(`items[${index}].problem must be a string`);
  if (!Array.isArray(it.steps)) throw new TypeError(`items[${index}].steps must be an array of strings`);
  for (let s = 0; s < it.steps.length; s++)
    if (typeof it.steps[s] !== 'string') throw new TypeError(`items[${index}].steps[${s}] must be a string, got ${typeof it.steps[s]}`);
}

/** Refuses steps that contain `needle` (or any special-token text). */
export function rejectInSteps(steps: readonly string[], needles: readonly string[], index: number, format: string): void {
  for (let s = 0; s < steps.length; s++)
    for (const n of needles) if (n.length > 0 && steps[s].includes(n)) throw new SeparatorInStepError(index, s, n, format);
}

/** Token indices holding `id`; throws (naming the item) unless there is one per step. */
export function findBoundaries(ids: readonly number[], id: number, steps: readonly string[], index: number, format: string, sepText: string): number[] {
  const positions: number[] = [];
  for (let t = 0; t < ids.length; t++) if (ids[t] === id) positions.push(t);
  if (positions.length !== steps.length) {
    throw new RangeError(
      `items[${index}]: found ${positions.length} separator tokens (${JSON.stringify(sepText)}, id ${id}) for ${steps.length} steps in the ${format} encoding; ` +
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
