// The verifiable arithmetic task shipped with prmkit: problems, exact step checking, a
// slipping generator and scorers of known quality. (Implementation in ./task/.)
export { createArithmeticProblems, solveArithmetic, formatStep, applyOp } from './task/problems.js';
export type { ArithmeticProblem, ArithmeticProblemOptions, ArithmeticOp, ArithmeticOperation } from './task/problems.js';
export { verifySteps, finalAnswerCorrect, parseStep } from './task/verify.js';
export type { ParsedStep } from './task/verify.js';
export { ArithmeticGenerator, trapResult } from './task/generator.js';
export type { ArithmeticGeneratorOptions, SlipProfile } from './task/generator.js';
export { createOracleScorer, NoisyPrmScorer, OutcomeScorer } from './task/scorers.js';
export type { NoisyScorerOptions } from './task/scorers.js';
export { countTokens } from './task/tokens.js';
