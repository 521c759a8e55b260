// The interfaces that connect prmkit's parts (ARCHITECTURE.md, "Data flow"). Scorers,
// generators and search strategies meet only here.

/** One reasoning chain: a problem and the steps written so far. */
export interface ChainItem {
  problem: string;
  steps: readonly string[];
  /** Caller's id, carried through to results. */
  id?: string;
}

export interface ScoreCallOptions {
  signal?: AbortSignal;
}

/**
 * How a chain's step probabilities reduce to one score: every layer names these (the kernels
 * compute them, a format states its authors' choice, the service and search accept them).
 */
export type Aggregation = 'prod' | 'min' | 'last' | 'mean' | 'geomean';
export const AGGREGATIONS: readonly Aggregation[] = ['prod', 'min', 'last', 'mean', 'geomean'];

/** A scorer's verdict on one chain: P(chain still correct) after each step, in [0, 1]. */
export interface StepScores {
  stepProbs: number[];
}

/**
 * Anything that can judge steps: a local ONNX PRM, a remote vLLM PRM, an LLM judge, an
 * exact verifier. Results come back in the order of `items`, one probability per step.
 * (`Prm.score` returns richer objects, `{ stepProbs, score, firstError, ... }`, so a `Prm`
 * is a StepScorer as it is.)
 */
export interface StepScorer {
  readonly name: string;
  score(items: readonly ChainItem[], options?: ScoreCallOptions): Promise<StepScores[]>;
}

/** A candidate's place in a ranking: its index among the candidates and the score it was ranked by. */
export interface RankedChain {
  index: number;
  score: number;
}

export interface RankOptions {
  /** Keep the best `topN` (default: all). */
  topN?: number;
  signal?: AbortSignal;
}

/**
 * What ranks whole chains: best-of-N selection and the service hold one. A PRM (`Prm`) ranks
 * a chain by the aggregate of its step probabilities; an ORM (`Orm`) has no step scores and
 * ranks by its one score per solution: the probability where the model defines one, else the
 * raw reward.
 */
export interface ChainRanker {
  readonly name: string;
  /** 'prm': scores every step; 'orm': scores a whole solution once. */
  readonly kind: 'prm' | 'orm';
  /**
   * 'probability': chain scores are in [0, 1] (their sums are meaningful votes); 'reward':
   * raw rewards, of which only the order means anything.
   */
  readonly chainScale: 'probability' | 'reward';
  /** One score per chain, higher is better, in the order of `items`; NaN for a chain that cannot be scored. */
  chainScores(items: readonly ChainItem[], options?: ScoreCallOptions): Promise<number[]>;
  /** Candidate solutions (step lists) of one problem, best first. */
  rerank(problem: string, candidates: readonly (readonly string[])[], options?: RankOptions): Promise<RankedChain[]>;
}

/** A request for next steps of one partial chain. */
export interface GenerateRequest {
  problem: string;
  steps: readonly string[];
  /** How many continuations to propose. */
  n: number;
}

export interface GenerateOptions {
  temperature?: number;
  topP?: number;
  /** Upper bound on generated tokens per continuation. */
  maxTokens?: number;
  /** Stop sequences; a step generator stops at the step separator. */
  stop?: readonly string[];
  seed?: number;
  signal?: AbortSignal;
}

/** One proposed next step. */
export interface Continuation {
  text: string;
  /** Tokens generated for it (as reported by the server, or counted). */
  tokens: number;
  /** 'stop': ended at a stop sequence (a step); 'length': hit maxTokens; 'eos': the model ended the solution. */
  finishReason: 'stop' | 'length' | 'eos';
}

/** A policy that proposes next steps for many prefixes at once. */
export interface Generator {
  readonly name: string;
  generate(requests: readonly GenerateRequest[], options?: GenerateOptions): Promise<Continuation[][]>;
}
