// The committed backbone with heads (models/demo/backbone: the demo models' 6-layer trunk
// before fine-tuning, converted without a head, block-wise int8; heads trained with prmkit train on its float16 form
// on 20 000 of the same training chains). Kept in the repository for the ORM-vs-PRM benchmark
// (fully fine-tuned vs head-only), not shipped in the package. On fresh chains its heads still
// judge the task, below the fine-tuned models.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orm } from '../../lib/orm/index.js';
import { Prm } from '../../lib/prm/index.js';
import { demoDir, freshChains, pairwiseAuroc } from './helpers.js';
import type { LabelledChain } from './helpers.js';

const folder = join(demoDir, 'backbone');
/**
 * Measured on these 1000 fresh chains: PRM head (MLP) step AUROC 0.919, its weakest step as the
 * outcome 0.892; ORM head (MLP) outcome AUROC 0.893 (over five seeds 0.919-0.938, 0.887-0.902,
 * 0.886-0.900; the fine-tuned demo models on these chains: 0.944, 0.915, 0.903). Bounds: 0.89
 * for steps, 0.86 for outcomes.
 */
const BOUND = { step: 0.89, outcome: 0.86 };
const FRESH = { chains: 1000, seed: 4207 };

describe('the demo backbone and its trained heads', () => {
  let chains: LabelledChain[] = [];
  beforeAll(async () => {
    chains = await freshChains(FRESH.chains, FRESH.seed);
  });

  it('holds a PRM and an ORM head, the PRM active', () => {
    const m = JSON.parse(readFileSync(join(folder, 'prmkit.json'), 'utf8'));
    expect(m).toMatchObject({ kind: 'prm', format: 'trl', head: { kind: 'none' }, hiddenStates: true, activeHead: 'prm' });
    expect(m.heads).toMatchObject({ prm: { kind: 'prm', head: { kind: 'mlp' } }, orm: { kind: 'orm', head: { kind: 'mlp' } }, 'prm-linear': { kind: 'prm' }, 'orm-linear': { kind: 'orm' } });
  });

  describe('PRM head', () => {
    let prm: Prm;
    beforeAll(async () => {
      prm = await Prm.load({ model: folder });
    });
    afterAll(async () => {
      await prm?.close();
    });
    it(`finds the verifier's wrong steps (step AUROC ≥ ${BOUND.step})`, async () => {
      const scores = await prm.score(chains.map(({ problem, steps }) => ({ problem, steps })));
      const step = pairwiseAuroc(scores.flatMap((s) => s.stepProbs), chains.flatMap((c) => c.stepOk));
      const outcome = pairwiseAuroc(scores.map((s) => Math.min(...s.stepProbs)), chains.map((c) => c.outcome));
      console.log(`backbone + PRM head on ${chains.length} fresh chains: step AUROC ${step.toFixed(4)}, outcome from the weakest step ${outcome.toFixed(4)}`);
      expect(step).toBeGreaterThanOrEqual(BOUND.step);
      expect(outcome).toBeGreaterThanOrEqual(BOUND.outcome);
    });
  });

  describe('ORM head', () => {
    let orm: Orm;
    beforeAll(async () => {
      orm = await Orm.load({ model: folder, headName: 'orm' });
    });
    afterAll(async () => {
      await orm?.close();
    });
    it(`tells right answers from wrong ones (outcome AUROC ≥ ${BOUND.outcome})`, async () => {
      const scores = await orm.score(chains.map(({ problem, steps }) => ({ problem, steps })));
      const auc = pairwiseAuroc(scores.map((s) => s.reward), chains.map((c) => c.outcome));
      console.log(`backbone + ORM head on ${chains.length} fresh chains: outcome AUROC ${auc.toFixed(4)}`);
      expect(auc).toBeGreaterThanOrEqual(BOUND.outcome);
    });
  });
});
