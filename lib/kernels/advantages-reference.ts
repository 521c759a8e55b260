// The js backend of the advantages kernel: the same contract as native/core/advantages.cpp,
// statistics and sums in float64, results rounded to float32 once at the end.
import type { AdvantageArrays, ResolvedAdvantageOptions } from './advantages-types.js';

/** Mean and the factor that normalizes a reward; all-equal values give factor 0, a NaN gives NaN. */
function normalizer(values: ArrayLike<number>, o: ResolvedAdvantageOptions): { mean: number; scale: number } {
  const n = values.length;
  if (n === 0) return { mean: 0, scale: 0 };
  let sum = 0;
  let lo = values[0];
  let hi = values[0];
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (Number.isNaN(x)) return { mean: NaN, scale: NaN };
    sum += x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  if (lo === hi) return { mean: lo, scale: 0 };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (values[i] - mean) ** 2;
  const std = Math.sqrt(ss / (o.std === 'sample' ? n - 1 : n));
  return { mean, scale: 1 / (std + Math.fround(o.eps)) };
}

/** Output offset of every response: `[R + 1]`. */
export function responseStarts(responseTokens: Int32Array): Float64Array {
  const starts = new Float64Array(responseTokens.length + 1);
  for (let r = 0; r < responseTokens.length; r++) starts[r + 1] = starts[r] + responseTokens[r];
  return starts;
}

/** Writes the advantages of groups [g0, g1) into `out`. */
export function referenceAdvantageGroups(a: AdvantageArrays, o: ResolvedAdvantageOptions, starts: Float64Array, out: Float32Array, g0: number, g1: number): void {
  const { stepRewards: x, stepOffsets: so, responseOffsets: ro, stepEnds: ends, responseTokens: tokens } = a;
  for (let g = g0; g < g1; g++) {
    const r0 = ro[g];
    const r1 = ro[g + 1];
    if (o.mode === 'process') {
      const { mean, scale } = normalizer(x.subarray(so[r0], so[r1]), o);
      for (let r = r0; r < r1; r++) {
        const base = starts[r];
        let pos = tokens[r];
        let suffix = 0;
        for (let k = so[r + 1] - 1; k >= so[r]; k--) {
          const end = ends[k] + 1;
          out.fill(suffix, base + end, base + pos);
          suffix += (x[k] - mean) * scale;
          pos = Math.min(pos, end);
        }
        out.fill(suffix, base, base + pos);
      }
    } else {
      const finals: number[] = [];
      for (let r = r0; r < r1; r++) if (so[r + 1] > so[r]) finals.push(x[so[r + 1] - 1]);
      const { mean, scale } = normalizer(finals, o);
      for (let r = r0; r < r1; r++) {
        const v = so[r + 1] > so[r] ? (x[so[r + 1] - 1] - mean) * scale : 0;
        out.fill(v, starts[r], starts[r + 1]);
      }
    }
  }
}
