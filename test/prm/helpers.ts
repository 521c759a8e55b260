import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModelOptions } from '../../lib/testing/index.js';
import { processBenchDir } from '../helpers/index.js';

export { describeWhen, hasShared, mistralDir, NO_SHARED, qwenDir, repoRoot, sharedData } from '../helpers/index.js';

export interface PBItem {
  id: string;
  problem: string;
  steps: string[];
  label: number;
}

export function processbench(split: 'gsm8k' | 'math'): PBItem[] {
  return JSON.parse(readFileSync(join(processBenchDir, `${split}.json`), 'utf8')) as PBItem[];
}

const dirs: string[] = [];
export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'prmkit-model-'));
  dirs.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export async function tiny(options: Omit<TinyModelOptions, 'dir'> = {}) {
  return createTinyModel({ dir: tempDir(), ...options });
}

/** Short synthetic chains with varied lengths (deterministic). */
export function chains(n: number, seed = 1): { problem: string; steps: string[] }[] {
  const words = ['add', 'the', 'two', 'numbers', 'so', 'we', 'get', '12', 'then', 'divide', 'by', '3', 'x = 4', 'check:', 'ok', '+', '-'];
  let s = seed;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  return Array.from({ length: n }, (_, i) => ({
    problem: `Problem ${i}: what is ${i} + ${i * 3}?`,
    steps: Array.from({ length: 1 + Math.floor(r() * 5) }, () => Array.from({ length: 1 + Math.floor(r() * 8) }, () => words[Math.floor(r() * words.length)]).join(' ')),
  }));
}
