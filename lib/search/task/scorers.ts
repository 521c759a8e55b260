// Step scorers of known quality for the arithmetic task: the exact oracle, a noisy PRM, and an
// outcome-only scorer that sees nothing but the final answer (the ORM of the PRM papers).
// Noise is drawn from a hash of the chain prefix, so a step's score never depends on batching
// or on what follows it, as with a real causal PRM.
import { number, object } from '../../is.js';
import type { ChainItem, ScoreCallOptions, StepScorer, StepScores } from '../../interfaces.js';
import { checkItems, checkSignal } from '../engine/validate.js';
import { checkSeed, hashSeed, Rng } from '../../random.js';
import { VerifierScorer } from '../scorers/verifier.js';
import { extractBoxed } from '../answer.js';
import { ProblemIndex } from './problems.js';
import type { ArithmeticProblem } from './problems.js';
import { finalAnswerCorrect, verifySteps } from './verify.js';

/** Exact step labels as probabilities 1/0. */
export function createOracleScorer(problems: readonly ArithmeticProblem[]): VerifierScorer {
  const index = new ProblemIndex(problems, 'oracle');
  return new VerifierScorer({
    name: 'arithmetic-oracle',
    verify: (item) => verifySteps(index.get(item.problem, 'oracle', 'item'), item.steps),
  });
}

export interface NoisyScorerOptions {
  problems: readonly ArithmeticProblem[];
  /** Standard deviation of the logit noise; 0 gives a (soft) oracle. Default 1. */
  noise?: number;
  /** Logit of a correct step before noise (a wrong one gets minus this); default 2. */
  margin?: number;
  seed?: number;
}

function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-z));
}

abstract class NoisyScorer implements StepScorer {
  abstract readonly name: string;
  protected readonly index: ProblemIndex;
  protected readonly noise: number;
  protected readonly margin: number;
  protected readonly seed: number;

  constructor(options: NoisyScorerOptions, owner: string) {
    object(options, `${owner}: options`);
    this.index = new ProblemIndex(options.problems, owner);
    this.noise = number(options.noise ?? 1, `${owner}: options.noise`, 0);
    this.margin = number(options.margin ?? 2, `${owner}: options.margin`, 0, Infinity, { openMin: true });
    this.seed = checkSeed(options.seed, 'options.seed') ?? 0;
  }

  /** A noisy probability that `good` holds, fixed for this (problem, prefix). */
  protected judge(good: boolean, problem: string, prefix: readonly string[]): number {
    const z = new Rng(hashSeed(this.name, this.seed, problem, ...prefix)).normal();
    return sigmoid((good ? this.margin : -this.margin) + this.noise * z);
  }

  async score(items: readonly ChainItem[], options: ScoreCallOptions = {}): Promise<StepScores[]> {
    checkItems(items, this.name);
    checkSignal(options.signal, 'options.signal', this.name);
    const problems = items.map((it, i) => this.index.get(it.problem, this.name, `items[${i}]`));
    options.signal?.throwIfAborted();
    return items.map((it, i) => ({ stepProbs: this.scoreChain(problems[i], it.steps) }));
  }

  protected abstract scoreChain(problem: ArithmeticProblem, steps: readonly string[]): number[];
}

/** A PRM that knows each step's correctness through Gaussian logit noise. */
export class NoisyPrmScorer extends NoisyScorer {
  readonly name = 'noisy-prm';

  constructor(options: NoisyScorerOptions) {
    super(options, 'NoisyPrmScorer');
  }

  protected scoreChain(problem: ArithmeticProblem, steps: readonly string[]): number[] {
    const labels = verifySteps(problem, steps);
    return labels.map((ok, i) => this.judge(ok, problem.problem, steps.slice(0, i + 1)));
  }
}

/**
 * Outcome-only (ORM-like): uninformative 0.5 on every step until one states an answer, then a
 * noisy judgment of that answer alone; how the chain got there is invisible to it.
 */
export class OutcomeScorer extends NoisyScorer {
  readonly name = 'outcome';

  constructor(options: NoisyScorerOptions) {
    super(options, 'OutcomeScorer');
  }

  protected scoreChain(problem: ArithmeticProblem, steps: readonly string[]): number[] {
    const probs: number[] = [];
    let answered: number | undefined;
    steps.forEach((step, i) => {
      if (answered === undefined && extractBoxed(step) !== undefined)
        answered = this.judge(finalAnswerCorrect(problem, steps.slice(0, i + 1)), problem.problem, steps.slice(0, i + 1));
      probs.push(answered ?? 0.5);
    });
    return probs;
  }
}
