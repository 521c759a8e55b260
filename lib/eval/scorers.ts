// Reference scorers for sanity lines: the oracle (reads the labels; any sound evaluator must
// give it F1 100) and always-correct (must score 0 on erroneous samples).
import type { ChainItem, ScoreCallOptions, StepScorer, StepScores } from '../interfaces.js';

/** Anything with a chain id and the index of its earliest wrong step (-1: none). */
export interface LabelledChainRef {
  id: string;
  label: number;
  steps: readonly unknown[];
}

/** P = 1 before the labelled error, 0 from it on. Items are matched by `id`. */
export class OracleScorer implements StepScorer {
  readonly name = 'oracle';
  readonly #labels = new Map<string, { label: number; steps: number }>();

  constructor(chains: Iterable<LabelledChainRef>) {
    for (const c of chains) {
      if (typeof c.id !== 'string' || !c.id) throw new TypeError('oracle: every labelled chain needs a string id');
      if (!Number.isInteger(c.label) || c.label < -1 || c.label >= c.steps.length)
        throw new RangeError(`oracle: label ${String(c.label)} of id ${c.id} is outside -1..${c.steps.length - 1}`);
      this.#labels.set(c.id, { label: c.label, steps: c.steps.length });
    }
  }

  async score(items: readonly ChainItem[], options?: ScoreCallOptions): Promise<StepScores[]> {
    options?.signal?.throwIfAborted();
    return items.map((item, i) => {
      const known = item.id === undefined ? undefined : this.#labels.get(item.id);
      if (!known) throw new RangeError(`oracle: items[${i}] has ${item.id === undefined ? 'no id' : `unknown id ${item.id}`}; it only knows labelled chains`);
      if (known.steps !== item.steps.length)
        throw new RangeError(`oracle: id ${item.id} has ${item.steps.length} steps, the labelled chain has ${known.steps}`);
      const error = known.label === -1 ? item.steps.length : known.label;
      return { stepProbs: item.steps.map((_, s) => (s < error ? 1 : 0)) };
    });
  }
}

/** Calls every step correct: P = 1 everywhere. */
export class AlwaysCorrectScorer implements StepScorer {
  readonly name = 'always-correct';
  async score(items: readonly ChainItem[], options?: ScoreCallOptions): Promise<StepScores[]> {
    options?.signal?.throwIfAborted();
    return items.map((item) => ({ stepProbs: item.steps.map(() => 1) }));
  }
}
