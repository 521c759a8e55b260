// Validation of raw PRM800K records: every field the conversion relies on is checked, with the
// line and path of the first thing that is off.
import { isRecord } from '../jsonl.js';
import { PRM800K_FINISH_REASONS } from './types.js';
import type { Prm800kCompletion, Prm800kHumanCompletion, Prm800kRecord, Prm800kStep } from './types.js';

const RATINGS = new Set([-1, 0, 1]);

function fail(where: string, what: string): never {
  throw new TypeError(`${where}: ${what}`);
}

function optionalType(v: unknown, where: string, type: 'string' | 'number', nullable = true): void {
  if (v === undefined || (nullable && v === null)) return;
  if (typeof v !== type) fail(where, `must be a ${type}${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
}

function parseCompletion(c: unknown, where: string): Prm800kCompletion {
  if (!isRecord(c)) fail(where, 'must be an object { text, rating, flagged }');
  if (typeof c.text !== 'string') fail(`${where}.text`, 'must be a string');
  if (c.rating !== null && !RATINGS.has(c.rating as number)) fail(`${where}.rating`, `must be -1, 0, 1 or null, got ${JSON.stringify(c.rating)}`);
  if (c.flagged !== undefined && c.flagged !== null && typeof c.flagged !== 'boolean') fail(`${where}.flagged`, 'must be a boolean or null');
  return { text: c.text, rating: c.rating as Prm800kCompletion['rating'], flagged: (c.flagged as boolean | null | undefined) ?? null };
}

function parseHuman(h: unknown, where: string): Prm800kHumanCompletion | null {
  if (h === null || h === undefined || typeof h === 'string') return h ?? null;
  if (!isRecord(h) || typeof h.text !== 'string') fail(where, 'must be null, a string, or an object with a string text');
  return h as Prm800kHumanCompletion;
}

function parseStep(s: unknown, where: string): Prm800kStep {
  if (!isRecord(s)) fail(where, 'must be an object { completions, human_completion, chosen_completion }');
  if (!Array.isArray(s.completions)) fail(`${where}.completions`, 'must be an array');
  const completions = s.completions.map((c, j) => parseCompletion(c, `${where}.completions[${j}]`));
  const chosen = s.chosen_completion ?? null;
  if (chosen !== null && (typeof chosen !== 'number' || !Number.isInteger(chosen) || chosen < 0 || chosen >= completions.length))
    fail(`${where}.chosen_completion`, `must be null or an index below ${completions.length}, got ${JSON.stringify(chosen)}`);
  const human = parseHuman(s.human_completion, `${where}.human_completion`);
  return { completions, human_completion: human, chosen_completion: chosen as number | null };
}

/** Checks one parsed JSON line against the PRM800K record format. `where` prefixes errors. */
export function parsePrm800kRecord(value: unknown, where = 'PRM800K record'): Prm800kRecord {
  if (!isRecord(value)) fail(where, 'must be an object');
  const { labeler, timestamp, generation, is_quality_control_question, is_initial_screening_question, question, label } = value;
  if (typeof labeler !== 'string') fail(`${where}: labeler`, 'must be a string');
  if (typeof timestamp !== 'string') fail(`${where}: timestamp`, 'must be a string');
  if (generation !== null && (typeof generation !== 'number' || !Number.isInteger(generation)))
    fail(`${where}: generation`, `must be an integer or null, got ${JSON.stringify(generation)}`);
  if (typeof is_quality_control_question !== 'boolean') fail(`${where}: is_quality_control_question`, 'must be a boolean');
  if (typeof is_initial_screening_question !== 'boolean') fail(`${where}: is_initial_screening_question`, 'must be a boolean');
  if (!isRecord(question)) fail(`${where}: question`, 'must be an object');
  if (typeof question.problem !== 'string') fail(`${where}: question.problem`, 'must be a string');
  optionalType(question.ground_truth_answer, `${where}: question.ground_truth_answer`, 'string');
  optionalType(question.ground_truth_solution, `${where}: question.ground_truth_solution`, 'string');
  optionalType(question.pre_generated_answer, `${where}: question.pre_generated_answer`, 'string');
  optionalType(question.pre_generated_verifier_score, `${where}: question.pre_generated_verifier_score`, 'number');
  const pre = question.pre_generated_steps;
  if (pre !== undefined && pre !== null && !(Array.isArray(pre) && pre.every((s) => typeof s === 'string')))
    fail(`${where}: question.pre_generated_steps`, 'must be null or an array of strings');
  if (!isRecord(label)) fail(`${where}: label`, 'must be an object');
  if (!Array.isArray(label.steps)) fail(`${where}: label.steps`, 'must be an array');
  if (!PRM800K_FINISH_REASONS.includes(label.finish_reason as never))
    fail(`${where}: label.finish_reason`, `must be one of ${PRM800K_FINISH_REASONS.join(', ')}, got ${JSON.stringify(label.finish_reason)}`);
  if (typeof label.total_time !== 'number') fail(`${where}: label.total_time`, 'must be a number (milliseconds)');
  const steps = label.steps.map((s, i) => parseStep(s, `${where}: label.steps[${i}]`));
  return {
    labeler,
    timestamp,
    generation: generation as number | null,
    is_quality_control_question,
    is_initial_screening_question,
    question: { ...(question as unknown as Prm800kRecord['question']), ground_truth_answer: (question.ground_truth_answer as string | null | undefined) ?? null },
    label: { steps, total_time: label.total_time, finish_reason: label.finish_reason as Prm800kRecord['label']['finish_reason'] },
  };
}
