// From step log-probabilities (CSR) to the per-chain results callers see.
import { aggregate, firstError } from '../kernels/index.js';
import { AGGREGATIONS } from '../kernels/types.js';
import type { Aggregation } from '../kernels/types.js';

export interface PrmScore {
  /** P(step correct) for each scored step. */
  stepProbs: number[];
  /** The chain's aggregate, as a probability (exp of the log-space aggregate); NaN for an empty chain. */
  score: number;
  /** Index of the first step with probability below the threshold, -1 if none. */
  firstError: number;
  /** Backbone tokens of the chain as encoded. */
  tokens: number;
  /** Steps were cut by maxContext (overflow 'truncate'): stepProbs covers only those that fit. */
  truncated: boolean;
  /** The caller's id, when the item had one. */
  id?: string;
}

export interface ScoreCallOptions {
  aggregate?: Aggregation;
  /** A step is an error below this probability (default 0.5). */
  errorThreshold?: number;
  signal?: AbortSignal;
}

export function checkScoreCall(o: ScoreCallOptions | undefined, dflt: Aggregation): { how: Aggregation; threshold: number; signal?: AbortSignal } {
  if (o === undefined) return { how: dflt, threshold: 0.5 };
  if (o === null || typeof o !== 'object') throw new TypeError('score options must be an object');
  const how = o.aggregate ?? dflt;
  if (!AGGREGATIONS.includes(how)) throw new RangeError(`aggregate must be one of ${AGGREGATIONS.join(', ')}, got '${String(how)}'`);
  const threshold = o.errorThreshold ?? 0.5;
  if (typeof threshold !== 'number' || !(threshold > 0 && threshold < 1)) throw new RangeError(`errorThreshold must be in (0, 1), got ${String(threshold)}`);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) throw new TypeError('signal must be an AbortSignal');
  return { how, threshold, signal: o.signal };
}

export function buildScores(
  lp: Float32Array,
  offsets: Int32Array,
  how: Aggregation,
  threshold: number,
  tokens: readonly number[],
  truncated: readonly boolean[],
  ids: ReadonlyArray<string | undefined>,
): PrmScore[] {
  const agg = aggregate(lp, offsets, how);
  const fe = firstError(lp, offsets, threshold);
  const out: PrmScore[] = [];
  for (let i = 0; i < offsets.length - 1; i++) {
    const stepProbs: number[] = [];
    for (let s = offsets[i]; s < offsets[i + 1]; s++) stepProbs.push(Math.exp(lp[s]));
    const r: PrmScore = { stepProbs, score: Math.exp(agg[i]), firstError: fe[i], tokens: tokens[i], truncated: truncated[i] };
    if (ids[i] !== undefined) r.id = ids[i];
    out.push(r);
  }
  return out;
}
