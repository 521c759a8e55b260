// What a head is trained on: chains with a label per step (a PRM head, read at each step's
// boundary) or solutions with an outcome label (an ORM head, read at the last token). Labels
// are P(correct): true/false, or a soft label in [0, 1] (the share of Monte-Carlo rollouts
// from the step that reached the answer); a step labelled null is not trained on. Every item
// is checked before any work, and errors name the item and field (`items[3].labels[1]`, or a
// file's line through `where`).
import { PrmInputError, PrmInputTypeError } from '../errors.js';
import { isObject, show } from '../is.js';

/** A chain with one label per step (PRM head). */
export interface PrmTrainItem {
  problem: string;
  steps: readonly string[];
  labels: ReadonlyArray<boolean | number | null>;
  id?: string;
}

/** A solution (one text, or its steps joined the format's way) with its outcome (ORM head). */
export interface OrmTrainItem {
  problem: string;
  solution?: string;
  steps?: readonly string[];
  label: boolean | number;
  id?: string;
}

export type TrainKind = 'prm' | 'orm';

/** Training items with where each came from, for messages (`file:line`). */
export interface TrainData {
  kind: TrainKind;
  items: ReadonlyArray<PrmTrainItem | OrmTrainItem>;
  /** Where item `i` came from (default `items[i]`). */
  where?: (i: number) => string;
}

/** A label as P(correct), or an error message. */
export function labelValue(v: unknown): number | string {
  if (v === true) return 1;
  if (v === false) return 0;
  if (typeof v === 'number' && v >= 0 && v <= 1) return v;
  return `must be a boolean or a number in [0, 1], got ${show(v)}`;
}

/** An input error at `field` of the item `at` names (a path into `items`, or a file's line). */
export function itemError(at: string, field: string, message: string, type = false): Error {
  const path = field ? `${at}.${field}` : at;
  if (/^items\[\d+\]$/.test(at)) return type ? new PrmInputTypeError(path, message) : new PrmInputError(path, message);
  const text = `${at}: ${field || 'the record'} ${message}`;
  return type ? new TypeError(text) : new RangeError(text);
}

function checkText(v: unknown, at: string, field: string): string {
  if (typeof v !== 'string') throw itemError(at, field, `must be a string, got ${show(v)}`, true);
  return v;
}

function checkSteps(v: unknown, at: string): string[] {
  if (!Array.isArray(v)) throw itemError(at, 'steps', `must be an array of strings, got ${show(v)}`, true);
  v.forEach((s, j) => checkText(s, at, `steps[${j}]`));
  return v as string[];
}

/** Checks one PRM item; returns its labels as P(correct) (NaN: not trained on). */
export function checkPrmItem(v: unknown, at: string): { item: PrmTrainItem; labels: Float64Array } {
  if (!isObject(v)) throw itemError(at, '', `must be an object { problem, steps, labels }, got ${show(v)}`, true);
  checkText(v.problem, at, 'problem');
  const steps = checkSteps(v.steps, at);
  if (!Array.isArray(v.labels)) throw itemError(at, 'labels', `must be an array with one label per step (booleans, numbers in [0, 1] or null), got ${show(v.labels)}`, true);
  if (v.labels.length !== steps.length) throw itemError(at, 'labels', `has ${v.labels.length} entries for ${steps.length} steps; give one label per step (null for a step not to train on)`);
  const labels = new Float64Array(steps.length);
  v.labels.forEach((l, j) => {
    if (l === null) return void (labels[j] = NaN);
    const y = labelValue(l);
    if (typeof y === 'string') throw itemError(at, `labels[${j}]`, y, typeof l !== 'number');
    labels[j] = y;
  });
  if (v.id !== undefined) checkText(v.id, at, 'id');
  return { item: v as unknown as PrmTrainItem, labels };
}

/** Checks one ORM item; returns its outcome as P(correct). */
export function checkOrmTrainItem(v: unknown, at: string): { item: OrmTrainItem; label: number } {
  if (!isObject(v)) throw itemError(at, '', `must be an object { problem, solution, label }, got ${show(v)}`, true);
  checkText(v.problem, at, 'problem');
  if (v.solution !== undefined && v.steps !== undefined) throw itemError(at, '', 'has both solution and steps; give one');
  if (v.solution !== undefined) checkText(v.solution, at, 'solution');
  else if (v.steps !== undefined) checkSteps(v.steps, at);
  else throw itemError(at, 'solution', 'is missing: give the solution as one text (solution) or as steps', true);
  if (v.label === undefined) throw itemError(at, 'label', 'is missing: the outcome (true/false, or P(correct) in [0, 1])', true);
  const y = labelValue(v.label);
  if (typeof y === 'string') throw itemError(at, 'label', y, typeof v.label !== 'number');
  if (v.id !== undefined) checkText(v.id, at, 'id');
  return { item: v as unknown as OrmTrainItem, label: y };
}

/** Every item checked, in order: PRM labels per step, or ORM outcomes. */
export function checkTrainData(data: TrainData): { kind: TrainKind; labels: Float64Array[] } {
  if (!isObject(data)) throw new TypeError(`data must be { kind, items }, got ${show(data)}`);
  if (data.kind !== 'prm' && data.kind !== 'orm') throw new RangeError(`data.kind must be 'prm' or 'orm', got ${show(data.kind)}`);
  if (!Array.isArray(data.items)) throw new TypeError(`data.items must be an array, got ${show(data.items)}`);
  if (data.items.length === 0) throw new RangeError('data.items is empty: nothing to train on');
  const where = data.where ?? ((i: number) => `items[${i}]`);
  const labels = data.items.map((it, i) => (data.kind === 'prm' ? checkPrmItem(it, where(i)).labels : Float64Array.of(checkOrmTrainItem(it, where(i)).label)));
  return { kind: data.kind, labels };
}
