// Converted checkpoints against the step probabilities each family's published PyTorch
// recipe gives (reference.json, made from the same bf16 weights): all 20 chains in one
// batched prm.score call, per dtype, and through prm.session() on a --kv-cache conversion.
// Each family converts with its detected format (Skywork's value head, TRL's token
// classifier with the trl format) and no other option. An implicit PRM (EurusPRM) converts its
// two causal LMs with --reference and is held to its step rewards q relative to their
// largest magnitude, by the native LM-head kernel and by the in-graph log-softmax.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import type { ConvertDtype } from '../../lib/convert/index.js';
import { int8FormFor } from '../../lib/convert/cpu.js';
import { describeWhen, itWhen } from '../helpers/index.js';
import { bestOfNAgreement, cleanup, converted, FAMILIES, hasFamily, IMPLICIT_FAMILIES, maxAbsDiff, MORE_FAMILIES, noFamily, reference } from './helpers.js';
import type { Family } from './helpers.js';

const TOLERANCE: Partial<Record<ConvertDtype, number>> = { float32: 1e-4, float16: 2e-3 };
/** Quantized weights: a bound on the drift that still says the weights were read right. */
const QUANT_BOUND: Partial<Record<ConvertDtype, number>> = { int8: 0.05, int4: 0.25 };
/**
 * int8 as integer GEMMs, the form prmkit writes for CPUs with VNNI/AMX or ARM dot products:
 * the accuracy it promises (max |Δp| and best-of-4 agreement with float32). Elsewhere
 * onnxruntime's u8×s8 product may saturate, so the form is not written there by default and
 * not held to this bound.
 */
const INTEGER = { maxDp: 0.02, agreement: 0.99 };
const integerHere = int8FormFor().form === 'integer';
const NO_VNNI = `this CPU has no VNNI/AMX or dot products (${int8FormFor().why}): int8 converts block-wise here`;
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
  if (rows.length > 0) console.log(['family | dtype | max |Δp| (implicit: max |Δq| / max |q|) | best-of-4 agreement with float32', ...rows].join('\n'));
});

for (const family of [...FAMILIES, ...MORE_FAMILIES]) {
  describeWhen(hasFamily(family), `converted ${family} reproduces its PyTorch recipe`, noFamily(family), () => {
    let f32Scores: number[] = [];
    beforeAll(async () => {
      const dir = await converted(family, 'float32');
      f32Scores = (await scoreAll(dir, family)).map((s) => s.score);
    });

    const cases = [
      { name: 'float32', dtype: 'float32' },
      { name: 'float16', dtype: 'float16' },
      { name: 'int8 integer', dtype: 'int8', int8Form: 'integer' },
      { name: 'int8 blockwise', dtype: 'int8', int8Form: 'blockwise' },
      { name: 'int4', dtype: 'int4' },
    ] as const;
    for (const c of cases) {
      const integer = 'int8Form' in c && c.int8Form === 'integer';
      itWhen(!integer || integerHere, `${family} ${c.name}`, NO_VNNI, async () => {
        const ref = reference(family);
        const dir = await converted(family, c.dtype, false, 'int8Form' in c ? { int8Form: c.int8Form } : {});
        const scores = await scoreAll(dir, family);
        expect(scores.map((s) => s.tokens)).toEqual(ref.reference.map((r) => r.tokens));
        const err = maxAbsDiff(scores.map((s) => s.stepProbs), ref.reference.map((r) => r.stepProbs));
        const agree = bestOfNAgreement(scores.map((s) => s.score), f32Scores, 4);
        rows.push(`${family} | ${c.name} | ${err.toExponential(2)} | ${(agree * 100).toFixed(1)}%`);
        expect(err).toBeLessThanOrEqual(integer ? INTEGER.maxDp : TOLERANCE[c.dtype] ?? QUANT_BOUND[c.dtype]!);
        if (integer) expect(agree).toBeGreaterThanOrEqual(INTEGER.agreement);
        if (c.dtype === 'float32' || c.dtype === 'float16') expect(agree).toBeGreaterThan(0.99);
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
        expect(err).toBeLessThanOrEqual(dtype === 'int8' && integerHere ? INTEGER.maxDp : TOLERANCE[dtype] ?? QUANT_BOUND[dtype]!);
      } finally {
        await prm.close();
      }
    });
  });
}

/** Implicit rewards: the relative error bound per dtype (float32 is the issue's 1e-4). */
const IMPLICIT_BOUND: Partial<Record<ConvertDtype, number>> = { float32: 1e-4, float16: 1e-3, int8: 0.02 };

for (const family of IMPLICIT_FAMILIES) {
  describeWhen(hasFamily(family), `converted ${family} (an implicit PRM) reproduces its PyTorch recipe`, noFamily(family), () => {
    let f32Scores: number[] = [];
    // the graph path materializes every token's logits inside onnxruntime (about 7x slower
    // here): a quarter of the chains show its fidelity
    const subset = (logProbs: 'kernel' | 'graph') => {
      const ref = reference(family);
      const n = logProbs === 'graph' ? 5 : ref.chains.length;
      return { ...ref, chains: ref.chains.slice(0, n), reference: ref.reference.slice(0, n) };
    };
    const run = async (dir: string, logProbs: 'kernel' | 'graph') => {
      const ref = subset(logProbs);
      const prm = await Prm.load({ model: dir });
      try {
        const scores = await prm.score(ref.chains);
        const enc = prm.encode(ref.chains);
        return { scores, enc };
      } finally {
        await prm.close();
      }
    };
    const relErr = (got: number[][], want: number[][]) => {
      let mag = 0;
      for (const r of want) for (const q of r) mag = Math.max(mag, Math.abs(q));
      return maxAbsDiff(got, want) / mag;
    };

    for (const [dtype, logProbs] of [['float32', 'kernel'], ['float32', 'graph'], ['float16', 'kernel'], ['int8', 'kernel']] as const)
      it(`${family} ${dtype}, log-probabilities by the ${logProbs}`, async () => {
        const ref = subset(logProbs);
        const { scores, enc } = await run(await converted(family, dtype, false, { logProbs }), logProbs);
        // the encoding is the card's: whole conversation, response start, each step's last token
        expect(scores.map((s) => s.tokens)).toEqual(ref.reference.map((r) => r.tokens));
        expect(Array.from(enc.starts!)).toEqual(ref.reference.map((r) => r.promptTokens));
        ref.reference.forEach((r, i) => expect(Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]))).toEqual(r.stepEnds));
        const err = relErr(scores.map((s) => s.stepRewards!), ref.reference.map((r) => r.stepRewards!));
        if (dtype === 'float32' && logProbs === 'kernel') f32Scores = scores.map((s) => s.score);
        const agree = f32Scores.length === scores.length ? bestOfNAgreement(scores.map((s) => s.score), f32Scores, 4) : NaN;
        rows.push(`${family} | ${dtype} (${logProbs}) | ${err.toExponential(2)} | ${Number.isNaN(agree) ? '-' : `${(agree * 100).toFixed(1)}%`}`);
        expect(err).toBeLessThanOrEqual(IMPLICIT_BOUND[dtype]!);
      });
  });
}
