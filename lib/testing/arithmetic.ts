// prmkit/testing/arithmetic: a verifiable multi-step arithmetic task for trying search
// strategies and scorers where the truth of every step is known: seeded problems, exact
// step checking, a generator that slips at a chosen rate, and scorers of known quality.
export { createArithmeticProblems, solveArithmetic, formatStep } from '../search/task/problems.js';
export type { ArithmeticProblem, ArithmeticProblemOptions, ArithmeticOp, ArithmeticOperation, IntRange } from '../search/task/problems.js';
export { demoTaskOptions, demoPolicyOptions } from '../search/task/demo.js';
export { verifySteps, finalAnswerCorrect } from '../search/task/verify.js';
export { ArithmeticGenerator } from '../search/task/generator.js';
export type { ArithmeticGeneratorOptions, SlipProfile } from '../search/task/generator.js';
export { createOracleScorer, NoisyPrmScorer, OutcomeScorer } from '../search/task/scorers.js';
export type { NoisyScorerOptions } from '../search/task/scorers.js';
