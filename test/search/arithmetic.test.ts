import { describe, expect, it } from 'vitest';
import {
  ArithmeticGenerator,
  createArithmeticProblems,
  createOracleScorer,
  finalAnswerCorrect,
  NoisyPrmScorer,
  OutcomeScorer,
  solveArithmetic,
  trapResult,
  verifySteps,
} from '../../lib/search/arithmetic.js';
import { extractAnswer } from '../../lib/search/answer.js';

function apply(op: string, a: number, b: number): number {
  if (op === '+') return a + b;
  if (op === '-') return a - b;
  if (op === '*' || op === '×') return a * b;
  if (op === '/' || op === '÷') return a / b;
  throw new Error(`unknown operator ${op}`);
}

/** The running values a problem statement describes ("Start with 16, add 14, ... then divide by 8."). */
function solveStatement(text: string): number[] {
  const m = /^Start with (-?\d+), (.*)\. What is the result\?$/.exec(text);
  if (!m) throw new Error(`not an arithmetic statement: ${text}`);
  const words: Record<string, string> = { add: '+', subtract: '-', 'multiply by': '*', 'divide by': '/' };
  let v = Number(m[1]);
  return m[2]!.split(', ').map((part) => {
    const op = /^(?:then )?(add|subtract|multiply by|divide by) (-?\d+)$/.exec(part);
    if (!op) throw new Error(`cannot read "${part}" in: ${text}`);
    v = apply(words[op[1]!]!, v, Number(op[2]));
    return v;
  });
}

describe('arithmetic problems', () => {
  it('are deterministic per seed and internally consistent', () => {
    const a = createArithmeticProblems(20, { seed: 3, steps: 5 });
    const b = createArithmeticProblems(20, { seed: 3, steps: 5 });
    expect(a).toEqual(b);
    expect(createArithmeticProblems(20, { seed: 4, steps: 5 })).not.toEqual(a);
    for (const p of a) {
      expect(p.operations).toHaveLength(5);
      expect(p.values[4]).toBe(p.answer);
      expect(p.values.every(Number.isInteger)).toBe(true);
      // the statement, read back by this test's own parser and arithmetic, gives the answer
      expect(solveStatement(p.problem)).toEqual(p.values);
      // the reference solution, each line checked by plain arithmetic (not by verifySteps)
      const steps = solveArithmetic(p);
      let carried = Number(/^Start with (-?\d+)/.exec(p.problem)![1]);
      steps.forEach((line, k) => {
        const m = /^(-?\d+) ([-+*/×÷]) (-?\d+) = (-?\d+)/.exec(line)!;
        expect(m, line).not.toBeNull();
        expect(Number(m[1])).toBe(carried);
        carried = apply(m[2]!, Number(m[1]), Number(m[3]));
        expect(Number(m[4])).toBe(carried);
        expect(carried).toBe(p.values[k]);
      });
      expect(steps[4]).toContain(`\\boxed{${p.answer}}`);
      expect(extractAnswer(steps.join('\n'))).toBe(String(p.answer));
      expect(verifySteps(p, steps)).toEqual([true, true, true, true, true]);
    }
  });

  it('rejects bad arguments', () => {
    expect(() => createArithmeticProblems(-1)).toThrow(RangeError);
    expect(() => createArithmeticProblems(2, { steps: 0 })).toThrow(/options.steps/);
    expect(() => createArithmeticProblems(2, { seed: 1.5 })).toThrow(/options.seed/);
    const bad = (o: unknown) => () => createArithmeticProblems(2, o as Parameters<typeof createArithmeticProblems>[1]);
    expect(bad({ stepz: 3 })).toThrow(/options.stepz is not an option; did you mean 'steps'/);
    expect(bad({ operations: [] })).toThrow(TypeError);
    expect(bad({ operations: ['+', '%'] })).toThrow(/options.operations\[1\]/);
    expect(bad({ operations: ['+', '+'] })).toThrow(RangeError);
    expect(bad({ operations: ['*', '/'] })).toThrow(/'\+' or '-'/);
    expect(bad({ add: [5, 2] })).toThrow(/options.add\[1\]/);
    expect(bad({ add: 5 })).toThrow(TypeError);
    expect(bad({ multiply: [1, 3] })).toThrow(/options.multiply\[0\]/);
    expect(bad({ divide: [2, 2.5] })).toThrow(RangeError);
    expect(bad({ multiplyLimit: 0 })).toThrow(/options.multiplyLimit/);
  });
});

describe('arithmetic problem difficulty', () => {
  it('the explicit defaults give the same problems as no options', () => {
    const defaults = { operations: ['+', '-', '*', '/'] as const, start: [2, 40] as const, add: [2, 60] as const, subtract: [2, 50] as const, multiply: [2, 9] as const, multiplyLimit: 400, divide: [2, 9] as const };
    expect(createArithmeticProblems(50, { seed: 7, ...defaults })).toEqual(createArithmeticProblems(50, { seed: 7 }));
  });

  it('keeps every operation, operand and start in its range, and the statement still reads back', () => {
    const o = { seed: 5, steps: 6, operations: ['+', '*', '/'] as const, start: [10, 20] as const, add: [3, 5] as const, multiply: [2, 3] as const, multiplyLimit: 50, divide: [3, 4] as const };
    const problems = createArithmeticProblems(200, o);
    const seen = new Set<string>();
    for (const p of problems) {
      expect(p.start).toBeGreaterThanOrEqual(10);
      expect(p.start).toBeLessThanOrEqual(20);
      let v = p.start;
      p.operations.forEach((op, i) => {
        seen.add(op.op);
        expect(['+', '*', '/']).toContain(op.op);
        const [lo, hi] = op.op === '+' ? [3, 5] : op.op === '*' ? [2, 3] : [3, 4];
        expect(op.operand).toBeGreaterThanOrEqual(lo);
        expect(op.operand).toBeLessThanOrEqual(hi);
        if (op.op === '*') expect(Math.abs(v)).toBeLessThanOrEqual(50);
        v = apply(op.op, v, op.operand);
        expect(Number.isInteger(v)).toBe(true);
        expect(v).toBe(p.values[i]);
      });
      expect(solveStatement(p.problem)).toEqual(p.values);
      expect(verifySteps(p, solveArithmetic(p)).every(Boolean)).toBe(true);
    }
    expect([...seen].sort()).toEqual(['*', '+', '/']);
  });
});

describe('verifySteps', () => {
  const [p] = createArithmeticProblems(1, { seed: 1, steps: 4 });
  const good = solveArithmetic(p);

  it('labels are prefix-cumulative: after the first wrong step every label is false', () => {
    const o = p.operations[1];
    const wrong = `${p.values[0]} ${o.op} ${o.operand} = ${p.values[1] + 1}`;
    expect(verifySteps(p, [good[0], wrong, good[2], good[3]])).toEqual([true, false, false, false]);
  });

  it('checks the operand, the carried value, the answer box and extra steps', () => {
    const o = p.operations[0];
    expect(verifySteps(p, [`${p.start} ${o.op} ${o.operand + 1} = ${p.values[0]}`])).toEqual([false]);
    expect(verifySteps(p, [`${p.start + 1} ${o.op} ${o.operand} = ${p.values[0]}`])).toEqual([false]);
    const unboxed = good[3].replace(/\. The answer.*$/, '');
    expect(verifySteps(p, [...good.slice(0, 3), unboxed])).toEqual([true, true, true, false]);
    expect(verifySteps(p, [...good, 'The answer is \\boxed{1}.'])).toEqual([true, true, true, true, false]);
    expect(verifySteps(p, ['I think it is 5'])).toEqual([false]);
    expect(verifySteps(p, [])).toEqual([]);
    expect(() => verifySteps(p, [3 as unknown as string])).toThrow(/steps\[0\]/);
  });

  it('accepts × and ÷ spellings', () => {
    const q = createArithmeticProblems(50, { seed: 9, steps: 1 }).find((x) => x.operations[0].op === '*')!;
    expect(verifySteps(q, [`${q.start} × ${q.operations[0].operand} = ${q.answer}. The answer is \\boxed{${q.answer}}.`])).toEqual([true]);
  });
});

describe('ArithmeticGenerator', () => {
  const problems = createArithmeticProblems(40, { seed: 2, steps: 4 });

  it('never slips at slipRate 0, and solves every problem', async () => {
    const gen = new ArithmeticGenerator({ problems, slipRate: 0 });
    for (const p of problems) {
      const steps: string[] = [];
      for (;;) {
        const [[c]] = await gen.generate([{ problem: p.problem, steps, n: 1 }], { seed: 1 });
        steps.push(c.text);
        expect(c.tokens).toBeGreaterThan(0);
        if (c.finishReason === 'eos') break;
        expect(c.finishReason).toBe('stop');
      }
      expect(steps).toEqual(solveArithmetic(p));
    }
  });

  it('slips at about the configured rate, deterministically for a seed', async () => {
    const gen = new ArithmeticGenerator({ problems, slipRate: 0.3 });
    const requests = problems.map((p) => ({ problem: p.problem, steps: [] as string[], n: 25 }));
    const a = await gen.generate(requests, { seed: 7 });
    const b = await gen.generate(requests, { seed: 7 });
    const c = await gen.generate(requests, { seed: 8 });
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    let wrong = 0;
    a.forEach((cs, i) => cs.forEach((x) => (wrong += verifySteps(problems[i], [x.text])[0] ? 0 : 1)));
    const rate = wrong / (problems.length * 25);
    expect(rate).toBeGreaterThan(0.15);
    expect(rate).toBeLessThan(0.45);
  });

  it('hard steps slip often and mostly into the trap, so wrong answers cluster', async () => {
    const gen = new ArithmeticGenerator({ problems, slipRate: 0.01, hardStepRate: 1 });
    const out = await gen.generate(problems.map((p) => ({ problem: p.problem, steps: [], n: 20 })), { seed: 1 });
    let slips = 0;
    let traps = 0;
    out.forEach((cs, i) => {
      const p = problems[i];
      const trap = trapResult(p.start, p.operations[0].op, p.operations[0].operand);
      expect(gen.slipProfile(p, 0).hard).toBe(true);
      for (const c of cs) {
        if (verifySteps(p, [c.text])[0]) continue;
        slips++;
        if (c.text.startsWith(`${p.start} ${p.operations[0].op} ${p.operations[0].operand} = ${trap}`)) traps++;
      }
    });
    expect(slips / (problems.length * 20)).toBeGreaterThan(0.4);
    expect(traps / slips).toBeGreaterThan(0.8);
  });

  it('continues from a wrong prefix, so a slip spoils the answer', async () => {
    const gen = new ArithmeticGenerator({ problems, slipRate: 0 });
    const p = problems[0];
    const o = p.operations[0];
    const bad = `${p.start} ${o.op} ${o.operand} = ${p.values[0] + 3}`;
    const steps = [bad];
    while (steps.length < 4) steps.push((await gen.generate([{ problem: p.problem, steps, n: 1 }]))[0][0].text);
    expect(verifySteps(p, steps)).toEqual([false, false, false, false]);
    expect(finalAnswerCorrect(p, steps)).toBe(false);
  });

  it('truncates at maxTokens with finishReason length', async () => {
    const gen = new ArithmeticGenerator({ problems });
    const [[c]] = await gen.generate([{ problem: problems[0].problem, steps: [], n: 1 }], { maxTokens: 3 });
    expect(c.finishReason).toBe('length');
    expect(c.tokens).toBeLessThanOrEqual(3);
  });

  it('traps are wrong results', () => {
    for (const [a, op, b] of [[17, '+', 8], [5, '-', 5], [0, '*', 3], [12, '/', 4]] as const) {
      const c = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
      expect(trapResult(a, op, b)).not.toBe(c);
    }
  });

  it('rejects unknown problems and bad requests before work', async () => {
    const gen = new ArithmeticGenerator({ problems });
    await expect(gen.generate([{ problem: 'What is love?', steps: [], n: 1 }])).rejects.toThrow(/not one of this task's problems/);
    await expect(gen.generate([{ problem: problems[0].problem, steps: [], n: 0 }])).rejects.toThrow(/n must be a positive integer/);
    expect(() => new ArithmeticGenerator({ problems, slipRate: 2 })).toThrow(/slipRate/);
  });
});

describe('task scorers', () => {
  const problems = createArithmeticProblems(30, { seed: 5, steps: 4 });
  const items = problems.flatMap((p) => {
    const good = solveArithmetic(p);
    const o = p.operations[1];
    const bad = [good[0], `${p.values[0]} ${o.op} ${o.operand} = ${p.values[1] + 2}`, 'x', `0 + 0 = 0. The answer is \\boxed{${p.answer + 1}}.`];
    return [{ problem: p.problem, steps: good }, { problem: p.problem, steps: bad }];
  });

  it('oracle gives exact labels', async () => {
    const s = await createOracleScorer(problems).score(items.slice(0, 2));
    expect(s[0].stepProbs).toEqual([1, 1, 1, 1]);
    expect(s[1].stepProbs).toEqual([1, 0, 0, 0]);
  });

  it('noisy PRM separates good from bad steps on average and is stable per prefix', async () => {
    const prm = new NoisyPrmScorer({ problems, noise: 1, seed: 1 });
    const s = await prm.score(items);
    const again = await prm.score([...items].reverse());
    expect(again.reverse()).toEqual(s);
    const good = s.filter((_, i) => i % 2 === 0).flatMap((x) => x.stepProbs);
    const bad = s.filter((_, i) => i % 2 === 1).flatMap((x) => x.stepProbs.slice(1));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(good)).toBeGreaterThan(0.75);
    expect(mean(bad)).toBeLessThan(0.25);
    // a step's score depends on its prefix only
    const prefix = await prm.score([{ problem: items[0].problem, steps: items[0].steps.slice(0, 2) }]);
    expect(prefix[0].stepProbs).toEqual(s[0].stepProbs.slice(0, 2));
  });

  it('outcome scorer sees only the final answer', async () => {
    const orm = new OutcomeScorer({ problems, noise: 0 });
    const s = await orm.score(items.slice(0, 2));
    expect(s[0].stepProbs.slice(0, 3)).toEqual([0.5, 0.5, 0.5]);
    expect(s[0].stepProbs[3]).toBeGreaterThan(0.8);
    expect(s[1].stepProbs.slice(0, 3)).toEqual([0.5, 0.5, 0.5]);
    expect(s[1].stepProbs[3]).toBeLessThan(0.2);
  });

  it('reject bad options', () => {
    expect(() => new NoisyPrmScorer({ problems, noise: -1 })).toThrow(/noise/);
    expect(() => new OutcomeScorer({ problems: 'x' as never })).toThrow(TypeError);
  });
});
