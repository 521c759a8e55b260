// A stochastic policy for the arithmetic task. It solves the next operation from the chain's
// last result, and slips at a configurable rate. Slips are partly systematic (each step has
// one tempting wrong result, like a dropped carry) so wrong answers cluster the way a real
// model's do, and majority voting cannot simply out-vote them.
import { number } from '../../is.js';
import type { Continuation, GenerateOptions, GenerateRequest, Generator } from '../../interfaces.js';
import { checkSeed, hashSeed, Rng } from '../../random.js';
import { checkGenerateArgs } from '../engine/validate.js';
import { applyOp, formatStep, ProblemIndex } from './problems.js';
import type { ArithmeticOp, ArithmeticProblem } from './problems.js';
import { parseStep } from './verify.js';
import { countTokens, truncateTokens } from './tokens.js';

export interface ArithmeticGeneratorOptions {
  problems: readonly ArithmeticProblem[];
  /** Mean probability of a slip per ordinary step, in [0, 1]; default 0.1. Per-step difficulty varies around it; 0 turns all slips off. */
  slipRate?: number;
  /** Share of slips that produce the step's one tempting wrong result, in [0, 1]; default 0.5. */
  systematicShare?: number;
  /**
   * Share of (problem, step) pairs that are hard: slipped on about half the time or more,
   * nearly always into the tempting wrong result, so the most common answer can be wrong.
   * In [0, 1]; default 0.1.
   */
  hardStepRate?: number;
  /** Base seed when a call passes none; successive unseeded calls then differ. Default 0. */
  seed?: number;
}

/** How a step goes wrong: the chance of a slip, and the share of slips that fall into the trap. */
export interface SlipProfile {
  slip: number;
  trap: number;
  hard: boolean;
}

type Slip = 'none' | 'trap' | 'arith' | 'operand' | 'copy';

/** The tempting wrong result of `a op b`: a dropped carry, a flipped sign, one factor too many. */
export function trapResult(a: number, op: ArithmeticOp, b: number): number {
  const c = applyOp(a, op, b);
  switch (op) {
    case '+':
      return (Math.abs(a) % 10) + (b % 10) >= 10 ? c - 10 : c + 10;
    case '-':
      return b - a !== c ? b - a : c + 10;
    case '*':
      return c + a !== c ? c + a : c + b;
    case '/':
      return c + 1;
  }
}

export class ArithmeticGenerator implements Generator {
  readonly name = 'arithmetic';
  readonly slipRate: number;
  readonly systematicShare: number;
  readonly hardStepRate: number;
  private readonly index: ProblemIndex;
  private readonly seed: number;
  private calls = 0;

  constructor(options: ArithmeticGeneratorOptions) {
    if (!options || typeof options !== 'object') throw new TypeError('ArithmeticGenerator: options must be an object');
    this.index = new ProblemIndex(options.problems, 'ArithmeticGenerator');
    this.slipRate = unit(options.slipRate ?? 0.1, 'options.slipRate');
    this.systematicShare = unit(options.systematicShare ?? 0.5, 'options.systematicShare');
    this.hardStepRate = unit(options.hardStepRate ?? 0.1, 'options.hardStepRate');
    this.seed = checkSeed(options.seed, 'options.seed') ?? 0;
  }

  /** How step i of this problem goes wrong (difficulty varies by problem and step, fixed per problem). */
  slipProfile(problem: ArithmeticProblem, i: number): SlipProfile {
    if (this.slipRate === 0) return { slip: 0, trap: 0, hard: false }; // 0 means a flawless policy
    const r = new Rng(hashSeed('difficulty', problem.problem, i));
    if (r.next() < this.hardStepRate) return { slip: Math.min(0.95, 0.4 + 0.45 * r.next()), trap: Math.max(0.9, this.systematicShare), hard: true };
    const problemScale = 0.5 + new Rng(hashSeed('difficulty', problem.problem)).next();
    const stepScale = 0.25 + 1.5 * r.next();
    return { slip: Math.min(0.95, this.slipRate * problemScale * stepScale), trap: this.systematicShare, hard: false };
  }

  async generate(requests: readonly GenerateRequest[], options: GenerateOptions = {}): Promise<Continuation[][]> {
    checkGenerateArgs(requests, options, 'ArithmeticGenerator');
    const problems = requests.map((r, i) => this.index.get(r.problem, 'ArithmeticGenerator', `requests[${i}]`));
    options.signal?.throwIfAborted();
    const base = options.seed ?? hashSeed('unseeded', this.seed, this.calls);
    this.calls++;
    const maxTokens = options.maxTokens ?? Infinity;
    return requests.map((r, i) =>
      Array.from({ length: r.n }, (_, j) => {
        const rng = new Rng(hashSeed('sample', base, i, j, r.problem, r.steps.length));
        return this.sample(problems[i], r.steps, rng, maxTokens);
      }),
    );
  }

  private sample(problem: ArithmeticProblem, steps: readonly string[], rng: Rng, maxTokens: number): Continuation {
    const i = steps.length;
    const n = problem.operations.length;
    // the model carries on from what the chain says, right or wrong; an unreadable last step
    // is re-derived from the problem
    const last = i === 0 ? undefined : parseStep(steps[i - 1]);
    const v = i === 0 ? problem.start : last ? last.c : problem.values[Math.min(i, n) - 1];
    let text: string;
    let finishReason: Continuation['finishReason'];
    if (i >= n) {
      text = `The answer is \\boxed{${v}}.`;
      finishReason = 'eos';
    } else {
      const { op, operand } = problem.operations[i];
      let [a, b] = [v, operand];
      let c = applyOp(a, op, b);
      const slip = this.drawSlip(problem, i, rng);
      if (slip === 'trap') c = trapResult(a, op, b);
      else if (slip === 'arith') c = c + nonZero(rng, 9);
      else if (slip === 'operand') {
        const d = nonZero(rng, op === '*' || op === '/' ? 2 : 3);
        b = b + d >= 2 ? b + d : b + Math.abs(d); // a misread operand, never the right one
        c = applyOp(a, op, b);
      } else if (slip === 'copy') {
        a = a + nonZero(rng, 5);
        c = applyOp(a, op, b);
      }
      if (!Number.isInteger(c)) c = Math.round(c); // an off-path value may not divide evenly
      const final = i === n - 1;
      text = formatStep(a, op, b, c, final);
      finishReason = final ? 'eos' : 'stop';
    }
    const tokens = countTokens(text);
    if (tokens > maxTokens) {
      text = truncateTokens(text, maxTokens);
      return { text, tokens: countTokens(text), finishReason: 'length' };
    }
    return { text, tokens, finishReason };
  }

  private drawSlip(problem: ArithmeticProblem, i: number, rng: Rng): Slip {
    const profile = this.slipProfile(problem, i);
    if (rng.next() >= profile.slip) return 'none';
    if (rng.next() < profile.trap) return 'trap';
    return rng.pick<Slip>(['arith', 'operand', 'copy']);
  }
}

function nonZero(rng: Rng, k: number): number {
  const m = rng.int(1, k);
  return rng.next() < 0.5 ? -m : m;
}

function unit(x: unknown, name: string): number {
  return number(x, `ArithmeticGenerator: ${name}`, 0, 1);
}
