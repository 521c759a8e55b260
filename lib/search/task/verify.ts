// Exact step checking for the arithmetic task.
import { invalidType, string } from '../../is.js';
import { extractBoxed, answersEqual } from '../answer.js';
import type { ArithmeticOp, ArithmeticProblem } from './problems.js';

const STEP = /^\s*(-?\d+(?:\.\d+)?)\s*([+\-*/×÷x])\s*(-?\d+(?:\.\d+)?)\s*=\s*(-?\d+(?:\.\d+)?)(?![\d.]\d)/;
const OPS: Record<string, ArithmeticOp> = { '+': '+', '-': '-', '*': '*', '×': '*', x: '*', '/': '/', '÷': '/' };

export interface ParsedStep {
  a: number;
  op: ArithmeticOp;
  b: number;
  c: number;
}

/** `a op b = c` at the start of a step, or undefined. */
export function parseStep(step: string): ParsedStep | undefined {
  const m = STEP.exec(step);
  if (!m) return undefined;
  return { a: Number(m[1]), op: OPS[m[2]], b: Number(m[3]), c: Number(m[4]) };
}

/**
 * Exact per-step correctness labels of a chain: label[i] = steps 0..i are all correct. Step i
 * is correct when it computes operation i from the previous step's result; the last
 * operation's step must also box the answer, and steps past the last operation are wrong.
 */
export function verifySteps(problem: ArithmeticProblem, steps: readonly string[]): boolean[] {
  if (!problem || !Array.isArray(problem.operations)) throw invalidType('verifySteps: problem', 'an ArithmeticProblem', problem);
  if (!Array.isArray(steps)) throw invalidType('verifySteps: steps', 'an array of strings', steps);
  const labels: boolean[] = [];
  let ok = true;
  steps.forEach((step, i) => {
    string(step, `verifySteps: steps[${i}]`);
    ok = ok && stepCorrect(problem, step, i);
    labels.push(ok);
  });
  return labels;
}

function stepCorrect(problem: ArithmeticProblem, step: string, i: number): boolean {
  const n = problem.operations.length;
  if (i >= n) return false;
  const s = parseStep(step);
  if (!s) return false;
  const o = problem.operations[i];
  const prev = i === 0 ? problem.start : problem.values[i - 1];
  if (s.a !== prev || s.op !== o.op || s.b !== o.operand || s.c !== problem.values[i]) return false;
  const boxed = extractBoxed(step);
  if (i === n - 1) return boxed !== undefined && answersEqual(boxed, String(problem.answer));
  return boxed === undefined; // announcing an answer before the last operation is a wrong step
}

/** Whether the chain's final answer (the last box anywhere in it) is the problem's answer. */
export function finalAnswerCorrect(problem: ArithmeticProblem, steps: readonly string[]): boolean {
  for (let i = steps.length - 1; i >= 0; i--) {
    const boxed = extractBoxed(steps[i]);
    if (boxed !== undefined) return answersEqual(boxed, String(problem.answer));
  }
  return false;
}
