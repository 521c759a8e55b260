// Runs any StepScorer over a list of chains in bounded batches and checks what comes back, so
// a misbehaving scorer fails loudly with the chain it got wrong instead of skewing a metric.
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import { invalidType, keysOf, knownKeys, object, optionalFunction, positiveInt, show, signal } from '../is.js';
import type { ChainItem, StepScorer } from '../interfaces.js';

export interface ScoreChainsOptions {
  /** Chains per scorer call (default 32); the scorer may batch further inside. */
  batchSize?: number;
  /** Scorer calls in flight at once (default 1; raise it for a remote scorer). */
  concurrency?: number;
  signal?: AbortSignal;
  /** Called after each batch with the number of chains scored so far. */
  onProgress?: (done: number, total: number) => void;
}

export const SCORE_CHAINS_KEYS = keysOf<ScoreChainsOptions>()({ batchSize: true, concurrency: true, signal: true, onProgress: true });

export function checkScorer(scorer: unknown): asserts scorer is StepScorer {
  if (scorer === null || typeof scorer !== 'object' || typeof (scorer as StepScorer).score !== 'function')
    throw invalidType('scorer', 'a StepScorer (an object with a score(items) method)', scorer);
}

export function checkBatchSize(batchSize: unknown, name = 'batchSize'): number {
  return positiveInt(batchSize, name);
}

function checkProbs(name: string, item: ChainItem, raw: unknown): number[] {
  // number[] per the interface; a Float32Array from a kernel-backed scorer is fine too
  const probs = Array.isArray(raw) ? raw.slice() : ArrayBuffer.isView(raw) ? Array.from(raw as Float32Array) : undefined;
  if (!probs || probs.length !== item.steps.length)
    throw new RangeError(`${name} returned ${probs ? probs.length : 'no'} step probabilities for id ${item.id} (${item.steps.length} steps)`);
  for (const p of probs)
    if (typeof p !== 'number' || p < 0 || p > 1)
      throw new RangeError(`${name} returned step probability ${String(p)} for id ${item.id}; expected [0, 1] or NaN`);
  return probs as number[];
}

/** Step probabilities for every chain, keyed by `item.id` (ids must be present and unique). */
export async function scoreChains(
  scorer: StepScorer,
  items: readonly ChainItem[],
  options: ScoreChainsOptions = {},
  known: readonly string[] = SCORE_CHAINS_KEYS,
): Promise<Map<string, number[]>> {
  checkScorer(scorer);
  knownKeys(object(options, 'options'), known);
  signal(options.signal);
  optionalFunction(options.onProgress, 'onProgress');
  const batchSize = checkBatchSize(options.batchSize ?? 32);
  const ids = new Set<string>();
  for (const [i, item] of items.entries()) {
    if (typeof item.id !== 'string' || !item.id) throw new PrmInputTypeError(`items[${i}].id`, `must be a non-empty string, got ${show(item.id)}`);
    if (ids.has(item.id)) throw new PrmInputError(`items[${i}].id`, `${JSON.stringify(item.id)} is a duplicate`);
    ids.add(item.id);
  }
  const concurrency = checkBatchSize(options.concurrency ?? 1, 'concurrency');
  const byId = new Map<string, number[]>();
  const name = scorer.name || 'scorer';
  const starts: number[] = [];
  for (let s = 0; s < items.length; s += batchSize) starts.push(s);
  let next = 0;
  let done = 0;
  let failed = false;
  // `concurrency` batches in flight: a remote scorer overlaps round trips, a local one queues
  const lane = async () => {
    while (next < starts.length && !failed) {
      options.signal?.throwIfAborted();
      const start = starts[next++]!;
      const batch = items.slice(start, start + batchSize);
      try {
        const results = await scorer.score(batch, { signal: options.signal });
        if (!Array.isArray(results) || results.length !== batch.length)
          throw new RangeError(`${name} returned ${Array.isArray(results) ? results.length : 'no'} results for ${batch.length} chains`);
        batch.forEach((item, j) => byId.set(item.id!, checkProbs(name, item, results[j]?.stepProbs)));
      } catch (err) {
        failed = true;
        throw err;
      }
      done += batch.length;
      options.onProgress?.(done, items.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, starts.length) }, lane));
  // in input order, whatever order the batches finished in
  const out = new Map<string, number[]>();
  for (const item of items) out.set(item.id!, byId.get(item.id!)!);
  return out;
}
