// From step log-probabilities (CSR) to the per-chain results callers see.
import { aggregation, integer, invalidType, isObject, keysOf, knownKeys, nonNegativeInt, object, signal, threshold } from '../is.js';
import { aggregate, firstError } from '../kernels/index.js';
import type { Aggregation } from '../kernels/types.js';
import { PrefixCache } from './prefix-cache.js';
import { DEFAULT_MIN_SAVED } from './shared-prefix.js';

/** An implicit PRM's step rewards: q at each step's end ('cumulative'), or its per-step differences ('step'). */
export type RewardKind = 'cumulative' | 'step';

export interface PrmScore {
  /** P(step correct) for each scored step (empty for an implicit PRM, whose rewards are not probabilities). */
  stepProbs: number[];
  /**
   * log P(step correct) for each scored step, as the backbone gave it: consumers that reduce
   * in log space (the service's aggregates) start from these, not from `stepProbs` logged again.
   */
  stepLogProbs: number[];
  /**
   * An implicit PRM's reward for each scored step: q at the step's last token (cumulative, the
   * model card's definition) or per step (`rewards: 'step'`), scaled by beta. See lib/prm/rewards.ts.
   */
  stepRewards?: number[];
  /**
   * The chain's aggregate, as a probability (exp of the log-space aggregate); for an implicit
   * PRM, the aggregate of its rewards. NaN for an empty chain.
   */
  score: number;
  /** Index of the first step with probability below the threshold (an implicit PRM: reward below rewardThreshold), -1 if none. */
  firstError: number;
  /** Backbone tokens of the chain as encoded. */
  tokens: number;
  /** Steps were cut by maxContext (overflow 'truncate'): stepProbs covers only those that fit. */
  truncated: boolean;
  /** The caller's id, when the item had one. */
  id?: string;
}

export interface ScoreCallOptions {
  /** An implicit PRM takes 'min', 'last' or 'mean' (of its rewards). */
  aggregate?: Aggregation;
  /** A step is an error below this probability (default 0.5); not for implicit PRMs. */
  errorThreshold?: number;
  signal?: AbortSignal;
  /** Implicit PRMs: the reward scale (default: the model's, 0.001 for EurusPRM). */
  beta?: number;
  /** Implicit PRMs: 'cumulative' (q at each step end, default) or 'step' (q_k - q_{k-1}). */
  rewards?: RewardKind;
  /** Implicit PRMs: a step is an error below this reward (default 0). */
  rewardThreshold?: number;
  /**
   * Run each token prefix that several chains share once, the chains continuing its
   * keys/values (default true; needs a model with a KV cache, else each chain runs alone).
   * `{ minSaved }`: the tokens a shared prefix must save to be split off (default 64).
   * false: every chain alone. Scores are the same either way.
   */
  sharePrefixes?: boolean | { minSaved?: number };
  /** A prefix cache (`prm.prefixCache()`): chains continue prefixes scored in earlier calls, and are added to it. */
  prefixCache?: PrefixCache;
}

export interface ScoreCall {
  how: Aggregation;
  threshold: number;
  signal?: AbortSignal;
  /** Tokens a shared prefix must save to be split off; false: no sharing. */
  share: number | false;
  prefixCache?: PrefixCache;
}

const SCORE_KEYS = keysOf<Pick<ScoreCallOptions, 'aggregate' | 'errorThreshold' | 'signal' | 'sharePrefixes' | 'prefixCache'>>()({
  aggregate: true, errorThreshold: true, signal: true, sharePrefixes: true, prefixCache: true,
});

/** `sharePrefixes` as the minimum tokens saved, or false. */
export function checkShare(v: unknown): number | false {
  if (v === undefined || v === true) return DEFAULT_MIN_SAVED;
  if (v === false) return false;
  if (!isObject(v)) throw invalidType('sharePrefixes', 'true, false or { minSaved }', v);
  knownKeys(v, ['minSaved'], 'sharePrefixes');
  return v.minSaved === undefined ? DEFAULT_MIN_SAVED : integer(v.minSaved, 'sharePrefixes.minSaved', 1);
}

export function checkPrefixCache(v: unknown): PrefixCache | undefined {
  if (v === undefined) return undefined;
  if (!(v instanceof PrefixCache)) throw invalidType('prefixCache', 'a PrefixCache (prm.prefixCache())', v);
  return v;
}

/**
 * The options every scoring call takes (plus `extra` keys the caller reads itself, such as
 * rerank's `topN`); unknown keys are refused so `agregate: 'min'` cannot score with 'prod'.
 */
export function checkScoreCall(o: ScoreCallOptions | undefined, dflt: Aggregation, extra: readonly string[] = [], name = 'score options'): ScoreCall {
  if (o === undefined) return { how: dflt, threshold: 0.5, share: DEFAULT_MIN_SAVED };
  for (const k of ['beta', 'rewards', 'rewardThreshold'] as const)
    if (object(o, name)[k] !== undefined) throw new TypeError(`${name}.${k} is an option of implicit PRMs (converted with --reference); this model gives step probabilities`);
  knownKeys(object(o, name), [...SCORE_KEYS, ...extra], name);
  const how = o.aggregate === undefined ? dflt : aggregation(o.aggregate, 'aggregate');
  const t = o.errorThreshold === undefined ? 0.5 : threshold(o.errorThreshold, 'errorThreshold');
  const prefixCache = checkPrefixCache(o.prefixCache);
  return { how, threshold: t, signal: signal(o.signal), share: checkShare(o.sharePrefixes), ...(prefixCache ? { prefixCache } : {}) };
}

export interface RerankOptions extends ScoreCallOptions {
  /** Keep the best N (default: all). */
  topN?: number;
}

/** Rerank's options: the scoring ones and `topN` (default: every candidate). */
export function checkRerankCall(o: RerankOptions, dflt: Aggregation, candidates: number): ScoreCall & { topN: number } {
  const call = checkScoreCall(o, dflt, ['topN'], 'rerank options');
  return { ...call, topN: o.topN === undefined ? candidates : nonNegativeInt(o.topN, 'topN') };
}

/**
 * A chain's per-step numbers as the backbone gave them, before any reduction: what a caller
 * that aggregates per request itself (the service) takes from `Prm.stepLogsEncoded`.
 */
/** `stepLogsEncoded`'s options: the sharing ones of a scoring call, no reduction. */
export type StepLogsOptions = Pick<ScoreCallOptions, 'signal' | 'sharePrefixes' | 'prefixCache'>;

export interface PrmStepLogs {
  /** log P(step correct) for each scored step (empty for an implicit PRM). */
  stepLogProbs: number[];
  /**
   * An implicit PRM's per-step sums of log policy(y_i) - log reference(y_i) over each step's
   * response tokens, unscaled: its 'step' rewards at beta 1 (lib/prm/rewards.ts).
   */
  stepLogRatios?: number[];
  tokens: number;
  truncated: boolean;
  id?: string;
}

/** Each chain's slice of the backbone's CSR values: log-probabilities, or an implicit PRM's log-ratios. */
export function buildStepLogs(
  values: Float32Array | Float64Array,
  kind: 'logProbs' | 'logRatios',
  offsets: Int32Array,
  tokens: readonly number[],
  truncated: readonly boolean[],
  ids: ReadonlyArray<string | undefined>,
): PrmStepLogs[] {
  const out: PrmStepLogs[] = [];
  for (let i = 0; i < offsets.length - 1; i++) {
    const v = Array.from(values.subarray(offsets[i], offsets[i + 1]));
    const r: PrmStepLogs = kind === 'logProbs' ? { stepLogProbs: v, tokens: tokens[i], truncated: truncated[i] } : { stepLogProbs: [], stepLogRatios: v, tokens: tokens[i], truncated: truncated[i] };
    if (ids[i] !== undefined) r.id = ids[i];
    out.push(r);
  }
  return out;
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
  const agg = aggregate({ stepLogProbs: lp, offsets, how });
  const fe = firstError({ stepLogProbs: lp, offsets, threshold });
  const out: PrmScore[] = [];
  for (let i = 0; i < offsets.length - 1; i++) {
    const stepLogProbs = Array.from(lp.subarray(offsets[i], offsets[i + 1]));
    const r: PrmScore = { stepProbs: stepLogProbs.map(Math.exp), stepLogProbs, score: Math.exp(agg[i]), firstError: fe[i], tokens: tokens[i], truncated: truncated[i] };
    if (ids[i] !== undefined) r.id = ids[i];
    out.push(r);
  }
  return out;
}
