// Incremental scoring through a scorer's prefix cache (a `Prm` on an ONNX model with
// past_key_values offers `prm.session(chain)`): each parent's chain is cached once, and its
// children's new steps run on top of it, so a search step costs only the new steps' tokens.
// All parents of one round go to the scorer together, so their rows share backbone calls
// instead of one call per parent.
import type { ChainItem, StepScorer } from '../../interfaces.js';

export interface SessionScoreOptions {
  /** Return a session per continuation, to be scored on top of later. */
  keep?: boolean;
  signal?: AbortSignal;
}

export interface SessionResult {
  stepProbs: ArrayLike<number>;
  session?: ScorerSession;
}

export interface ScorerSession {
  score(continuations: readonly (readonly string[])[], options?: SessionScoreOptions): Promise<SessionResult[]>;
}

/** Continuations to score on top of one cached chain. */
export interface SessionEntry {
  session: ScorerSession;
  continuations: readonly (readonly string[])[];
}

/** Scores many sessions' continuations in shared backbone calls: one result list per entry, in order. */
export type ScoreSessions = (entries: readonly SessionEntry[], options?: SessionScoreOptions) => Promise<SessionResult[][]>;

/** A StepScorer with a prefix cache (duck-typed on `Prm.session`). */
export interface SessionScorer extends StepScorer {
  session(item: ChainItem, options?: { signal?: AbortSignal }): Promise<ScorerSession>;
  /**
   * Optional batched form of `session.score` over many sessions. Without it, sessions whose
   * class has a static `scoreMany(entries, options)` (like `PrmSession`) are batched through
   * that; otherwise each session is scored on its own.
   */
  scoreSessions?: ScoreSessions;
  readonly backend?: { kvCache?: boolean };
}

/** The scorer, if it can score incrementally (a Prm without a KV cache cannot). */
export function asSessionScorer(scorer: StepScorer | undefined): SessionScorer | undefined {
  const s = scorer as SessionScorer | undefined;
  if (!s || typeof s.session !== 'function') return undefined;
  if (s.backend && s.backend.kvCache !== true) return undefined;
  return s;
}

/** The batched entry point the sessions share, if any: their class's static `scoreMany`. */
function sharedScoreMany(entries: readonly SessionEntry[]): ScoreSessions | undefined {
  const ctor = (entries[0].session as { constructor?: unknown }).constructor as { scoreMany?: unknown } | undefined;
  if (!ctor || typeof ctor.scoreMany !== 'function') return undefined;
  // a class's scoreMany only knows its own sessions
  if (!entries.every((e) => (e.session as { constructor?: unknown }).constructor === ctor)) return undefined;
  const scoreMany = ctor.scoreMany as ScoreSessions;
  return (es, o) => scoreMany.call(ctor, es, o);
}

/**
 * Scores every entry's continuations: in one batched call when the scorer or its sessions
 * offer one, else one `session.score` per entry, all in flight together. Results are
 * checked against the request shape, so a misbehaving scorer fails with a clear error.
 */
export async function scoreSessions(
  scorer: SessionScorer,
  entries: readonly SessionEntry[],
  options: SessionScoreOptions,
): Promise<SessionResult[][]> {
  if (entries.length === 0) return [];
  const batched = typeof scorer.scoreSessions === 'function'
    ? (scorer.scoreSessions.bind(scorer) as ScoreSessions)
    : sharedScoreMany(entries);
  const out = batched
    ? await batched(entries, options)
    : await Promise.all(entries.map((e) => e.session.score(e.continuations, options)));
  if (!Array.isArray(out) || out.length !== entries.length)
    throw new Error(`scorer '${scorer.name}': sessions returned ${Array.isArray(out) ? out.length : typeof out} result lists for ${entries.length} sessions`);
  out.forEach((res, i) => {
    const want = entries[i].continuations.length;
    if (!Array.isArray(res) || res.length !== want)
      throw new Error(`scorer '${scorer.name}': session ${i} returned ${Array.isArray(res) ? res.length : typeof res} results for ${want} continuations`);
  });
  return out;
}
