// Training data from the files prmkit reads, each record checked (and named by its file and
// line) before anything is returned:
// - JSONL of `{ problem, steps, labels }` (a label per step: boolean, number in [0, 1] or
//   null) for a PRM head, or `{ problem, solution | steps, label }` for an ORM head (a line may
//   carry both `labels` and `label`);
// - the output of `labelSteps` / `prmkit eval label` (hardLabels, softLabels per step);
// - PRM800K's JSONL (labels up to the first wrong step, as lib/eval reads it);
// - a ProcessBench directory (steps up to the first wrong one; the outcome is final_answer_correct).
// For an ORM head, chains with step labels give their outcome: the last step's label
// (labelSteps judges the final answer there), ProcessBench's final_answer_correct, or for
// PRM800K a chain that reached a solution with every step rated right.
import { statSync } from 'node:fs';
import { isRecord, readJsonLines } from '../eval/jsonl.js';
import type { JsonLine } from '../eval/jsonl.js';
import { parsePrm800kRecord } from '../eval/prm800k/parse.js';
import { prm800kChains } from '../eval/prm800k/chains.js';
import { readProcessBench } from '../eval/processbench/read.js';
import * as is from '../is.js';
import { checkOrmTrainItem, checkPrmItem } from './data.js';
import type { OrmTrainItem, PrmTrainItem, TrainData, TrainKind } from './data.js';

export type TrainSource = 'jsonl' | 'label-steps' | 'prm800k' | 'processbench';
export const TRAIN_SOURCES: readonly TrainSource[] = ['jsonl', 'label-steps', 'prm800k', 'processbench'];

export interface ReadTrainOptions {
  /** 'prm' (default, unless the file holds only outcome labels) or 'orm'. */
  kind?: TrainKind;
  /** Which labelSteps labels a PRM head learns: 'hard' (default; any rollout reached the answer) or 'soft' (the share that did). */
  labels?: 'hard' | 'soft';
  /** The file's layout (default: told from the path and the first record). */
  source?: TrainSource;
  /** Read only the first `limit` items. */
  limit?: number;
}

export interface TrainDataFile extends TrainData {
  source: TrainSource;
  path: string;
}

function detect(first: JsonLine | undefined, path: string): TrainSource {
  if (!first) throw new RangeError(`${path}: no records`);
  const v = first.value;
  const at = `${path}:${first.line}`;
  if (!isRecord(v)) throw new TypeError(`${at}: expected a JSON object, got ${is.show(v)}`);
  if (isRecord(v.question) && isRecord(v.label)) return 'prm800k';
  if ('hardLabels' in v || 'softLabels' in v) return 'label-steps';
  if ('labels' in v || 'label' in v) return 'jsonl';
  throw new TypeError(`${at}: cannot tell the layout: expected { problem, steps, labels } (PRM), { problem, solution, label } (ORM), labelSteps output (hardLabels, softLabels) or a PRM800K record; pass the source`);
}

const lineOf = (path: string, line: number) => `${path}:${line}`;

/** One JSONL line as a PRM or ORM item. */
function jsonlItem(v: unknown, at: string, kind: TrainKind): PrmTrainItem | OrmTrainItem {
  if (kind === 'orm') return checkOrmTrainItem(v, at).item;
  if (isRecord(v) && v.labels === undefined && v.label !== undefined)
    throw new TypeError(`${at}: labels is missing: this line has an outcome label only; train an ORM head (kind 'orm', --kind orm) or give a label per step`);
  return checkPrmItem(v, at).item;
}

function labelStepsItem(v: unknown, at: string, kind: TrainKind, labels: 'hard' | 'soft'): PrmTrainItem | OrmTrainItem {
  if (!isRecord(v)) throw new TypeError(`${at}: expected a labelled chain, got ${is.show(v)}`);
  const field = labels === 'hard' ? 'hardLabels' : 'softLabels';
  const item = checkPrmItem({ problem: v.problem, steps: v.steps, labels: v[field], ...(v.id !== undefined ? { id: v.id } : {}) }, at);
  const steps = item.item.steps;
  if (kind === 'prm') return item.item;
  if (steps.length === 0) throw new RangeError(`${at}: steps is empty: a chain without steps has no outcome`);
  return { problem: item.item.problem, steps, label: item.labels[steps.length - 1], ...(item.item.id !== undefined ? { id: item.item.id } : {}) };
}

async function readLines(path: string, o: Required<Pick<ReadTrainOptions, 'labels'>> & ReadTrainOptions): Promise<TrainDataFile> {
  const items: Array<PrmTrainItem | OrmTrainItem> = [];
  const lines: number[] = [];
  let source = o.source;
  let kind = o.kind;
  const limit = o.limit ?? Infinity;
  for await (const rec of readJsonLines(path)) {
    if (items.length >= limit) break;
    source ??= detect(rec, path);
    // a JSONL file whose first line has only an outcome label is ORM data
    kind ??= source === 'jsonl' && isRecord(rec.value) && rec.value.labels === undefined && rec.value.label !== undefined ? 'orm' : 'prm';
    const at = lineOf(path, rec.line);
    if (source === 'jsonl') items.push(jsonlItem(rec.value, at, kind));
    else if (source === 'label-steps') items.push(labelStepsItem(rec.value, at, kind, o.labels));
    else if (source === 'prm800k') {
      for (const c of prm800kChains(parsePrm800kRecord(rec.value, at), `${path}:${rec.line}`)) {
        items.push(kind === 'prm' ? { problem: c.problem, steps: c.steps, labels: c.labels, id: c.id } : { problem: c.problem, steps: c.steps, label: c.finishReason === 'solution' && c.labels.every(Boolean), id: c.id });
        lines.push(rec.line);
      }
      continue;
    } else throw new RangeError(`${path}: source ${source} is a directory of JSON files, not JSON Lines`);
    lines.push(rec.line);
  }
  if (items.length === 0) throw new RangeError(`${path}: no training records`);
  return { kind: kind ?? 'prm', items, where: (i) => lineOf(path, lines[i]), source: source!, path };
}

async function readProcessBenchDir(path: string, kind: TrainKind, limit: number): Promise<TrainDataFile> {
  const items: Array<PrmTrainItem | OrmTrainItem> = [];
  const names: string[] = [];
  for (const subset of await readProcessBench(path)) {
    for (const r of subset.records) {
      if (items.length >= limit) break;
      names.push(`${path} (${subset.name}, id ${r.id})`);
      if (kind === 'orm') items.push({ problem: r.problem, steps: r.steps, label: r.final_answer_correct, id: r.id });
      else {
        // nothing after the first wrong step is labelled
        const n = r.label === -1 ? r.steps.length : r.label + 1;
        items.push({ problem: r.problem, steps: r.steps.slice(0, n), labels: Array.from({ length: n }, (_, j) => r.label === -1 || j < r.label), id: r.id });
      }
    }
  }
  if (items.length === 0) throw new RangeError(`${path}: no ProcessBench records`);
  return { kind, items, where: (i) => names[i], source: 'processbench', path };
}

/** Reads and checks a training file (or a ProcessBench directory); see the top of this file. */
export async function readTrainData(path: string, options: ReadTrainOptions = {}): Promise<TrainDataFile> {
  is.string(path, 'path', { nonEmpty: true });
  const o = is.object(options, 'options');
  is.knownKeys(o, ['kind', 'labels', 'source', 'limit']);
  const kind = o.kind === undefined ? undefined : is.oneOf(o.kind, 'options.kind', ['prm', 'orm'] as const);
  const labels = o.labels === undefined ? 'hard' : is.oneOf(o.labels, 'options.labels', ['hard', 'soft'] as const);
  let source = o.source === undefined ? undefined : is.oneOf(o.source, 'options.source', TRAIN_SOURCES);
  const limit = o.limit === undefined ? Infinity : is.positiveInt(o.limit, 'options.limit');
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (e) {
    throw new TypeError(`cannot read training data ${path}: ${(e as Error).message}`);
  }
  if (dir) {
    source ??= 'processbench';
    if (source !== 'processbench') throw new TypeError(`${path} is a directory; only a ProcessBench directory (*.json subsets) is read as one`);
    return readProcessBenchDir(path, kind ?? 'prm', limit);
  }
  if (source === 'processbench') throw new TypeError(`source processbench reads a directory of subsets, but ${path} is a file`);
  return readLines(path, { kind, labels, source, limit: Number.isFinite(limit) ? limit : undefined });
}
