// Tiny ORM folders for the ORM suites: a seeded tiny checkpoint of each ORM family, converted
// by prmkit's converter (so its prmkit.json says kind 'orm'), removed after the suite.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convert } from '../../lib/convert/index.js';
import type { OrmFormatName } from '../../lib/formats/orm.js';
import type { FormatName } from '../../lib/formats/types.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import type { TinyCheckpointOptions } from '../../lib/testing/index.js';

const dirs: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'prmkit-orm-'));
  dirs.push(d);
  return d;
}

export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** A tiny checkpoint of `format`'s family converted to a folder; returns both paths. */
export async function tinyFolder(format: OrmFormatName | FormatName, options: Omit<TinyCheckpointOptions, 'dir' | 'format'> = {}, convertFormat?: OrmFormatName | FormatName, convertOptions: { attentionChunks?: number } = {}) {
  const root = tempDir();
  const checkpoint = join(root, 'hf');
  createTinyCheckpoint({ dir: checkpoint, format, layers: 1, hidden: 16, seed: 3, ...options });
  const folder = join(root, 'onnx');
  // a one-label Qwen2 classifier could be any family's: its format is named
  const named = convertFormat ?? (format === 'plain-orm' ? 'plain-orm' : undefined);
  const r = await convert({ input: checkpoint, output: folder, ...(named ? { format: named } : {}), ...convertOptions });
  return { checkpoint, folder, manifest: r.manifest };
}

/** The error `p` rejects with (or `f` throws), for inspection. */
export async function caught(p: Promise<unknown> | (() => unknown)): Promise<Error & { path?: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error & { path?: string };
  }
  throw new Error('expected a rejection');
}

export const SOLUTIONS = [
  { problem: 'What is 2 + 3?', steps: ['2 + 3 = 5', 'The answer is 5.'] },
  { problem: 'What is 2 + 3?', steps: ['2 + 3 = 6', 'The answer is 6.'] },
  { problem: 'Double 21.', steps: ['21 * 2 = 42'] },
  { problem: 'Double 21.', steps: ['21 + 21 = 42', 'so 42', 'check: 42 / 2 = 21'] },
];
