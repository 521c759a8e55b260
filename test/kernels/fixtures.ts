// Seeded random batches for the kernel suites: ragged chains (some empty), any dtype.
import { toHalf } from '../../lib/kernels/half.js';
import type { Boundaries, Dtype, Head, Hidden } from '../../lib/kernels/types.js';
import { mulberry32 } from '../../lib/random.js';

export const rng = mulberry32;

export interface Case {
  hidden: Hidden;
  /** The same values as float32 (what 16-bit data decodes to is checked separately). */
  values: Float32Array;
  boundaries: Boundaries;
}

export function randomBoundaries(r: () => number, B: number, T: number, maxSteps: number, emptyEvery = 5): Boundaries {
  const offsets = new Int32Array(B + 1);
  const pos: number[] = [];
  for (let b = 0; b < B; b++) {
    const n = b % emptyEvery === emptyEvery - 1 ? 0 : 1 + Math.floor(r() * maxSteps);
    // increasing token positions, as a tokenizer produces them
    const picks = new Set<number>();
    while (picks.size < Math.min(n, T)) picks.add(Math.floor(r() * T));
    pos.push(...[...picks].sort((x, y) => x - y));
    offsets[b + 1] = pos.length;
  }
  return { offsets, positions: Int32Array.from(pos) };
}

export function randomCase(seed: number, B: number, T: number, H: number, dtype: Dtype, maxSteps = 12, scale = 1): Case {
  const r = rng(seed);
  const values = new Float32Array(B * T * H);
  for (let i = 0; i < values.length; i++) values[i] = (r() * 2 - 1) * scale;
  const data = dtype === 'float32' ? values : toHalf(values, dtype);
  return { hidden: { data, dtype, dims: [B, T, H] }, values, boundaries: randomBoundaries(r, B, T, maxSteps) };
}

export function linearHead(seed: number, K: number, H: number, activation: 'sigmoid' | 'softmax', bias = true): Head {
  const r = rng(seed);
  const s = 2 / Math.sqrt(H);
  const weight = Float32Array.from({ length: K * H }, () => (r() * 2 - 1) * s);
  return {
    kind: 'linear',
    weight,
    outputs: K,
    activation,
    ...(bias ? { bias: Float32Array.from({ length: K }, () => r() - 0.5) } : {}),
  };
}

/** |a - b| <= rtol * max(|a|, |b|) + atol, NaN only against NaN. Returns the first mismatch or -1. */
export function mismatch(a: ArrayLike<number>, b: ArrayLike<number>, rtol: number, atol = 0): number {
  if (a.length !== b.length) return -2;
  for (let i = 0; i < a.length; i++) {
    const x = a[i], y = b[i];
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return i;
      continue;
    }
    if (x === y) continue;
    if (!(Math.abs(x - y) <= rtol * Math.max(Math.abs(x), Math.abs(y)) + atol)) return i;
  }
  return -1;
}
