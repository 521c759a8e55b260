// Seeded randomness and small statistics shared by the benchmarks (and the GPU check).

import { mulberry32 } from '../../dist/random.js';

/** The library's seeded generator: the same seed gives the same workload everywhere. */
export const rng = mulberry32;

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
