// The js reference backend: the kernel contract written as plainly as possible, in float64,
// to check the native backends against and to run where no native build loads.
import { bf16ToFloat, f16ToFloat } from './half.js';
import type { Aggregation, ScoreResult } from './types.js';
import type { ResolvedHead, ResolvedHidden } from './validate.js';

type Loader = (i: number) => number;

function loader(h: ResolvedHidden): Loader {
  const d = h.data;
  if (h.dtype === 'float32') return (i) => d[i];
  if (h.dtype === 'float16') return (i) => f16ToFloat(d[i]);
  return (i) => bf16ToFloat(d[i]);
}

export function logSigmoid(z: number): number {
  return Math.min(z, 0) - Math.log1p(Math.exp(-Math.abs(z)));
}

export function logSoftmaxAt(z: ArrayLike<number>, positive: number): number {
  let m = -Infinity;
  for (let k = 0; k < z.length; k++) {
    if (Number.isNaN(z[k])) return NaN;
    if (z[k] > m) m = z[k];
  }
  if (!Number.isFinite(m)) return NaN;
  let s = 0;
  for (let k = 0; k < z.length; k++) s += Math.exp(z[k] - m);
  return z[positive] - m - Math.log(s);
}

/** log P(correct) of the row starting at element `base`. */
function stepLogProb(load: Loader, base: number, H: number, head: ResolvedHead, z: Float64Array): number {
  const K = head.K;
  if (head.kind === 'linear') {
    const w = head.weight!;
    for (let k = 0; k < K; k++) {
      let acc = 0;
      for (let i = 0; i < H; i++) acc += load(base + i) * w[k * H + i];
      // the native kernels add the bias in float32; so does the reference
      z[k] = Math.fround(Math.fround(acc) + (head.bias ? head.bias[k] : 0));
    }
  } else if (head.columns) {
    for (let k = 0; k < K; k++) z[k] = load(base + head.columns[k]);
  } else {
    for (let k = 0; k < K; k++) z[k] = load(base + k);
  }
  const zk = K === z.length ? z : z.subarray(0, K);
  return head.activation === 'sigmoid' ? logSigmoid(zk[0]) : logSoftmaxAt(zk, head.positive);
}

/** Step log-probs of every candidate into `out`. */
function stepLogProbsOf(hidden: ResolvedHidden, offsets: Int32Array, positions: Int32Array, head: ResolvedHead, out: Float32Array): void {
  const { T, H } = hidden;
  const load = loader(hidden);
  const z = new Float64Array(Math.max(head.K, 1));
  for (let b = 0; b < hidden.B; b++)
    for (let s = offsets[b]; s < offsets[b + 1]; s++) out[s] = stepLogProb(load, (b * T + positions[s]) * H, H, head, z);
}

export function referenceStepLogProbs(
  hidden: ResolvedHidden,
  offsets: Int32Array,
  positions: Int32Array,
  head: ResolvedHead,
): Float32Array {
  const out = new Float32Array(positions.length);
  stepLogProbsOf(hidden, offsets, positions, head, out);
  return out;
}

// Elements the async reference reads between two turns of the event loop (a few ms of work).
const ASYNC_SLICE_ELEMENTS = 1 << 20;

/**
 * The reference on the event loop's thread, but in slices of steps with a turn of the loop
 * between them, so a Promise caller without the native addon is not blocked for the whole
 * batch. The boundary rows are copied first (raw, before the Promise is returned): the caller
 * may rewrite or transfer hidden.data while the slices run, as it may on the native backends.
 */
export async function referenceStepLogProbsAsync(
  hidden: ResolvedHidden,
  offsets: Int32Array,
  positions: Int32Array,
  head: ResolvedHead,
): Promise<Float32Array> {
  const { T, H } = hidden;
  const S = positions.length;
  const rows = hidden.dtype === 'float32' ? new Float32Array(S * H) : new Uint16Array(S * H);
  for (let b = 0; b < hidden.B; b++)
    for (let s = offsets[b]; s < offsets[b + 1]; s++) {
      const base = (b * T + positions[s]) * H;
      rows.set(hidden.data.subarray(base, base + H), s * H);
    }
  const load = loader({ data: rows, dtype: hidden.dtype, B: 1, T: S, H });
  const z = new Float64Array(Math.max(head.K, 1));
  const out = new Float32Array(S);
  const rowCost = Math.max(1, head.kind === 'logits' && head.columns ? head.K : H * Math.max(1, head.K));
  const perSlice = Math.max(1, Math.floor(ASYNC_SLICE_ELEMENTS / rowCost));
  for (let s0 = 0; s0 < S; ) {
    const s1 = Math.min(S, s0 + perSlice);
    for (let s = s0; s < s1; s++) out[s] = stepLogProb(load, s * H, H, head, z);
    s0 = s1;
    if (s0 < S) await new Promise((resolve) => setImmediate(resolve));
  }
  return out;
}

export function referenceGather(hidden: ResolvedHidden, offsets: Int32Array, positions: Int32Array): Float32Array {
  const { B, T, H } = hidden;
  const load = loader(hidden);
  const out = new Float32Array(positions.length * H);
  for (let b = 0; b < B; b++)
    for (let s = offsets[b]; s < offsets[b + 1]; s++) {
      const base = (b * T + positions[s]) * H;
      for (let i = 0; i < H; i++) out[s * H + i] = load(base + i);
    }
  return out;
}

/** One aggregate of one chain; NaN for an empty chain or one holding a NaN step. */
export function reduceChain(lp: ArrayLike<number>, from: number, to: number, how: Aggregation): number {
  const n = to - from;
  if (n === 0) return NaN;
  for (let i = from; i < to; i++) if (Number.isNaN(lp[i])) return NaN;
  switch (how) {
    case 'prod': {
      let s = 0;
      for (let i = from; i < to; i++) s += lp[i];
      return s;
    }
    case 'geomean': {
      let s = 0;
      for (let i = from; i < to; i++) s += lp[i];
      return s / n;
    }
    case 'min': {
      let m = Infinity;
      for (let i = from; i < to; i++) m = Math.min(m, lp[i]);
      return m;
    }
    case 'last':
      return lp[to - 1];
    case 'mean': {
      let m = -Infinity;
      for (let i = from; i < to; i++) m = Math.max(m, lp[i]);
      if (m === -Infinity) return -Infinity;
      let s = 0;
      for (let i = from; i < to; i++) s += Math.exp(lp[i] - m);
      return m + Math.log(s / n);
    }
  }
}

export function referenceAggregate(lp: Float32Array, offsets: Int32Array, how: Aggregation): Float32Array {
  const B = offsets.length - 1;
  const out = new Float32Array(B);
  for (let b = 0; b < B; b++) out[b] = reduceChain(lp, offsets[b], offsets[b + 1], how);
  return out;
}

export function referenceFirstError(lp: Float32Array, offsets: Int32Array, threshold: number): Int32Array {
  const B = offsets.length - 1;
  const out = new Int32Array(B).fill(-1);
  const logThr = Math.log(threshold);
  for (let b = 0; b < B; b++)
    for (let s = offsets[b]; s < offsets[b + 1]; s++)
      if (lp[s] < logThr) {
        out[b] = s - offsets[b];
        break;
      }
  return out;
}

export function referenceRankGroups(scores: Float32Array, groupOffsets: Int32Array): Int32Array {
  const out = new Int32Array(scores.length);
  for (let g = 0; g + 1 < groupOffsets.length; g++) {
    const idx: number[] = [];
    for (let i = groupOffsets[g]; i < groupOffsets[g + 1]; i++) idx.push(i);
    idx.sort((a, b) => {
      const x = scores[a], y = scores[b];
      const xn = Number.isNaN(x), yn = Number.isNaN(y);
      if (xn !== yn) return xn ? 1 : -1;
      if (!xn && x !== y) return y - x;
      return a - b;
    });
    out.set(idx, groupOffsets[g]);
  }
  return out;
}

export function referenceResult(
  stepLogProbs: Float32Array,
  offsets: Int32Array,
  aggregations: readonly Aggregation[],
  threshold: number,
): ScoreResult {
  const aggregates: ScoreResult['aggregates'] = {};
  for (const a of aggregations) aggregates[a] = referenceAggregate(stepLogProbs, offsets, a);
  return { stepLogProbs, aggregates, firstError: referenceFirstError(stepLogProbs, offsets, threshold), backend: 'js' };
}

export function referenceScore(
  hidden: ResolvedHidden,
  offsets: Int32Array,
  positions: Int32Array,
  head: ResolvedHead,
  aggregations: readonly Aggregation[],
  threshold: number,
): ScoreResult {
  return referenceResult(referenceStepLogProbs(hidden, offsets, positions, head), offsets, aggregations, threshold);
}
