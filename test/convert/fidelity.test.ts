// Converted checkpoints against the step probabilities each family's published PyTorch
// recipe gives (reference.json, made from the same bf16 weights): all 20 chains in one
// batched prm.score call, per dtype, and through prm.session() on a --kv-cache conversion.
// Each family converts with its detected format (Skywork's value head, TRL's token
// classifier with the trl format) and no other option.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import type { ConvertDtype } from '../../lib/convert/index.js';
import { describeWhen } from '../helpers/index.js';
import { bestOfNAgreement, cleanup, converted, FAMILIES, hasFamily, maxAbsDiff, MORE_FAMILIES, noFamily, reference } from './helpers.js';
import type { Family } from './helpers.js';

const TOLERANCE: Partial<Record<ConvertDtype, number>> = { float32: 1e-4, float16: 2e-3 };
/** Quantized weights: a bound on the drift that still says the weights were read right. */
const QUANT_BOUND: Partial<Record<ConvertDtype, number>> = { int8: 0.05, int4: 0.25 };
const rows: string[] = [];

async function scoreAll(dir: string, family: Family) {
  const ref = reference(family);
  const prm = await Prm.load({ model: dir });
  try {
    return await prm.score(ref.chains, { aggregate: 'mean' });
  } finally {
    await prm.close();
  }
}

afterAll(() => {
  cleanup();
  if (rows.length > 0) console.log(['family | dtype | max |Δp| | best-of-4 agreement with float32', ...rows].join('\n'));
});

for (const family of [...FAMILIES, ...MORE_FAMILIES]) {
  describeWhen(hasFamily(family), `converted ${family} reproduces its PyTorch recipe`, noFamily(family), () => {
    let f32Scores: number[] = [];
    beforeAll(async () => {
      const dir = await converted(family, 'float32');
      f32Scores = (await scoreAll(dir, family)).map((s) => s.score);
    });

    for (const dtype of ['float32', 'float16', 'int8', 'int4'] as const) {
      it(`${family} ${dtype}`, async () => {
        const ref = reference(family);
        const dir = await converted(family, dtype);
        const scores = await scoreAll(dir, family);
        expect(scores.map((s) => s.tokens)).toEqual(ref.reference.map((r) => r.tokens));
        const err = maxAbsDiff(scores.map((s) => s.stepProbs), ref.reference.map((r) => r.stepProbs));
        const agree = bestOfNAgreement(scores.map((s) => s.score), f32Scores, 4);
        rows.push(`${family} | ${dtype} | ${err.toExponential(2)} | ${(agree * 100).toFixed(1)}%`);
        const bound = TOLERANCE[dtype] ?? QUANT_BOUND[dtype]!;
        expect(err).toBeLessThanOrEqual(bound);
        if (dtype === 'float32' || dtype === 'float16') expect(agree).toBeGreaterThan(0.99);
      });
    }

    for (const dtype of ['float32', 'float16', 'int8'] as const)
    it(`${family} ${dtype} --kv-cache through prm.session()`, async () => {
      const ref = reference(family);
      const dir = await converted(family, dtype, true);
      const prm = await Prm.load({ model: dir });
      try {
        expect(prm.backend.kvCache).toBe(true);
        // each chain: its first step cached, the rest scored as a continuation on top
        let err = 0;
        for (let i = 0; i < ref.chains.length; i++) {
          const c = ref.chains[i];
          const session = await prm.session({ problem: c.problem, steps: c.steps.slice(0, 1) });
          const [r] = await session.score([c.steps.slice(1)]);
          err = Math.max(err, maxAbsDiff([r.stepProbs], [ref.reference[i].stepProbs]));
        }
        rows.push(`${family} | ${dtype} --kv-cache, prm.session() | ${err.toExponential(2)} | -`);
        expect(err).toBeLessThanOrEqual(TOLERANCE[dtype] ?? QUANT_BOUND[dtype]!);
      } finally {
        await prm.close();
      }
    });
  });
}
