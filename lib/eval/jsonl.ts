// JSON Lines in and out. Readers stream (PRM800K files run to hundreds of megabytes) and name
// the file and line of anything malformed.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface JsonLine {
  /** 1-based line number in the source. */
  line: number;
  value: unknown;
}

function parseLine(text: string, source: string, line: number): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new TypeError(`${source}:${line}: not valid JSON (${(err as Error).message})`);
  }
}

/** Parses JSON Lines held in memory; blank lines are skipped. */
export function parseJsonLines(text: string, source = 'input'): JsonLine[] {
  if (typeof text !== 'string') throw new TypeError(`${source}: JSON Lines text must be a string`);
  const out: JsonLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t) out.push({ line: i + 1, value: parseLine(t, source, i + 1) });
  }
  return out;
}

/** Streams a JSON Lines file one record at a time; blank lines are skipped. */
export async function* readJsonLines(path: string): AsyncGenerator<JsonLine> {
  if (typeof path !== 'string' || !path) throw new TypeError('path must be a non-empty string');
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of rl) {
      line++;
      const t = text.trim();
      if (t) yield { line, value: parseLine(t, path, line) };
    }
  } finally {
    rl.close();
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
