// Exact verifiers as step scorers: a checker decides each step, so probabilities are 0 or 1
// (or a chosen confidence). The ceiling any learned PRM is measured against.
import { invalidType, knownKeys, number, object } from '../../is.js';
import type { ChainItem, ScoreCallOptions, StepScorer, StepScores } from '../../interfaces.js';
import { checkItems, checkSignal } from '../engine/validate.js';

/** Per-step labels: label[i] = steps 0..i are all correct. */
export type StepVerifier = (item: ChainItem) => readonly boolean[] | Promise<readonly boolean[]>;

export interface VerifierScorerOptions {
  verify: StepVerifier;
  name?: string;
  /** Probability given to a verified step (1 - it to a failed one), in [0.5, 1]; default 1. */
  confidence?: number;
}

export class VerifierScorer implements StepScorer {
  readonly name: string;
  private readonly verify: StepVerifier;
  private readonly confidence: number;

  constructor(options: VerifierScorerOptions) {
    knownKeys(object(options, 'VerifierScorer: options'), ['verify', 'confidence', 'name'], 'VerifierScorer: options');
    if (typeof options.verify !== 'function') throw invalidType('VerifierScorer: options.verify', 'a function', options.verify);
    const c = number(options.confidence ?? 1, 'VerifierScorer: options.confidence', 0.5, 1);
    this.verify = options.verify;
    this.confidence = c;
    this.name = options.name ?? 'verifier';
  }

  async score(items: readonly ChainItem[], options: ScoreCallOptions = {}): Promise<StepScores[]> {
    checkItems(items, this.name);
    checkSignal(options.signal, 'options.signal', this.name);
    options.signal?.throwIfAborted();
    const out: StepScores[] = [];
    for (let i = 0; i < items.length; i++) {
      const labels = await this.verify(items[i]);
      if (!Array.isArray(labels) || labels.length !== items[i].steps.length)
        throw new Error(`${this.name}: verify() returned ${Array.isArray(labels) ? labels.length : typeof labels} labels for ${items[i].steps.length} steps of items[${i}]`);
      out.push({ stepProbs: labels.map((ok) => (ok ? this.confidence : 1 - this.confidence)) });
    }
    return out;
  }
}
