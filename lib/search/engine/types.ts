// Options and results shared by every strategy.
import type { Aggregation } from '../../kernels/types.js';
import type { ChainItem, ChainRanker, Generator, StepScorer } from '../../interfaces.js';
import type { AnswerExtractor } from '../answer.js';
import type { SearchBudget, SearchUsage } from './budget.js';
import type { AnswerTally, CandidateChain, SelectionMethod } from './select.js';
import type { SearchTreeJSON } from './tree.js';

/** What to solve: a problem statement, or a chain whose steps are a given prefix. */
export type SearchInput = string | ChainItem;

export interface SearchOptions {
  generator: Generator;
  /**
   * Required by every strategy that ranks steps or chains (all but majority-vote best-of-N and
   * 1-sample greedy). An outcome reward model (a `ChainRanker` of kind 'orm', e.g. an `Orm`)
   * scores whole solutions only: best-of-N takes one, and a chain's score is then the ORM's.
   */
  scorer?: StepScorer | ChainRanker;
  /** How step probabilities become a chain score. Each strategy documents its default. */
  aggregation?: Aggregation;
  /** How the final answer is picked from finished chains. Each strategy documents its default. */
  selection?: SelectionMethod;
  /** Most generated steps per chain; default 16. */
  maxSteps?: number;
  /** max_tokens of one step; default 256. Token budgets charge this worst case up front. */
  maxStepTokens?: number;
  /** Sampling temperature; default 0.8 (search needs diverse proposals). */
  temperature?: number;
  topP?: number;
  /** Stop sequences ending a step; default ["\n\n"]. */
  stop?: readonly string[];
  /** Makes the search reproducible: every generator call gets a seed derived from it. */
  seed?: number;
  budget?: SearchBudget;
  signal?: AbortSignal;
  onProgress?: (event: SearchEvent) => void;
  /** Final-answer extraction for voting; default `\boxed{}` then last number. */
  answerExtractor?: AnswerExtractor;
  /** End a chain at a step that boxes an answer (besides the generator saying it ended); default true. */
  stopOnAnswer?: boolean;
  /**
   * Use the scorer's prefix cache when it has one (`Prm.session` on a model with a KV cache),
   * so each step runs only the new step's tokens; default true.
   */
  incremental?: boolean;
}

/** The options a strategy adds to the shared ones (what it passes to SearchRun as `keys`). */
export type Own<O extends SearchOptions> = Omit<O, keyof SearchOptions>;

export type StopReason =
  /** The strategy finished its work. */
  | 'complete'
  /** The compute budget ran out. */
  | 'budget'
  /** Chains reached maxSteps unfinished. */
  | 'maxSteps';

export interface SearchResult {
  strategy: string;
  problem: string;
  /** The selected final answer (undefined if no chain stated one). */
  answer?: string;
  /** The selected chain. */
  best?: CandidateChain;
  /** The chains the selection chose from. */
  candidates: CandidateChain[];
  /** Answers with vote counts and score sums. */
  tally: AnswerTally[];
  selection: SelectionMethod;
  aggregation: Aggregation;
  stopReason: StopReason;
  usage: SearchUsage;
  tree: SearchTreeJSON;
  seed?: number;
}

export type SearchEvent =
  | { type: 'generate'; strategy: string; round: number; prefixes: number; continuations: number; tokens: number; usage: SearchUsage }
  | { type: 'score'; strategy: string; round: number; chains: number; newSteps: number; usage: SearchUsage }
  | { type: 'round'; strategy: string; round: number; live: number; finished: number; usage: SearchUsage }
  | { type: 'done'; strategy: string; stopReason: StopReason; answer?: string; usage: SearchUsage };
