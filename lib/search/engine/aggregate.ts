// Chain scores from step probabilities, through the kernels' segmented log-space reductions,
// so search and reranking agree on what "prod" or "min" means. The js backend: a search
// round reduces a few hundred steps, less than one native dispatch costs, and search then
// works even where the addon is not built.
import { toLogSpace } from '../../batch/log-space.js';
import { aggregation } from '../../is.js';
import { aggregate } from '../../kernels/index.js';
import type { Aggregation } from '../../kernels/types.js';

export function checkAggregation(how: unknown, owner: string): Aggregation {
  return aggregation(how, `${owner}: aggregation`);
}

/** One score per chain in probability space (exp of the log aggregate); an empty chain gives NaN. */
export function aggregateChains(stepProbs: readonly ArrayLike<number>[], how: Aggregation): number[] {
  const { logs, offsets } = toLogSpace(stepProbs);
  return Array.from(aggregate({ stepLogProbs: logs, offsets, how }, { backend: 'js' }), (x) => Math.exp(x));
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
