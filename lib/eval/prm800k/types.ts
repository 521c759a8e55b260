// PRM800K (Lightman et al. 2023, "Let's Verify Step by Step") raw label records, one JSON object
// per line of data/phase{1,2}_{train,test}.jsonl, with the field names of OpenAI's README.

/** A labeler's verdict on one step: -1 wrong, 0 neutral (not wrong, no progress), +1 good. */
export type Prm800kRating = -1 | 0 | 1;

export type Prm800kFinishReason =
  /** Labeling stopped at the first wrong step (phase 2 always stops there). */
  | 'found_error'
  /** A step reached the correct final answer. */
  | 'solution'
  /** The labeler reported the problem itself as broken. */
  | 'bad_problem'
  /** The labeler gave up (too long, unclear instructions); the steps so far are still labelled. */
  | 'give_up';

export const PRM800K_FINISH_REASONS: readonly Prm800kFinishReason[] = ['found_error', 'solution', 'bad_problem', 'give_up'];

/** One candidate the model proposed for a step. */
export interface Prm800kCompletion {
  text: string;
  /** null when the candidate was shown but never rated. */
  rating: Prm800kRating | null;
  /** The labeler could not decide how to rate it (rare). */
  flagged: boolean | null;
}

/**
 * A step written by the labeler (phase 1 only, when no model candidate was acceptable). The
 * README describes a plain string; the released files carry an object with the text.
 */
export type Prm800kHumanCompletion =
  | string
  | { text: string; rating?: Prm800kRating | null; source?: string; flagged?: boolean | null; corrected_rating?: Prm800kRating | null };

export interface Prm800kStep {
  /** Candidates for this step; in phase 2 usually just the pre-generated one. */
  completions: Prm800kCompletion[];
  /** Set only when `chosen_completion` is null and the labeler wrote the step. */
  human_completion: Prm800kHumanCompletion | null;
  /** Index into `completions` of the step the trajectory continued with; null if none was chosen. */
  chosen_completion: number | null;
}

export interface Prm800kLabel {
  steps: Prm800kStep[];
  /** Milliseconds spent labelling. */
  total_time: number;
  finish_reason: Prm800kFinishReason;
}

export interface Prm800kQuestion {
  problem: string;
  /** MATH's reference solution. */
  ground_truth_solution?: string | null;
  ground_truth_answer: string | null;
  /** Phase 2: the full pre-generated solution that was labelled. */
  pre_generated_steps?: string[] | null;
  pre_generated_answer?: string | null;
  pre_generated_verifier_score?: number | null;
}

export interface Prm800kRecord {
  labeler: string;
  timestamp: string;
  /** Phase 2 generation; null in phase 1, -1 for the initial screening questions. */
  generation: number | null;
  is_quality_control_question: boolean;
  is_initial_screening_question: boolean;
  question: Prm800kQuestion;
  label: Prm800kLabel;
}
