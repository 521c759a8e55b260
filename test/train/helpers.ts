// A tiny converted folder with hidden states (the tiny checkpoint through prmkit's own
// converter), and seeded chains to train on, for the trainHead suites.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convert } from '../../lib/convert/index.js';
import { mulberry32 } from '../../lib/random.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import type { PrmTrainItem } from '../../lib/train/index.js';

export interface TinyFolder {
  dir: string;
  root: string;
  cleanup(): void;
}

/** A converted tiny model (2 layers, hidden 32) whose graph also gives last_hidden_state (only that, as a backbone). */
export async function tinyFolder(format: 'math-shepherd' | 'plain-orm' | 'rlhflow' = 'math-shepherd', hiddenStates = true, backbone = false, kvCache = false): Promise<TinyFolder> {
  const root = mkdtempSync(join(tmpdir(), 'prmkit-trainhead-'));
  const ck = createTinyCheckpoint({ dir: join(root, 'ckpt'), layers: 2, hidden: 32, heads: 2, seed: 5, format });
  const dir = join(root, 'model');
  await convert({ input: ck.dir, output: dir, hiddenStates, backbone, kvCache, ...(format === 'plain-orm' && !backbone ? { format } : {}) });
  return { dir, root, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

const WORDS = ['add', 'carry', 'the', 'two', 'so', 'we', 'get', 'then', 'check', 'sum'];

/** `n` seeded chains of 1-4 steps with random hard labels. */
export function chains(n: number, seed = 1): PrmTrainItem[] {
  const r = mulberry32(seed);
  const pick = () => WORDS[Math.floor(r() * WORDS.length)];
  return Array.from({ length: n }, (_, i) => {
    const k = 1 + Math.floor(r() * 4);
    const steps = Array.from({ length: k }, () => `${pick()} ${Math.floor(r() * 100)} ${pick()} ${Math.floor(r() * 100)}`);
    return { problem: `What is ${i} + ${Math.floor(r() * 50)}?`, steps, labels: steps.map(() => r() < 0.6) };
  });
}
