// Incremental scoring through a scorer's prefix cache (a `Prm` on an ONNX model with
// past_key_values offers `prm.session(chain)`): each parent's chain is cached once, and its
// children's new steps run on top of it, so a search step costs only the new steps' tokens.
import type { ChainItem, StepScorer } from '../../interfaces.js';

export interface ScorerSession {
  score(
    continuations: readonly (readonly string[])[],
    options?: { keep?: boolean; signal?: AbortSignal },
  ): Promise<{ stepProbs: ArrayLike<number>; session?: ScorerSession }[]>;
}

/** A StepScorer with a prefix cache (duck-typed on `Prm.session`). */
export interface SessionScorer extends StepScorer {
  session(item: ChainItem, options?: { signal?: AbortSignal }): Promise<ScorerSession>;
  readonly backend?: { kvCache?: boolean };
}

/** The scorer, if it can score incrementally (a Prm without a KV cache cannot). */
export function asSessionScorer(scorer: StepScorer | undefined): SessionScorer | undefined {
  const s = scorer as SessionScorer | undefined;
  if (!s || typeof s.session !== 'function') return undefined;
  if (s.backend && s.backend.kvCache !== true) return undefined;
  return s;
}
