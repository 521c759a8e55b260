import { describe, expect, it } from 'vitest';
import type { ChainItem, StepScorer } from '../../lib/interfaces.js';
import { beamSearch, bestOfN, dvts, greedy, mcts } from '../../lib/search/index.js';
import { ArithmeticGenerator, createArithmeticProblems, createOracleScorer, NoisyPrmScorer, verifySteps } from '../../lib/search/arithmetic.js';
import type { SearchEvent, SearchOptions, SearchResult, SearchTreeJSON } from '../../lib/search/index.js';

const problems = createArithmeticProblems(24, { seed: 11, steps: 5 });
const generator = new ArithmeticGenerator({ problems, slipRate: 0.25, seed: 1 });
const oracle = createOracleScorer(problems);
const prm = new NoisyPrmScorer({ problems, noise: 1, seed: 2 });

const STRATEGIES = {
  greedy: (p: string, o: SearchOptions) => greedy(p, { ...o, candidates: 4 }),
  bestOfN: (p: string, o: SearchOptions) => bestOfN(p, { ...o, n: 16 }),
  beamSearch: (p: string, o: SearchOptions) => beamSearch(p, { ...o, beamWidth: 4, expansions: 4 }),
  dvts: (p: string, o: SearchOptions) => dvts(p, { ...o, subtrees: 4, expansions: 4 }),
  mcts: (p: string, o: SearchOptions) => mcts(p, { ...o, simulations: 24, expansions: 4, parallel: 4 }),
};

/** Finished chains in a tree whose every step verifies. */
function correctFinished(tree: SearchTreeJSON): number {
  const p = problems.find((x) => x.problem === tree.problem)!;
  const path = (id: number): string[] => {
    const out: string[] = [];
    for (let n = tree.nodes[id]; n.parent >= 0; n = tree.nodes[n.parent]) out.unshift(n.step);
    return out;
  };
  return tree.nodes.filter((n) => n.status === 'terminal' && verifySteps(p, path(n.id)).every(Boolean)).length;
}

function chainCorrect(r: SearchResult): boolean {
  const p = problems.find((x) => x.problem === r.problem)!;
  return !!r.best && r.best.finished && verifySteps(p, r.best.steps).every(Boolean);
}

/** Wraps a scorer to record each call's batch. */
function recording(inner: StepScorer): StepScorer & { calls: ChainItem[][] } {
  const calls: ChainItem[][] = [];
  return { name: inner.name, calls, score: (items, o) => (calls.push([...items]), inner.score(items, o)) };
}

describe('with an oracle scorer', () => {
  it('bestOfN and beam search pick a correct chain whenever one was generated', async () => {
    let generatedCorrect = 0;
    for (const p of problems) {
      for (const run of [STRATEGIES.bestOfN, STRATEGIES.beamSearch]) {
        const r = await run(p.problem, { generator, scorer: oracle, seed: 5 });
        if (correctFinished(r.tree) > 0) {
          generatedCorrect++;
          expect(chainCorrect(r), `${r.strategy} on ${p.id}`).toBe(true);
          expect(Number(r.answer)).toBe(p.answer);
        }
      }
    }
    expect(generatedCorrect).toBeGreaterThan(30); // the property was exercised, not vacuous
  });

  it('dvts and mcts pick a correct chain whenever one was generated', async () => {
    let generatedCorrect = 0;
    for (const p of problems)
      for (const name of ['dvts', 'mcts'] as const) {
        const r = await STRATEGIES[name](p.problem, { generator, scorer: oracle, seed: 3 });
        if (correctFinished(r.tree) === 0) continue;
        generatedCorrect++;
        expect(chainCorrect(r), `${name} on ${p.id}`).toBe(true);
      }
    expect(generatedCorrect).toBeGreaterThan(30);
  });

  it('greedy with an oracle only goes wrong at a step where every proposal was wrong', async () => {
    let wrong = 0;
    for (const p of problems) {
      const r = await STRATEGIES.greedy(p.problem, { generator, scorer: oracle, seed: 3 });
      if (chainCorrect(r)) continue;
      wrong++;
      const nodes = r.tree.nodes;
      const path: number[] = [];
      for (let n = nodes[r.best!.nodeId]; n.parent >= 0; n = nodes[n.parent]) path.unshift(n.id);
      const firstBad = path.find((id) => nodes[id].stepProbs!.at(-1) === 0)!;
      const siblings = nodes[nodes[firstBad].parent].children.map((id) => nodes[id]);
      expect(siblings.every((s) => s.stepProbs!.at(-1) === 0)).toBe(true);
    }
    expect(wrong).toBeLessThan(problems.length / 2);
  });
});

describe('budgets', () => {
  const p = problems[0].problem;
  for (const [name, run] of Object.entries(STRATEGIES)) {
    it(`${name} spends exactly the completions budget it is given when it wants more`, async () => {
      const r = await run(p, { generator, scorer: prm, seed: 1, budget: { completions: 7 } });
      expect(r.usage.completions).toBe(7);
      expect(r.stopReason).toBe('budget');
      expect(r.tree.nodes.length - 1).toBe(7);
    });

    it(`${name} stays within token and call budgets`, async () => {
      const t = await run(p, { generator, scorer: prm, seed: 1, maxStepTokens: 20, budget: { tokens: 150 } });
      expect(t.usage.tokens).toBeLessThanOrEqual(150);
      expect(t.usage.tokens).toBe(t.tree.nodes.reduce((a, n) => a + n.tokens, 0));
      const c = await run(p, { generator, scorer: prm, seed: 1, budget: { generatorCalls: 2 } });
      expect(c.usage.generatorCalls).toBeLessThanOrEqual(2);
      const none = await run(p, { generator, scorer: prm, budget: { completions: 0 } });
      expect(none.usage.completions).toBe(0);
      expect(none.stopReason).toBe('budget');
      expect(none.answer).toBeUndefined();
    });
  }
});

describe('determinism and the recorded tree', () => {
  for (const [name, run] of Object.entries(STRATEGIES)) {
    it(`${name}: the same seed gives the same tree, another seed another`, async () => {
      const p = problems[3].problem;
      const a = await run(p, { generator, scorer: prm, seed: 42 });
      const b = await run(p, { generator, scorer: prm, seed: 42 });
      const c = await run(p, { generator, scorer: prm, seed: 43 });
      expect(b.tree).toEqual(a.tree);
      expect(b.answer).toEqual(a.answer);
      expect(c.tree).not.toEqual(a.tree);
      expect(JSON.parse(JSON.stringify(a.tree))).toEqual(a.tree);
      for (const n of a.tree.nodes.slice(1)) {
        expect(a.tree.nodes[n.parent].children).toContain(n.id);
        expect(n.depth).toBe(a.tree.nodes[n.parent].depth + 1);
      }
    });
  }
});

describe('batching', () => {
  it('beam search scores all live beams in one scorer call per step, one new step each', async () => {
    const scorer = recording(prm);
    const r = await beamSearch(problems[1].problem, { generator, scorer, beamWidth: 3, expansions: 4, seed: 9 });
    expect(scorer.calls.length).toBe(r.usage.generatorCalls);
    expect(scorer.calls[0]).toHaveLength(12);
    for (const batch of scorer.calls.slice(1)) expect(batch.length).toBeLessThanOrEqual(12);
    expect(r.usage.newSteps).toBe(r.usage.scoredChains);
  });

  it('mcts groups parallel simulations into one generator and one scorer call', async () => {
    const scorer = recording(prm);
    const r = await mcts(problems[2].problem, { generator, scorer, simulations: 16, parallel: 4, expansions: 3, seed: 1, finishLine: false });
    expect(scorer.calls.length).toBe(r.usage.generatorCalls);
    expect(r.usage.generatorCalls).toBeLessThanOrEqual(4);
    expect(r.tree.nodes[0].visits).toBeGreaterThan(0);
  });

  it('bestOfN advances all samples per generator call and scores once', async () => {
    const scorer = recording(prm);
    const r = await bestOfN(problems[4].problem, { generator, scorer, n: 10, seed: 2 });
    expect(r.usage.generatorCalls).toBe(5);
    expect(scorer.calls).toHaveLength(1);
    expect(scorer.calls[0]).toHaveLength(10);
    expect(r.candidates).toHaveLength(10);
  });
});

describe('selection', () => {
  it('majority vote needs no scorer and weighted vote sums scores per answer', async () => {
    const p = problems[5];
    const maj = await bestOfN(p.problem, { generator, n: 12, seed: 4 });
    expect(maj.selection).toBe('majority');
    const top = Math.max(...maj.tally.map((t) => t.count));
    expect(maj.tally.find((t) => t.answer === maj.answer)!.count).toBe(top);
    const w = await bestOfN(p.problem, { generator, scorer: prm, n: 12, seed: 4, selection: 'weighted', aggregation: 'min' });
    const best = Math.max(...w.tally.map((t) => t.weight));
    expect(w.tally.find((t) => t.answer === w.answer)!.weight).toBe(best);
    expect(w.tally.reduce((a, t) => a + t.count, 0)).toBe(12);
  });
});

describe('progress and cancellation', () => {
  it('reports generate, score, round and done events in order', async () => {
    const events: SearchEvent[] = [];
    const r = await beamSearch(problems[6].problem, { generator, scorer: prm, seed: 1, onProgress: (e) => events.push(e) });
    expect(events[0].type).toBe('generate');
    expect(events[1].type).toBe('score');
    expect(events.at(-1)).toMatchObject({ type: 'done', stopReason: r.stopReason });
    expect(events.filter((e) => e.type === 'round').length).toBe(r.usage.generatorCalls);
  });

  it('an abort mid-search rejects with the abort reason', async () => {
    const ac = new AbortController();
    const run = dvts(problems[7].problem, {
      generator,
      scorer: prm,
      signal: ac.signal,
      onProgress: (e) => e.type === 'round' && ac.abort(new Error('user stop')),
    });
    await expect(run).rejects.toThrow('user stop');
    const pre = AbortSignal.abort();
    // an already-aborted signal rejects with its own reason, before any round
    await expect(beamSearch(problems[7].problem, { generator, scorer: prm, signal: pre })).rejects.toBe(pre.reason);
    expect(pre.reason).toMatchObject({ name: 'AbortError' });
  });
});

describe('bad input fails before any work', () => {
  const p = problems[0].problem;
  it('names what is wrong', async () => {
    await expect(beamSearch(p, { generator } as SearchOptions)).rejects.toThrow(/options.scorer is required/);
    await expect(bestOfN(p, { generator, n: 0 })).rejects.toThrow(RangeError);
    await expect(bestOfN(p, { generator, n: 4, selection: 'best' })).rejects.toThrow(/needs options.scorer/);
    await expect(beamSearch(p, { generator, scorer: prm, aggregation: 'median' as never })).rejects.toThrow(/aggregation must be one of/);
    await expect(beamSearch(p, { generator, scorer: prm, budget: { tokens: -1 } })).rejects.toThrow(/budget.tokens/);
    await expect(beamSearch(p, { generator, scorer: prm, budget: { dollars: 3 } as never })).rejects.toThrow(/budget.dollars/);
    await expect(mcts(p, { generator, scorer: prm, cPuct: -1 })).rejects.toThrow(/cPuct/);
    await expect(dvts('', { generator, scorer: prm })).rejects.toThrow(/must not be empty/);
    await expect(greedy(p, { generator: {} as never })).rejects.toThrow(/options.generator/);
    await expect(beamSearch({ problem: p, steps: [1] as never }, { generator, scorer: prm })).rejects.toThrow(/steps\[0\]/);
  });

  it('a step cut off at maxTokens ends its chain without an answer', async () => {
    const cut = { name: 'cut', generate: async (rs: readonly { n: number }[]) => rs.map((r) => Array.from({ length: r.n }, () => ({ text: 'so 12 + 3 = 1', tokens: 8, finishReason: 'length' as const }))) };
    const r = await bestOfN(p, { generator: cut, n: 3 });
    expect(r.candidates).toHaveLength(3);
    expect(r.candidates.every((c) => c.finished && c.answer === undefined)).toBe(true);
    expect(r.answer).toBeUndefined();
  });

  it('a generator or scorer that breaks its contract is a clear error, not a silent drop', async () => {
    const short = { name: 'short', generate: async () => [[{ text: 'x', tokens: 1, finishReason: 'stop' as const }]] };
    await expect(bestOfN(p, { generator: short, n: 3 })).rejects.toThrow(/asked for 3 continuations, got 1/);
    const bad: StepScorer = { name: 'bad', score: async (items) => items.map(() => ({ stepProbs: [2] })) };
    await expect(beamSearch(p, { generator, scorer: bad })).rejects.toThrow(/scorer 'bad'.*not in \[0, 1\]/);
  });
});
