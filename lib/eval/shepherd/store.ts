// The labelling output file: one JSON line per finished chain, appended as batches complete,
// so an interrupted run resumes where it stopped and never pays twice for a chain.
import { appendFile, open, readFile, stat, writeFile } from 'node:fs/promises';
import { isRecord } from '../jsonl.js';

/** One labelled chain, as written to the output file. */
export interface ShepherdLabels {
  id: string;
  problem: string;
  steps: string[];
  goldAnswer: string;
  /** Per step: did any rollout from the prefix ending here reach the gold answer? */
  hardLabels: boolean[];
  /** Per step: the fraction of rollouts that reached it. */
  softLabels: number[];
  /** Per step: rollouts that reached the gold answer. */
  correct: number[];
  /** Per step: rollouts run (0 when the step states a final answer and is judged directly). */
  rollouts: number[];
  /** Tokens generated for this chain's rollouts. */
  generatedTokens: number;
  /** Generate requests made for this chain. */
  requests: number;
}

export type IfExists = 'resume' | 'overwrite' | 'error';

export interface LabelStore {
  /** Chains already labelled in the file (empty unless resuming). */
  done: Map<string, ShepherdLabels>;
  append(labels: readonly ShepherdLabels[]): Promise<void>;
}

function checkLine(v: unknown, where: string): ShepherdLabels {
  if (!isRecord(v) || typeof v.id !== 'string' || typeof v.problem !== 'string' || !Array.isArray(v.steps))
    throw new TypeError(`${where}: not a labelled chain (expected id, problem, steps, hardLabels, softLabels)`);
  const n = v.steps.length;
  for (const k of ['hardLabels', 'softLabels', 'correct', 'rollouts'] as const)
    if (!Array.isArray(v[k]) || (v[k] as unknown[]).length !== n)
      throw new TypeError(`${where}: ${k} must be an array with one entry per step (${n})`);
  return v as unknown as ShepherdLabels;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}

/**
 * Opens (or creates) the output file. Resuming reads the finished chains; a torn last line (a
 * crash mid-write) is cut off, since its chain is simply labelled again.
 */
export async function openLabelStore(path: string, ifExists: IfExists): Promise<LabelStore> {
  const done = new Map<string, ShepherdLabels>();
  if (await exists(path)) {
    if (ifExists === 'error') throw new Error(`output file ${path} already exists (resume or overwrite it)`);
    if (ifExists === 'overwrite') await writeFile(path, '');
    else {
      const text = await readFile(path, 'utf8');
      const lines = text.split('\n');
      if (!text.endsWith('\n') && text.length > 0) {
        const last = lines[lines.length - 1]!;
        let whole = true;
        try {
          JSON.parse(last);
        } catch {
          whole = false;
        }
        if (whole) await appendFile(path, '\n'); // complete but unterminated: keep it
        else {
          lines.pop();
          const keep = Buffer.byteLength(text) - Buffer.byteLength(last);
          const fh = await open(path, 'r+');
          try {
            await fh.truncate(keep);
          } finally {
            await fh.close();
          }
        }
      }
      lines.forEach((line, i) => {
        if (!line.trim()) return;
        let v: unknown;
        try {
          v = JSON.parse(line);
        } catch (err) {
          throw new TypeError(`${path}:${i + 1}: not valid JSON (${(err as Error).message})`);
        }
        const labels = checkLine(v, `${path}:${i + 1}`);
        if (done.has(labels.id)) throw new TypeError(`${path}:${i + 1}: chain ${labels.id} is labelled twice`);
        done.set(labels.id, labels);
      });
    }
  } else await writeFile(path, '');
  return {
    done,
    async append(labels) {
      if (labels.length) await appendFile(path, labels.map((l) => JSON.stringify(l) + '\n').join(''));
    },
  };
}
