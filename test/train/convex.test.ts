// The convex check of head training: a linear head with an L2 penalty on its weights has one
// optimum, and PyTorch's L-BFGS in float64 found it (scripts/dev/head-lbfgs-reference.py made
// test/train/data/lbfgs-reference.json; no Python runs here). fitHead (AdamW over the native
// BCE kernel, full batch, cosine schedule) must reach it: weights within 1e-3, objective
// within 1e-5.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { bceLossSync } from '../../lib/kernels/index.js';
import type { TrainHead } from '../../lib/kernels/index.js';
import { fitHead, memoryRows } from '../../lib/train/index.js';
import { hasNative, repoRoot } from '../helpers/index.js';

interface ReferenceCase {
  name: string;
  head: TrainHead;
  classWeights: { positive: number; negative: number };
  l2: number;
  dims: [number, number];
  rows: number[];
  labels: number[];
  optimum: { weight: number[]; bias: number[]; bce: number; objective: number; gradNorm: number };
}

const reference = JSON.parse(readFileSync(join(repoRoot, 'test', 'train', 'data', 'lbfgs-reference.json'), 'utf8')) as { cases: ReferenceCase[] };

/** prmkit's objective at `params`: the kernel's mean BCE plus (l2 / 2) ||W||^2. */
function objective(c: ReferenceCase, params: Float32Array): number {
  const [N, H] = c.dims;
  const { loss } = bceLossSync(
    { rows: { data: Float32Array.from(c.rows), dims: [N, H] }, labels: Float32Array.from(c.labels), head: c.head, params },
    { classWeights: c.classWeights, gradient: false },
  );
  let sq = 0;
  for (let i = 0; i < c.head.outputs * H; i++) sq += params[i] * params[i];
  return loss + 0.5 * c.l2 * sq;
}

describe('fitHead reaches the L-BFGS optimum of a linear head with L2', () => {
  for (const c of reference.cases) {
    const [N, H] = c.dims;
    const K = c.head.outputs;
    for (const backend of hasNative ? (['cpu', 'js'] as const) : (['js'] as const))
      it(`${c.name} (${backend})`, async () => {
        // the reference really is an optimum, by prmkit's own kernel: same objective
        const atOptimum = Float32Array.from([...c.optimum.weight, ...c.optimum.bias]);
        expect(c.optimum.gradNorm).toBeLessThan(1e-7);
        expect(Math.abs(objective(c, atOptimum) - c.optimum.objective)).toBeLessThan(1e-7);
        const fit = await fitHead(memoryRows({ data: Float32Array.from(c.rows), dims: [N, H] }, Float32Array.from(c.labels)), {
          head: c.head,
          l2: c.l2,
          classWeights: c.classWeights,
          validation: 0,
          epochs: 1500,
          learningRate: 0.05,
          schedule: 'cosine',
          backend,
        });
        expect(fit.stopReason).toBe('epochs');
        let worst = 0;
        for (let i = 0; i < K * H; i++) worst = Math.max(worst, Math.abs(fit.params[i] - c.optimum.weight[i]));
        for (let k = 0; k < K; k++) worst = Math.max(worst, Math.abs(fit.params[K * H + k] - c.optimum.bias[k]));
        expect(worst).toBeLessThan(1e-3);
        const gap = Math.abs(objective(c, fit.params) - c.optimum.objective);
        expect(gap).toBeLessThan(1e-5);
        console.log(`convex ${c.name} (${backend}): max |params - L-BFGS| ${worst.toExponential(1)}, |objective - L-BFGS| ${gap.toExponential(1)}`);
        // what fitHead reports as the last epoch's objective is that objective too
        expect(Math.abs(fit.epochs.at(-1)!.trainLoss - c.optimum.objective)).toBeLessThan(1e-5);
      });
  }
});
