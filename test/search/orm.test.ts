// An outcome reward model as the scorer of best-of-N: one call for the finished solutions, each
// chain's score is the ORM's (no step scores), and strategies that score partial chains step by
// step refuse it up front. On the verifiable arithmetic task, so a pick's correctness is known.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChainItem, ChainRanker } from '../../lib/interfaces.js';
import { Orm } from '../../lib/orm/index.js';
import { beamSearch, bestOfN, dvts, greedy, mcts } from '../../lib/search/index.js';
import { ArithmeticGenerator, createArithmeticProblems, finalAnswerCorrect } from '../../lib/search/arithmetic.js';
import { cleanup, tinyFolder } from '../orm/helpers.js';

const problems = createArithmeticProblems(16, { seed: 7, steps: 4 });
const generator = new ArithmeticGenerator({ problems, slipRate: 0.3, seed: 3 });

/** An exact outcome judge: reward +2 for a right final answer, -2 otherwise, as an ORM would give it. */
function outcomeJudge(scale: 'reward' | 'probability'): ChainRanker & { calls: ChainItem[][] } {
  const calls: ChainItem[][] = [];
  const score = (it: ChainItem) => {
    const ok = finalAnswerCorrect(problems.find((p) => p.problem === it.problem)!, it.steps);
    return scale === 'reward' ? (ok ? 2 : -2) : ok ? 0.9 : 0.1;
  };
  return {
    name: `exact-outcome-${scale}`,
    kind: 'orm',
    chainScale: scale,
    calls,
    async chainScores(items) {
      calls.push([...items]);
      return items.map(score);
    },
    async rerank(problem, candidates) {
      const s = candidates.map((steps) => score({ problem, steps }));
      return s.map((x, index) => ({ index, score: x })).sort((a, b) => b.score - a.score);
    },
  };
}

describe('best-of-N with an outcome reward model', () => {
  it('scores the N finished solutions in one call; the pick is right whenever a right one was sampled', async () => {
    let exercised = 0;
    for (const p of problems) {
      const orm = outcomeJudge('reward');
      const r = await bestOfN(p.problem, { generator, scorer: orm, n: 8, seed: 5 });
      expect(orm.calls).toHaveLength(1);
      expect(orm.calls[0]).toHaveLength(8);
      expect(r.usage.scorerCalls).toBe(1);
      for (const c of r.candidates) {
        expect(c).not.toHaveProperty('stepProbs');
        expect(c.score === 2 || c.score === -2).toBe(true);
      }
      const anyRight = r.candidates.some((c) => finalAnswerCorrect(p, c.steps));
      if (anyRight) {
        exercised++;
        expect(finalAnswerCorrect(p, r.best!.steps), p.id).toBe(true);
        expect(Number(r.answer)).toBe(p.answer);
      }
    }
    expect(exercised).toBeGreaterThan(8);
  });

  it('a weighted vote sums probabilities, and is refused for raw rewards', async () => {
    const p = problems[3];
    const w = await bestOfN(p.problem, { generator, scorer: outcomeJudge('probability'), n: 10, seed: 2, selection: 'weighted' });
    for (const t of w.tally) {
      const members = w.candidates.filter((c) => c.answer !== undefined && Number(c.answer) === Number(t.answer));
      expect(t.weight).toBeCloseTo(members.reduce((a, c) => a + c.score!, 0), 9);
    }
    await expect(bestOfN(p.problem, { generator, scorer: outcomeJudge('reward'), n: 4, selection: 'weighted' })).rejects.toThrow(
      /selection 'weighted' sums chain scores as probabilities, but 'exact-outcome-reward' gives raw rewards/,
    );
  });

  it('strategies that score partial chains refuse an ORM and say what to use', async () => {
    const orm = outcomeJudge('reward');
    const p = problems[0].problem;
    const runs = [
      greedy(p, { generator, scorer: orm, candidates: 2 }),
      beamSearch(p, { generator, scorer: orm }),
      dvts(p, { generator, scorer: orm }),
      mcts(p, { generator, scorer: orm, simulations: 4 }),
    ];
    for (const run of runs) await expect(run).rejects.toThrow(/is an outcome reward model \(one score per whole solution, no step scores\); \w+ scores partial chains step by step: use bestOfN, or a PRM/);
    expect(orm.calls).toHaveLength(0);
  });
});

describe('an Orm in best-of-N', () => {
  let orm: Orm;
  beforeAll(async () => {
    orm = await Orm.load({ model: (await tinyFolder('plain-orm')).folder, workers: { threads: 1 } });
  });
  afterAll(async () => {
    await orm?.close();
    cleanup();
  });

  it('each candidate gets the Orm\'s probability and the best is its highest', async () => {
    const p = problems[1];
    const r = await bestOfN(p.problem, { generator, scorer: orm, n: 6, seed: 9 });
    const want = await orm.chainScores(r.candidates.map((c) => ({ problem: p.problem, steps: c.steps })));
    expect(r.candidates.map((c) => c.score)).toEqual(want);
    expect(r.best!.score).toBe(Math.max(...want));
  });
});
