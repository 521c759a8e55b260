import { describe, expect, it } from 'vitest';
import { evenShares, fitInOrder } from '../../lib/search/engine/allocate.js';
import { BudgetTracker } from '../../lib/search/engine/budget.js';
import { splitTokens } from '../../lib/search/openai/client.js';
import { aggregateChains, selectCandidate, tallyAnswers, treeToDot, VerifierScorer } from '../../lib/search/index.js';
import type { CandidateChain } from '../../lib/search/index.js';

const chain = (nodeId: number, answer: string | undefined, score: number): CandidateChain => ({
  nodeId,
  steps: [],
  score,
  finished: answer !== undefined,
  ...(answer !== undefined ? { answer } : {}),
});

describe('selection', () => {
  const cands = [chain(1, '12', 0.9), chain(2, '1/2', 0.3), chain(3, '0.5', 0.35), chain(4, '12.0', 0.1), chain(5, '0.50', 0.2), chain(6, undefined, 0.99)];

  it('best takes the top score among answered chains', () => {
    expect(selectCandidate(cands, 'best').chain!.nodeId).toBe(1);
  });

  it('majority groups equal answers (1/2 = 0.5) and counts them', () => {
    const s = selectCandidate(cands, 'majority');
    expect(s.answer).toBe('1/2');
    expect(s.chain!.nodeId).toBe(3); // best-scored chain of the winning answer
    expect(tallyAnswers(cands).map((t) => [t.answer, t.count])).toEqual([['12', 2], ['1/2', 3]]);
  });

  it('weighted sums scores per answer', () => {
    const s = selectCandidate(cands, 'weighted');
    expect(s.answer).toBe('12'); // 1.0 vs 0.85
    expect(s.tally.find((t) => t.answer === '12')!.weight).toBeCloseTo(1.0, 6);
  });

  it('falls back to unanswered chains only when none has an answer, and rejects bad methods', () => {
    expect(selectCandidate([chain(7, undefined, 0.2), chain(8, undefined, 0.4)], 'majority').chain!.nodeId).toBe(8);
    expect(selectCandidate([], 'best')).toEqual({ tally: [] });
    expect(() => selectCandidate(cands, 'vote' as never)).toThrow(/selection must be one of/);
  });
});

describe('aggregation through the kernels', () => {
  it('matches the definitions in probability space', () => {
    const [prod, min, last, mean] = (['prod', 'min', 'last', 'mean'] as const).map((a) => aggregateChains([[0.5, 0.8, 0.25]], a)[0]);
    expect(prod).toBeCloseTo(0.1, 5);
    expect(min).toBeCloseTo(0.25, 5);
    expect(last).toBeCloseTo(0.25, 5);
    expect(mean).toBeCloseTo((0.5 + 0.8 + 0.25) / 3, 5);
    expect(aggregateChains([[1, 0]], 'prod')[0]).toBe(0);
    expect(Number.isNaN(aggregateChains([[]], 'min')[0])).toBe(true);
  });
});

describe('budget arithmetic', () => {
  it('capacity charges worst-case tokens and counts calls', () => {
    const b = new BudgetTracker({ tokens: 100, generatorCalls: 3, completions: 50 }, 16);
    expect(b.capacity()).toBe(6);
    b.charge(6, 30);
    expect(b.capacity()).toBe(4);
    b.charge(1, 1);
    b.charge(1, 1);
    expect(b.capacity()).toBe(0); // call budget spent
    expect(b.usage).toMatchObject({ generatorCalls: 3, completions: 8, tokens: 32 });
  });

  it('allocates in priority order or evenly', () => {
    const node = { id: 1 } as never;
    expect(fitInOrder([{ node, n: 4 }, { node, n: 4 }, { node, n: 4 }], 6).map((r) => r.n)).toEqual([4, 2]);
    expect(evenShares([4, 4, 4], 7)).toEqual([3, 2, 2]);
    expect(evenShares([1, 4], 10)).toEqual([1, 4]);
  });

  it('splitTokens sums exactly to the reported total and respects the cap', () => {
    const t = splitTokens(103, ['a', 'bbbb', 'cc', 'dddddddd'], 64);
    expect(t.reduce((a, b) => a + b, 0)).toBe(103);
    expect(Math.max(...t)).toBeLessThanOrEqual(64);
    expect(splitTokens(10, ['x', 'yyyyyyyyyyyyyyyyyyy'], 6)).toEqual([4, 6]);
  });
});

describe('VerifierScorer and treeToDot', () => {
  it('turns exact labels into probabilities and checks the verifier', async () => {
    const v = new VerifierScorer({ verify: (it) => it.steps.map((s) => !s.includes('wrong')), confidence: 0.9 });
    const [s] = await v.score([{ problem: 'p', steps: ['ok', 'wrong'] }]);
    expect(s.stepProbs.map((p) => +p.toFixed(6))).toEqual([0.9, 0.1]);
    const broken = new VerifierScorer({ verify: () => [true] });
    await expect(broken.score([{ problem: 'p', steps: ['a', 'b'] }])).rejects.toThrow(/returned 1 labels for 2 steps/);
    expect(() => new VerifierScorer({ verify: 1 as never })).toThrow(TypeError);
  });

  it('renders a tree as DOT', () => {
    const dot = treeToDot({
      problem: 'p',
      prefix: [],
      nodes: [
        { id: 0, parent: -1, depth: 0, step: '', tokens: 0, round: 0, status: 'expanded', children: [1], visits: 0, valueSum: 0 },
        { id: 1, parent: 0, depth: 1, step: 'say "hi"', tokens: 3, round: 1, status: 'terminal', children: [], visits: 0, valueSum: 0, score: 0.5 },
      ],
    });
    expect(dot).toContain('n0 -> n1;');
    expect(dot).toContain('say \\"hi\\" (0.500)');
  });
});
