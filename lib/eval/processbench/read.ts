// ProcessBench (Zheng et al. 2024) on disk: one JSON array per subset (gsm8k.json, math.json,
// olympiadbench.json, omnimath.json), records {id, generator, problem, steps, final_answer_correct,
// label}, where label is the index of the earliest wrong step and -1 when every step is right.
import { invalidType, knownKeys, object, positiveInt, show } from '../../is.js';
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { isRecord } from '../jsonl.js';

/** One ProcessBench sample, with the dataset's own field names. */
export interface ProcessBenchRecord {
  id: string;
  /** The policy model that wrote the solution. */
  generator: string;
  problem: string;
  steps: string[];
  final_answer_correct: boolean;
  /** Index of the earliest wrong step; -1 if the whole solution is right. */
  label: number;
}

export interface ProcessBenchSubset {
  /** The file's base name: gsm8k, math, olympiadbench, omnimath. */
  name: string;
  records: ProcessBenchRecord[];
}

export interface ReadProcessBenchOptions {
  /** Only these subsets, in this order (each must exist). Default: every *.json, sorted. */
  subsets?: readonly string[];
  /** Keep only the first `limit` records of each subset (quick runs). */
  limit?: number;
}

/** Validates one subset's parsed JSON; errors name the subset and the record. */
export function parseProcessBenchSubset(name: string, data: unknown): ProcessBenchSubset {
  if (typeof name !== 'string' || !name) throw new TypeError('subset name must be a non-empty string');
  if (!Array.isArray(data)) throw new TypeError(`ProcessBench subset ${name}: expected a JSON array of records`);
  const seen = new Set<string>();
  const records = data.map((r: unknown, i): ProcessBenchRecord => {
    const where = `ProcessBench subset ${name}, record ${i}`;
    if (!isRecord(r)) throw new TypeError(`${where}: expected an object`);
    const { id, generator, problem, steps, final_answer_correct, label } = r;
    if (typeof id !== 'string' || !id) throw new TypeError(`${where}: id must be a non-empty string`);
    const at = `${where} (id ${id})`;
    if (seen.has(id)) throw new TypeError(`${at}: duplicate id`);
    seen.add(id);
    if (typeof problem !== 'string') throw new TypeError(`${at}: problem must be a string`);
    if (!Array.isArray(steps) || !steps.every((s) => typeof s === 'string'))
      throw new TypeError(`${at}: steps must be an array of strings`);
    if (typeof label !== 'number' || !Number.isInteger(label))
      throw new TypeError(`${at}: label must be an integer, got ${show(label)}`);
    if (label < -1 || label >= steps.length)
      throw new RangeError(`${at}: label ${label} is outside -1..${steps.length - 1} (the chain has ${steps.length} steps)`);
    if (generator !== undefined && typeof generator !== 'string') throw new TypeError(`${at}: generator must be a string`);
    if (final_answer_correct !== undefined && typeof final_answer_correct !== 'boolean')
      throw new TypeError(`${at}: final_answer_correct must be a boolean`);
    return {
      id,
      generator: generator ?? '',
      problem,
      steps: steps as string[],
      // a missing flag is implied by the label for a correct chain; for an erroneous one the
      // answer may still be right by luck, which only the dataset can say
      final_answer_correct: final_answer_correct ?? label === -1,
      label,
    };
  });
  return { name, records };
}

/** Reads ProcessBench subsets from a directory of `<subset>.json` files. */
export async function readProcessBench(dir: string, options: ReadProcessBenchOptions = {}): Promise<ProcessBenchSubset[]> {
  if (typeof dir !== 'string' || !dir) throw invalidType('ProcessBench data directory', 'a non-empty string', dir);
  knownKeys(object(options, 'options'), ['subsets', 'limit']);
  const { subsets, limit } = options;
  if (limit !== undefined) positiveInt(limit, 'limit');
  if (subsets !== undefined && (!Array.isArray(subsets) || subsets.some((s) => typeof s !== 'string' || !s)))
    throw invalidType('subsets', 'an array of subset names', subsets);
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  } catch (err) {
    throw new Error(`cannot read ProcessBench directory ${dir}: ${(err as Error).message}`);
  }
  const available = files.map((f) => basename(f, '.json'));
  const wanted = subsets ?? available;
  const missing = wanted.filter((s) => !available.includes(s));
  if (missing.length)
    throw new RangeError(`ProcessBench subset(s) not found in ${dir}: ${missing.join(', ')} (available: ${available.join(', ') || 'none'})`);
  if (wanted.length === 0) throw new RangeError(`no ProcessBench subsets (*.json) in ${dir}`);
  const out: ProcessBenchSubset[] = [];
  const owner = new Map<string, string>();
  for (const name of wanted) {
    const path = join(dir, `${name}.json`);
    let data: unknown;
    try {
      data = JSON.parse(await readFile(path, 'utf8'));
    } catch (err) {
      throw new TypeError(`ProcessBench subset ${name} (${path}): not valid JSON (${(err as Error).message})`);
    }
    const subset = parseProcessBenchSubset(name, data);
    // predictions files key on id alone, so ids must be unique across subsets too
    for (const r of subset.records) {
      const other = owner.get(r.id);
      if (other !== undefined) throw new TypeError(`ProcessBench id ${r.id} appears in both ${other} and ${name}`);
      owner.set(r.id, name);
    }
    if (limit !== undefined) subset.records = subset.records.slice(0, limit);
    out.push(subset);
  }
  return out;
}
