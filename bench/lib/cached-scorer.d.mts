// Types of cached-scorer.mjs, for the tests that import it.
import type { ChainItem, StepScorer, StepScores } from '../../lib/interfaces.js';

export class CachedScorer implements StepScorer {
  constructor(inner: StepScorer, options?: { prefixClosed?: boolean; maxBatch?: number });
  readonly name: string;
  readonly stats: { requested: number; scored: number; calls: number };
  score(items: readonly ChainItem[]): Promise<StepScores[]>;
}
