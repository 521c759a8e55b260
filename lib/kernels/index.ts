// prmkit/kernels: the public kernel API over three backends (cpu, cuda, js reference).
// This module imports nothing heavy, so it can run alone (e.g. on a GPU box without
// node_modules).
import { pickBackend } from './backend.js';
import { fromCaller, native, nativeHead, REBUILD_HINT } from './native.js';
import type { NativeBinding, NativeScoreArgs } from './native.js';
import {
  referenceAggregate,
  referenceFirstError,
  referenceGather,
  referenceRankGroups,
  referenceResult,
  referenceScore,
  referenceStepLogProbsAsync,
} from './reference.js';
import type {
  AggregateArgs,
  Aggregation,
  BackendName,
  Boundaries,
  FirstErrorArgs,
  Head,
  Hidden,
  KernelOptions,
  RankGroupsArgs,
  ScoreOptions,
  ScoreResult,
} from './types.js';
import {
  checkAggregateArgs,
  checkBoundaries,
  checkFirstErrorArgs,
  checkHead,
  checkHidden,
  checkKernelOptions,
  checkRankGroupsArgs,
  checkScoreOptions,
  ownedInputs,
} from './validate.js';
import type { ResolvedHead, ResolvedHidden } from './validate.js';

export type * from './types.js';
export { AGGREGATIONS } from './types.js';
export { toHalf, fromHalf, floatToF16, floatToBf16, f16ToFloat, bf16ToFloat } from './half.js';

export { backends, kernelBackendInfo, CUDA_AUTO_MIN_BYTES } from './backend.js';
export { tokenLogProbs, tokenLogProbsSync, lmHeadBackend } from './lm-head.js';
export type { LmHead, TokenLogProbsArgs, TokenLogProbsOptions } from './lm-head.js';
export type { KernelBackendInfo } from './backend.js';

interface Prepared {
  hidden: ResolvedHidden;
  head: ResolvedHead;
  boundaries: Boundaries;
  aggregations: Aggregation[];
  threshold: number;
  threads: number;
  backend: { name: BackendName; binding?: NativeBinding };
}

function prepare(hidden: Hidden, boundaries: Boundaries, head: Head, options?: ScoreOptions): Prepared {
  const o = checkScoreOptions(options);
  const h = checkHidden(hidden);
  const b = checkBoundaries(boundaries, h);
  const hd = checkHead(head, h.H);
  const bytes = b.positions.length * h.H * (h.dtype === 'float32' ? 4 : 2);
  const backend = pickBackend(o.backend, bytes);
  // the native glue copies what it reads itself; the js backend reads across event-loop turns
  const own = backend.binding ? { boundaries: b, head: hd } : ownedInputs(b, hd);
  return { hidden: h, head: own.head, boundaries: own.boundaries, ...o, backend };
}

function nativeArgs(p: Prepared): { args: NativeScoreArgs; result: ScoreResult } {
  const { hidden: h, head, boundaries } = p;
  const S = boundaries.positions.length;
  const stepLogProbs = new Float32Array(S);
  const firstError = new Int32Array(h.B);
  const aggregates: ScoreResult['aggregates'] = {};
  for (const a of p.aggregations) aggregates[a] = new Float32Array(h.B);
  const args: NativeScoreArgs = {
    data: h.data,
    dtype: h.dtype,
    B: h.B,
    T: h.T,
    H: h.H,
    offsets: boundaries.offsets,
    positions: boundaries.positions,
    threads: p.threads,
    backend: p.backend.name as 'cpu' | 'cuda',
    head: nativeHead(head),
    threshold: p.threshold,
    stepLogProbs,
    aggregates,
    firstError,
  };
  return { args, result: { stepLogProbs, aggregates: { ...aggregates }, firstError, backend: p.backend.name } };
}

function referenceFor(p: Prepared): ScoreResult {
  return referenceScore(p.hidden, p.boundaries.offsets, p.boundaries.positions, p.head, p.aggregations, p.threshold);
}

/**
 * Scores every step of a batch of candidates: gathers the boundary rows, applies the head,
 * takes log-probabilities and reduces per candidate. On the native backends the work runs
 * off the event loop; every backend owns what it reads until the Promise settles (the small
 * arrays are copied, hidden.data is held even if its buffer is transferred), so the caller
 * may change or drop its inputs meanwhile. The js backend works in slices with turns of the
 * loop between.
 */
export async function scoreBatch(hidden: Hidden, boundaries: Boundaries, head: Head, options?: ScoreOptions): Promise<ScoreResult> {
  const p = prepare(hidden, boundaries, head, options);
  if (!p.backend.binding) {
    const { offsets, positions } = p.boundaries;
    const lp = await referenceStepLogProbsAsync(p.hidden, offsets, positions, p.head);
    return referenceResult(lp, offsets, p.aggregations, p.threshold);
  }
  const { args, result } = nativeArgs(p);
  await fromCaller(p.backend.binding.score(args));
  return result;
}

/** The same as `scoreBatch`, on the calling thread. */
export function scoreBatchSync(hidden: Hidden, boundaries: Boundaries, head: Head, options?: ScoreOptions): ScoreResult {
  const p = prepare(hidden, boundaries, head, options);
  if (!p.backend.binding) return referenceFor(p);
  const { args, result } = nativeArgs(p);
  p.backend.binding.scoreSync(args);
  return result;
}

/** The boundary rows as float32 `[S, H]` (16-bit inputs widened). */
export function gatherRows(hidden: Hidden, boundaries: Boundaries, options?: KernelOptions): Float32Array {
  const o = checkKernelOptions(options);
  const h = checkHidden(hidden);
  const { offsets, positions } = checkBoundaries(boundaries, h);
  const S = positions.length;
  const backend = pickBackend(o.backend, S * h.H * (h.dtype === 'float32' ? 4 : 2));
  if (!backend.binding) return referenceGather(h, offsets, positions);
  const out = new Float32Array(S * h.H);
  backend.binding.gatherRowsSync({
    data: h.data,
    dtype: h.dtype,
    B: h.B,
    T: h.T,
    H: h.H,
    offsets,
    positions,
    threads: o.threads,
    backend: backend.name as 'cpu' | 'cuda',
    out,
  });
  return out;
}

// The reductions below are O(S): they stay on the cpu even when `auto` could pick cuda.
function hostBackend(options?: KernelOptions) {
  const o = checkKernelOptions(options);
  const b = pickBackend(o.backend === 'cuda' ? 'cpu' : o.backend, 0);
  return { ...o, binding: b.binding };
}

/** One aggregate per candidate, in log space. Empty chains (and chains with a NaN step) give NaN. */
export function aggregate(args: AggregateArgs, options?: KernelOptions): Float32Array {
  const { stepLogProbs, offsets, how } = checkAggregateArgs(args);
  const { binding, threads } = hostBackend(options);
  if (!binding) return referenceAggregate(stepLogProbs, offsets, how);
  const out = new Float32Array(offsets.length - 1);
  binding.aggregate({ stepLogProbs, offsets, how, out, threads });
  return out;
}

/** Per candidate, the first step whose probability is below `threshold` (default 0.5), or -1. */
export function firstError(args: FirstErrorArgs, options?: KernelOptions): Int32Array {
  const { stepLogProbs, offsets, threshold } = checkFirstErrorArgs(args);
  const { binding, threads } = hostBackend(options);
  if (!binding) return referenceFirstError(stepLogProbs, offsets, threshold);
  const out = new Int32Array(offsets.length - 1);
  binding.firstError({ stepLogProbs, offsets, threshold, out, threads });
  return out;
}

/**
 * Candidate indices ranked best first within each group (`groupOffsets`, CSR like the
 * boundaries); NaN scores last, ties by index.
 */
export function rankGroups(args: RankGroupsArgs, options?: KernelOptions): Int32Array {
  const { scores, groupOffsets } = checkRankGroupsArgs(args);
  const { binding, threads } = hostBackend(options);
  if (!binding) return referenceRankGroups(scores, groupOffsets);
  const out = new Int32Array(scores.length);
  binding.rankGroups({ scores, groupOffsets, out, threads });
  return out;
}

/** Why the native backends are (un)available, for error messages and diagnostics. */
export function nativeStatus(): { loaded: boolean; reason?: string; path?: string; hint: string } {
  const n = native();
  return { loaded: !!n.binding, reason: n.reason, path: n.path, hint: REBUILD_HINT };
}

// Device-resident hidden states (CUDA): upload once, score many times.
export * from './device.js';

// Binary cross-entropy of a trainable head over gathered rows, and its gradient (head training).
export { bceLoss, bceLossSync, headParamCount, MAX_MLP_HIDDEN } from './bce.js';
export type * from './bce-types.js';

// GRPO advantages from step rewards (dense rewards for RL).
export { ADVANTAGE_EPS, grpoAdvantages, grpoAdvantagesSync } from './advantages.js';
export type * from './advantages-types.js';
