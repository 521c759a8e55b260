// Fresh chains of the kind the demo reward models were trained on (the task's problems and
// policy at demoTaskOptions / demoPolicyOptions, with a seed the training data never used),
// labelled by the exact verifier; and an AUROC written out pair by pair, as the reference the
// trained models are judged by.
import { join } from 'node:path';
import { ArithmeticGenerator, createArithmeticProblems, demoPolicyOptions, demoTaskOptions, finalAnswerCorrect, verifySteps } from '../../lib/testing/arithmetic.js';
import { repoRoot } from '../helpers/index.js';

export const demoDir = join(repoRoot, 'models', 'demo');

export interface LabelledChain {
  problem: string;
  steps: string[];
  /** The verifier's verdict on each step. */
  stepOk: boolean[];
  /** Whether the final answer is right. */
  outcome: boolean;
}

/** One policy sample per problem of `count` fresh problems, step by step until it ends. */
export async function freshChains(count: number, seed: number): Promise<LabelledChain[]> {
  const problems = createArithmeticProblems(count, { ...demoTaskOptions, seed });
  const policy = new ArithmeticGenerator({ problems, ...demoPolicyOptions, seed });
  const open = problems.map((p) => ({ p, steps: [] as string[], done: false }));
  for (let round = 0; open.some((c) => !c.done); round++) {
    const live = open.filter((c) => !c.done);
    const got = await policy.generate(live.map((c) => ({ problem: c.p.problem, steps: c.steps, n: 1 })), { seed: seed * 1000 + round });
    got.forEach(([next], i) => {
      live[i].steps.push(next.text);
      if (next.finishReason !== 'stop' || live[i].steps.length >= 16) live[i].done = true;
    });
  }
  return open.map((c) => ({ problem: c.p.problem, steps: c.steps, stepOk: verifySteps(c.p, c.steps), outcome: finalAnswerCorrect(c.p, c.steps) }));
}

/** P(a positive scores above a negative), ties half: the plain definition, every pair counted. */
export function pairwiseAuroc(scores: readonly number[], positive: readonly boolean[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!positive[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (positive[j]) continue;
      pairs++;
      wins += scores[i] > scores[j] ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return wins / pairs;
}
