// Multi-step arithmetic problems: a start value and a chain of operations, each solved in one
// step. Small enough to verify exactly, long enough that one slip spoils the answer.
import { integer, invalidType, nonNegativeInt, object } from '../../is.js';
import { checkSeed, hashSeed, Rng } from '../random.js';

export type ArithmeticOp = '+' | '-' | '*' | '/';

export interface ArithmeticOperation {
  op: ArithmeticOp;
  operand: number;
}

export interface ArithmeticProblem {
  id: string;
  /** The problem statement, as generators and scorers see it. */
  problem: string;
  /** The exact final result. */
  answer: number;
  start: number;
  operations: readonly ArithmeticOperation[];
  /** Running value after each operation; `values[values.length - 1] === answer`. */
  values: readonly number[];
}

export interface ArithmeticProblemOptions {
  seed?: number;
  /** Operations (= solution steps) per problem, 1..32; default 4. */
  steps?: number;
}

const VERBS: Record<ArithmeticOp, string> = {
  '+': 'add',
  '-': 'subtract',
  '*': 'multiply by',
  '/': 'divide by',
};

export function applyOp(a: number, op: ArithmeticOp, b: number): number {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
  }
}

function nextOperation(rng: Rng, v: number): ArithmeticOperation {
  const divisors = [2, 3, 4, 5, 6, 7, 8, 9].filter((d) => v !== 0 && v % d === 0);
  for (;;) {
    const op = rng.pick<ArithmeticOp>(['+', '-', '*', '/']);
    if (op === '+') return { op, operand: rng.int(2, 60) };
    if (op === '-') return { op, operand: rng.int(2, 50) };
    // keep numbers a person could still do in their head
    if (op === '*' && Math.abs(v) <= 400) return { op, operand: rng.int(2, 9) };
    if (op === '/' && divisors.length > 0) return { op, operand: rng.pick(divisors) };
  }
}

/** Describes operation i for the statement: "add 8", "then divide by 2". */
function phrase(o: ArithmeticOperation): string {
  return `${VERBS[o.op]} ${o.operand}`;
}

/** `count` problems, the same for the same seed and steps. */
export function createArithmeticProblems(count: number, options: ArithmeticProblemOptions = {}): ArithmeticProblem[] {
  nonNegativeInt(count, 'count');
  object(options, 'options');
  const seed = checkSeed(options.seed, 'options.seed') ?? 0;
  const steps = integer(options.steps ?? 4, 'options.steps', 1, 32);
  const out: ArithmeticProblem[] = [];
  for (let k = 0; k < count; k++) {
    const rng = new Rng(hashSeed('arithmetic-problem', seed, steps, k));
    const start = rng.int(2, 40);
    const operations: ArithmeticOperation[] = [];
    const values: number[] = [];
    let v = start;
    for (let i = 0; i < steps; i++) {
      const o = nextOperation(rng, v);
      operations.push(o);
      v = applyOp(v, o.op, o.operand);
      values.push(v);
    }
    const clauses = operations.map(phrase);
    const list = clauses.length === 1 ? clauses[0] : `${clauses.slice(0, -1).join(', ')}, then ${clauses[clauses.length - 1]}`;
    out.push({
      id: `arith-${seed}-${steps}-${k}`,
      problem: `Start with ${start}, ${list}. What is the result?`,
      answer: v,
      start,
      operations,
      values,
    });
  }
  return out;
}

/** Canonical text of step i of the correct solution (the last step also states the answer). */
export function formatStep(a: number, op: ArithmeticOp, b: number, c: number, final: boolean): string {
  const eq = `${a} ${op} ${b} = ${c}`;
  return final ? `${eq}. The answer is \\boxed{${c}}.` : eq;
}

/** The correct solution's steps. */
export function solveArithmetic(problem: ArithmeticProblem): string[] {
  return problem.operations.map((o, i) =>
    formatStep(i === 0 ? problem.start : problem.values[i - 1], o.op, o.operand, problem.values[i], i === problem.operations.length - 1),
  );
}

/** Looks problems up by statement, the only thing a Generator or StepScorer receives. */
export class ProblemIndex {
  private readonly byText = new Map<string, ArithmeticProblem>();

  constructor(problems: readonly ArithmeticProblem[], owner: string) {
    if (!Array.isArray(problems)) throw invalidType(`${owner}: options.problems`, 'an array of ArithmeticProblem', problems);
    problems.forEach((p, i) => {
      if (!p || typeof p.problem !== 'string' || !Array.isArray(p.operations) || !Array.isArray(p.values))
        throw invalidType(`${owner}: options.problems[${i}]`, 'an ArithmeticProblem', p);
      this.byText.set(p.problem, p);
    });
  }

  get(problem: string, owner: string, where: string): ArithmeticProblem {
    const p = this.byText.get(problem);
    if (!p) throw new RangeError(`${owner}: ${where}.problem is not one of this task's problems: ${JSON.stringify(problem.slice(0, 80))}`);
    return p;
  }
}
