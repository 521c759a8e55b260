// The kind of problem prmkit's demo reward models were trained on, spelled out in full so a
// later change of the task's defaults cannot quietly change it. Fresh problems of that kind:
// createArithmeticProblems(n, { ...demoTaskOptions, seed }).
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
