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
