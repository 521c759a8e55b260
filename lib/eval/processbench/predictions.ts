// Predictions files: JSON Lines of { "id": string, "prediction": integer } (-1 = no error), so
// that any system's output can be scored without running a scorer here.
import { show } from '../../is.js';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { isRecord, readJsonLines } from '../jsonl.js';
import type { JsonLine } from '../jsonl.js';

export interface PredictionLine {
  id: string;
  prediction: number;
}

/** Validates parsed lines into a map; a duplicate id is an error (which one would count?). */
export function predictionsFromLines(lines: Iterable<JsonLine>, source = 'predictions'): Map<string, number> {
  const out = new Map<string, number>();
  for (const { line, value } of lines) {
    const at = `${source}:${line}`;
    if (!isRecord(value)) throw new TypeError(`${at}: expected an object { "id", "prediction" }`);
    const { id, prediction } = value;
    if (typeof id !== 'string' || !id) throw new TypeError(`${at}: "id" must be a non-empty string, got ${show(id)}`);
    if (typeof prediction !== 'number' || !Number.isInteger(prediction))
      throw new TypeError(`${at}: "prediction" for id ${id} must be an integer (-1 for no error), got ${show(prediction)}`);
    if (out.has(id)) throw new TypeError(`${at}: duplicate prediction for id ${id}`);
    out.set(id, prediction);
  }
  return out;
}

export async function readPredictions(path: string): Promise<Map<string, number>> {
  const lines: JsonLine[] = [];
  for await (const l of readJsonLines(path)) lines.push(l);
  return predictionsFromLines(lines, path);
}

export async function writePredictions(path: string, predictions: ReadonlyMap<string, number>): Promise<void> {
  const out = createWriteStream(path, { encoding: 'utf8' });
  const failed = once(out, 'error').then(([err]) => Promise.reject(err as Error));
  failed.catch(() => {});
  for (const [id, prediction] of predictions) {
    const line: PredictionLine = { id, prediction };
    if (!out.write(JSON.stringify(line) + '\n')) await Promise.race([once(out, 'drain'), failed]);
  }
  out.end();
  await Promise.race([once(out, 'finish'), failed]);
}
