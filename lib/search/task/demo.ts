// The task prmkit's demo reward models were trained on, spelled out in full so that a later
// change of the defaults cannot quietly change it: the problems (demoTaskOptions) and the
// policy whose samples they learned to judge (demoPolicyOptions). Fresh chains of that kind,
// for any seed:
//   const problems = createArithmeticProblems(n, { ...demoTaskOptions, seed });
//   const policy = new ArithmeticGenerator({ problems, ...demoPolicyOptions, seed });
import type { ArithmeticGeneratorOptions } from './generator.js';
import type { ArithmeticProblemOptions } from './problems.js';

export const demoTaskOptions: Readonly<Omit<ArithmeticProblemOptions, 'seed'>> = Object.freeze({
  steps: 4,
  operations: Object.freeze(['+', '-', '*', '/'] as const),
  start: Object.freeze([2, 40] as const),
  add: Object.freeze([2, 60] as const),
  subtract: Object.freeze([2, 50] as const),
  multiply: Object.freeze([2, 9] as const),
  multiplyLimit: 400,
  divide: Object.freeze([2, 9] as const),
});

export const demoPolicyOptions: Readonly<Omit<ArithmeticGeneratorOptions, 'problems' | 'seed'>> = Object.freeze({
  slipRate: 0.1,
  systematicShare: 0.5,
  hardStepRate: 0.1,
});
