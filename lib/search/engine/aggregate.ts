// Chain scores from step probabilities, through the kernels' segmented log-space reductions,
// so search and reranking agree on what "prod" or "min" means. The js backend: a search
// round reduces a few hundred steps, less than one native dispatch costs, and search then
// works even where the addon is not built.
import { aggregate } from '../../kernels/index.js';
import { AGGREGATIONS } from '../../kernels/types.js';
import type { Aggregation } from '../../kernels/types.js';

export function checkAggregation(how: unknown, owner: string): Aggregation {
  if (!AGGREGATIONS.includes(how as Aggregation))
    throw new RangeError(`${owner}: aggregation must be one of ${AGGREGATIONS.join(', ')}, got ${String(how)}`);
  return how as Aggregation;
}

/** One score per chain in probability space (exp of the log aggregate); an empty chain gives NaN. */
export function aggregateChains(stepProbs: readonly ArrayLike<number>[], how: Aggregation): number[] {
  const offsets = new Int32Array(stepProbs.length + 1);
  for (let i = 0; i < stepProbs.length; i++) offsets[i + 1] = offsets[i] + stepProbs[i].length;
  const logs = new Float32Array(offsets[stepProbs.length]);
  stepProbs.forEach((p, i) => {
    for (let k = 0; k < p.length; k++) logs[offsets[i] + k] = Math.log(p[k]);
  });
  return Array.from(aggregate(logs, offsets, how, { backend: 'js' }), (x) => Math.exp(x));
}

/** Orders by score, best first; NaN and undefined last; ties keep their original order. */
export function byScoreDesc<T extends { score?: number }>(a: T, b: T): number {
  const x = a.score ?? NaN;
  const y = b.score ?? NaN;
  const xn = Number.isNaN(x);
  const yn = Number.isNaN(y);
  if (xn || yn) return xn === yn ? 0 : xn ? 1 : -1;
  return y - x;
}
