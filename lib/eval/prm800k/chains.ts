// PRM800K records → step-labelled chains. The trajectory follows the chosen completion at each
// step (or the labeler's own step); supervision stops at the first step labelled wrong, since
// nothing after a wrong step can be "still correct".
import type { ChainItem } from '../../interfaces.js';
import { boolean, invalidType, keysOf, knownKeys, object, oneOf } from '../../is.js';
import { PRM800K_FINISH_REASONS } from './types.js';
import type { Prm800kFinishReason, Prm800kHumanCompletion, Prm800kRating, Prm800kRecord } from './types.js';

export interface Prm800kChainOptions {
  /** Count rating 0 (neutral) as a correct step (default true, as the paper's PRM training did). */
  neutralIsCorrect?: boolean;
  /**
   * What to do with a step the labeler wrote ('include', the default, rates it +1: a labeler
   * only writes a step when it is right; 'stop' ends the chain before it, keeping only model text).
   */
  humanSteps?: 'include' | 'stop';
  /** Also emit one chain per rated alternative completion: the supervised prefix plus that step. */
  alternatives?: boolean;
  /** Which finish reasons to keep (default all but 'bad_problem'). */
  finishReasons?: readonly Prm800kFinishReason[];
  /** Skip the quality-control and initial-screening questions (served to every labeler). */
  skipControlQuestions?: boolean;
}

export interface Prm800kChain extends ChainItem {
  id: string;
  problem: string;
  steps: string[];
  /** The rating of each step (a labeler-written step counts as +1). */
  ratings: Prm800kRating[];
  /** Step correct? under the neutral convention; only the last can be false. */
  labels: boolean[];
  /** Index of the earliest wrong step, -1 if none (the ProcessBench label). */
  firstError: number;
  /** Indices of labeler-written steps. */
  humanSteps: number[];
  groundTruthAnswer: string | null;
  finishReason: Prm800kFinishReason;
  /** For an alternative chain: the step and completion it branches at. */
  alternative?: { step: number; completion: number };
}

const DEFAULT_FINISH: readonly Prm800kFinishReason[] = ['found_error', 'solution', 'give_up'];

function humanText(h: Prm800kHumanCompletion): string {
  return typeof h === 'string' ? h : h.text;
}

export const CHAIN_OPTION_KEYS = keysOf<Prm800kChainOptions>()({ neutralIsCorrect: true, humanSteps: true, alternatives: true, finishReasons: true, skipControlQuestions: true });

/** The chain options, and `extra` keys the caller reads itself (a reader's `limit`). */
export function checkChainOptions(o: Prm800kChainOptions, extra: readonly string[] = []): Required<Prm800kChainOptions> {
  knownKeys(object(o, 'options'), [...CHAIN_OPTION_KEYS, ...extra]);
  for (const k of ['neutralIsCorrect', 'alternatives', 'skipControlQuestions'] as const) if (o[k] !== undefined) boolean(o[k], k);
  if (o.humanSteps !== undefined) oneOf(o.humanSteps, 'humanSteps', ['include', 'stop'] as const);
  const finishReasons = o.finishReasons ?? DEFAULT_FINISH;
  if (!Array.isArray(finishReasons)) throw invalidType('finishReasons', 'an array', finishReasons);
  finishReasons.forEach((r, i) => oneOf(r, `finishReasons[${i}]`, PRM800K_FINISH_REASONS));
  return {
    neutralIsCorrect: o.neutralIsCorrect ?? true,
    humanSteps: o.humanSteps ?? 'include',
    alternatives: o.alternatives ?? false,
    finishReasons,
    skipControlQuestions: o.skipControlQuestions ?? false,
  };
}

/**
 * The chains one record supervises: its trajectory (empty records give none) and, with
 * `alternatives`, one chain per rated non-chosen completion. Ids are `id`, `id/s<step>c<completion>`.
 */
export function prm800kChains(record: Prm800kRecord, id: string, options: Prm800kChainOptions = {}): Prm800kChain[] {
  const o = checkChainOptions(options);
  const { label, question } = record;
  if (!o.finishReasons.includes(label.finish_reason)) return [];
  if (o.skipControlQuestions && (record.is_quality_control_question || record.is_initial_screening_question)) return [];
  const good = (r: Prm800kRating) => r === 1 || (r === 0 && o.neutralIsCorrect);
  const base = { problem: question.problem, groundTruthAnswer: question.ground_truth_answer, finishReason: label.finish_reason };

  const steps: string[] = [];
  const ratings: Prm800kRating[] = [];
  const humanSteps: number[] = [];
  const out: Prm800kChain[] = [];
  const branch = (s: number, skip: number | null) => {
    if (!o.alternatives) return;
    label.steps[s]!.completions.forEach((c, j) => {
      if (j === skip || c.rating === null) return;
      const ok = good(c.rating);
      out.push({
        ...base,
        id: `${id}/s${s}c${j}`,
        steps: [...steps, c.text],
        ratings: [...ratings, c.rating],
        labels: [...ratings.map(() => true), ok],
        firstError: ok ? -1 : steps.length,
        humanSteps: humanSteps.slice(),
        alternative: { step: s, completion: j },
      });
    });
  };

  let wrong = false;
  for (let s = 0; s < label.steps.length && !wrong; s++) {
    const step = label.steps[s]!;
    let text: string;
    let rating: Prm800kRating | null;
    let chosen: number | null = step.chosen_completion;
    if (chosen !== null) {
      ({ text, rating } = step.completions[chosen]!);
    } else if (step.human_completion !== null) {
      branch(s, null); // the model's candidates here were passed over; they are still rated
      if (o.humanSteps === 'stop') break;
      text = humanText(step.human_completion);
      rating = 1;
      humanSteps.push(steps.length);
    } else {
      // nothing chosen: labelling ended here; a wrong candidate is the error that ended it
      chosen = step.completions.findIndex((c) => c.rating === -1 || (c.rating === 0 && !o.neutralIsCorrect));
      branch(s, chosen < 0 ? null : chosen);
      if (chosen < 0) break;
      ({ text, rating } = step.completions[chosen]!);
    }
    if (rating === null) break; // an unrated step ends supervision
    if (chosen !== null && step.chosen_completion !== null) branch(s, chosen);
    steps.push(text);
    ratings.push(rating);
    wrong = !good(rating);
  }
  if (steps.length > 0) {
    out.unshift({
      ...base,
      id,
      steps,
      ratings,
      labels: ratings.map(good),
      firstError: wrong ? steps.length - 1 : -1,
      humanSteps,
    });
  }
  return out;
}
