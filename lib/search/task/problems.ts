// Multi-step arithmetic problems: a start value and a chain of operations, each solved in one
// step. Small enough to verify exactly, long enough that one slip spoils the answer.
import { integer, invalidRange, invalidType, keysOf, knownKeys, nonNegativeInt, object, oneOf } from '../../is.js';
import { checkSeed, hashSeed, Rng } from '../../random.js';

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

/** An inclusive integer range `[min, max]`. */
export type IntRange = readonly [number, number];

export interface ArithmeticProblemOptions {
  seed?: number;
  /** Operations (= solution steps) per problem, 1..32; default 4. */
  steps?: number;
  /** Operations to draw from (each equally likely), default all four. Division needs a divisor range that can divide. */
  operations?: readonly ArithmeticOp[];
  /** Range of the start value; default [2, 40]. */
  start?: IntRange;
  /** Range of what is added; default [2, 60]. */
  add?: IntRange;
  /** Range of what is subtracted; default [2, 50]. */
  subtract?: IntRange;
  /** Range of the factor; default [2, 9]. */
  multiply?: IntRange;
  /** Largest |value| that is still multiplied (a larger one draws another operation); default 400. */
  multiplyLimit?: number;
  /** Divisors tried (only exact divisions are made); default [2, 9]. */
  divide?: IntRange;
}

/** The problem options with every default filled in. */
export type ArithmeticDifficulty = Required<Omit<ArithmeticProblemOptions, 'seed' | 'steps'>>;

export const DEFAULT_DIFFICULTY: ArithmeticDifficulty = Object.freeze({
  operations: Object.freeze(['+', '-', '*', '/'] as ArithmeticOp[]),
  start: Object.freeze([2, 40] as const),
  add: Object.freeze([2, 60] as const),
  subtract: Object.freeze([2, 50] as const),
  multiply: Object.freeze([2, 9] as const),
  multiplyLimit: 400,
  divide: Object.freeze([2, 9] as const),
});

const OPTION_KEYS = keysOf<ArithmeticProblemOptions>()({
  seed: true, steps: true, operations: true, start: true, add: true, subtract: true, multiply: true, multiplyLimit: true, divide: true,
});
const LIMIT = 1e6; // keeps every value an exact integer over 32 steps

function range(v: unknown, name: string, min: number, dflt: IntRange): IntRange {
  if (v === undefined) return dflt;
  if (!Array.isArray(v) || v.length !== 2) throw invalidType(name, 'a range [min, max] of integers', v);
  const lo = integer(v[0], `${name}[0]`, min, LIMIT);
  const hi = integer(v[1], `${name}[1]`, lo, LIMIT);
  return [lo, hi];
}

function difficulty(o: ArithmeticProblemOptions): ArithmeticDifficulty {
  const d = DEFAULT_DIFFICULTY;
  let operations = d.operations;
  if (o.operations !== undefined) {
    if (!Array.isArray(o.operations) || o.operations.length === 0) throw invalidType('options.operations', "a non-empty array of '+', '-', '*', '/'", o.operations);
    operations = o.operations.map((op, i) => oneOf(op, `options.operations[${i}]`, ['+', '-', '*', '/'] as const));
    if (new Set(operations).size !== operations.length) throw invalidRange('options.operations', 'operations without repeats', o.operations);
  }
  const out: ArithmeticDifficulty = {
    operations,
    start: range(o.start, 'options.start', 0, d.start),
    add: range(o.add, 'options.add', 1, d.add),
    subtract: range(o.subtract, 'options.subtract', 1, d.subtract),
    // a factor or divisor of 1 would make a step that changes nothing
    multiply: range(o.multiply, 'options.multiply', 2, d.multiply),
    multiplyLimit: o.multiplyLimit === undefined ? d.multiplyLimit : integer(o.multiplyLimit, 'options.multiplyLimit', 1, LIMIT),
    divide: range(o.divide, 'options.divide', 2, d.divide),
  };
  // every operation must always be possible or fall back to one that is: + and - always are
  if (!operations.includes('+') && !operations.includes('-'))
    throw invalidRange('options.operations', "a list with '+' or '-' (a value too big to multiply or not divisible needs another operation)", o.operations);
  return out;
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

function nextOperation(rng: Rng, v: number, d: ArithmeticDifficulty): ArithmeticOperation {
  const divisors: number[] = [];
  for (let k = d.divide[0]; k <= d.divide[1] && v !== 0; k++) if (v % k === 0) divisors.push(k);
  for (;;) {
    const op = rng.pick<ArithmeticOp>(d.operations);
    if (op === '+') return { op, operand: rng.int(d.add[0], d.add[1]) };
    if (op === '-') return { op, operand: rng.int(d.subtract[0], d.subtract[1]) };
    // keep numbers a person could still do in their head
    if (op === '*' && Math.abs(v) <= d.multiplyLimit) return { op, operand: rng.int(d.multiply[0], d.multiply[1]) };
    if (op === '/' && divisors.length > 0) return { op, operand: rng.pick(divisors) };
  }
}

/** Describes operation i for the statement: "add 8", "then divide by 2". */
function phrase(o: ArithmeticOperation): string {
  return `${VERBS[o.op]} ${o.operand}`;
}

/**
 * `count` problems, the same for the same options. The difficulty options (operand ranges,
 * operations) default to the task's usual problems: additions up to 60, subtractions up to
 * 50, products x2..x9 of values up to 400, exact divisions by 2..9, a start in 2..40.
 */
export function createArithmeticProblems(count: number, options: ArithmeticProblemOptions = {}): ArithmeticProblem[] {
  nonNegativeInt(count, 'count');
  knownKeys(object(options, 'options'), OPTION_KEYS);
  const seed = checkSeed(options.seed, 'options.seed') ?? 0;
  const steps = integer(options.steps ?? 4, 'options.steps', 1, 32);
  const d = difficulty(options);
  const out: ArithmeticProblem[] = [];
  for (let k = 0; k < count; k++) {
    const rng = new Rng(hashSeed('arithmetic-problem', seed, steps, k));
    const start = rng.int(d.start[0], d.start[1]);
    const operations: ArithmeticOperation[] = [];
    const values: number[] = [];
    let v = start;
    for (let i = 0; i < steps; i++) {
      const o = nextOperation(rng, v, d);
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
