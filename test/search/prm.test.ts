// Search with a real `Prm` (a tiny ONNX model generated here, with a KV cache): the search
// scores through the Prm's prefix cache, running only each new step, and the scores match
// scoring whole chains.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Prm } from '../../lib/prm.js';
import { createTinyModel } from '../../lib/testing/index.js';
import { ArithmeticGenerator, beamSearch, createArithmeticProblems, dvts, mcts } from '../../lib/search/index.js';
import type { SearchResult } from '../../lib/search/index.js';

describe('search over a Prm with a prefix cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prmkit-search-'));
  let prm: Prm;
  const problems = createArithmeticProblems(2, { seed: 4, steps: 3 });
  const generator = new ArithmeticGenerator({ problems, slipRate: 0.3 });

  beforeAll(async () => {
    const m = await createTinyModel({ dir, kvCache: true, layers: 2, hidden: 32, seed: 3 });
    prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', threads: 1 });
  });
  afterAll(async () => {
    await prm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function scoresById(r: SearchResult): Map<number, number[]> {
    return new Map(r.tree.nodes.filter((n) => n.stepProbs).map((n) => [n.id, n.stepProbs!]));
  }

  it('beam search uses sessions (one root pass, then new steps only) and matches whole-chain scoring', async () => {
    const sessionSpy = vi.spyOn(prm, 'session');
    const scoreSpy = vi.spyOn(prm, 'score');
    const inc = await beamSearch(problems[0].problem, { generator, scorer: prm, beamWidth: 2, expansions: 3, seed: 7 });
    expect(sessionSpy).toHaveBeenCalledTimes(1);
    expect(scoreSpy).not.toHaveBeenCalled();
    sessionSpy.mockRestore();
    scoreSpy.mockRestore();
    const full = await beamSearch(problems[0].problem, { generator, scorer: prm, beamWidth: 2, expansions: 3, seed: 7, incremental: false });
    expect(inc.tree.nodes.map((n) => n.step)).toEqual(full.tree.nodes.map((n) => n.step));
    const a = scoresById(inc);
    const b = scoresById(full);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [id, probs] of a) probs.forEach((p, k) => expect(Math.abs(p - b.get(id)![k])).toBeLessThan(1e-4));
    expect(inc.answer).toBe(full.answer);
    expect(inc.usage.newSteps).toBe(inc.usage.scoredChains); // one new step per scored chain
  });

  it('dvts and mcts run on the Prm too', async () => {
    for (const r of [
      await dvts(problems[1].problem, { generator, scorer: prm, subtrees: 2, expansions: 2, seed: 1 }),
      await mcts(problems[1].problem, { generator, scorer: prm, simulations: 4, expansions: 2, seed: 1 }),
    ]) {
      expect(r.best).toBeDefined();
      for (const n of r.tree.nodes.slice(1)) if (n.stepProbs) expect(n.stepProbs).toHaveLength(n.depth);
    }
  });
});
