// Shared by the conversion suites: the reference checkpoints, a converted-folder cache per
// test file, and the comparisons the fidelity table reports.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { convert } from '../../lib/convert/index.js';
import type { ConvertDtype } from '../../lib/convert/index.js';
import { checkpointsDir } from '../helpers/index.js';

export const FAMILIES = ['qwen2.5-math-prm', 'math-shepherd', 'rlhflow'] as const;
/** PRM families added later to the shared data (Skywork's value head, a TRL token classifier); each skips alone when absent. */
export const MORE_FAMILIES = ['skywork-prm', 'trl-prm'] as const;
/** Outcome reward models (reference.json holds one reward per chain; test/orm/fidelity.test.ts). */
export const ORM_FAMILIES = ['qwen2.5-math-rm', 'skywork-reward'] as const;
/** Implicit PRMs (policy/ and reference/ causal LMs; reference.json holds stepRewards). */
export const IMPLICIT_FAMILIES = ['eurus-prm'] as const;
export type Family = (typeof FAMILIES)[number] | (typeof MORE_FAMILIES)[number] | (typeof IMPLICIT_FAMILIES)[number];

export const hasFamily = (f: Family): boolean => existsSync(join(checkpointsDir, f, 'reference.json'));
export const hasCheckpoints = FAMILIES.every(hasFamily);
export const NO_CHECKPOINTS = `the reference checkpoints are not in ${checkpointsDir}; set PRMKIT_SHARED_DATA to the shared data directory`;
export const noFamily = (f: Family): string => `the reference checkpoint ${f} is not in ${checkpointsDir}; set PRMKIT_SHARED_DATA to the shared data directory`;

export interface Reference {
  family: string;
  format: string;
  chains: Array<{ id: string; problem: string; steps: string[] }>;
  reference: Array<{ id: string; stepProbs: number[]; tokens: number; stepRewards?: number[]; stepEnds?: number[]; promptTokens?: number }>;
}

export function reference(family: Family): Reference {
  return JSON.parse(readFileSync(join(checkpointsDir, family, 'reference.json'), 'utf8')) as Reference;
}

const dirs: string[] = [];
export async function converted(family: Family, dtype: ConvertDtype, kvCache = false, extra: { fusedNorms?: boolean; logProbs?: 'kernel' | 'graph'; int8Form?: 'integer' | 'blockwise' } = {}): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'prmkit-convert-')), 'out');
  dirs.push(join(out, '..'));
  const dir = join(checkpointsDir, family);
  // an implicit PRM's folder holds its two causal LMs
  if ((IMPLICIT_FAMILIES as readonly string[]).includes(family)) await convert({ input: join(dir, 'policy'), reference: join(dir, 'reference'), output: out, dtype, ...extra });
  else await convert({ input: dir, output: out, dtype, kvCache, ...extra });
  return out;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function maxAbsDiff(a: readonly (readonly number[])[], b: readonly (readonly number[])[]): number {
  let m = 0;
  a.forEach((row, i) => {
    if (row.length !== b[i].length) throw new Error(`chain ${i}: ${row.length} steps vs ${b[i].length}`);
    row.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i][j]))));
  });
  return m;
}

/**
 * How often best-of-N picks the same candidate from chain scores `a` and `b`, over every
 * N-subset of the chains (the 20 reference chains stand in for a pool of candidates).
 */
export function bestOfNAgreement(a: readonly number[], b: readonly number[], N: number): number {
  let same = 0;
  let total = 0;
  const idx: number[] = [];
  const argmax = (s: readonly number[]) => idx.reduce((best, i) => (s[i] > s[best] ? i : best), idx[0]);
  const walk = (start: number) => {
    if (idx.length === N) {
      total++;
      if (argmax(a) === argmax(b)) same++;
      return;
    }
    for (let i = start; i < a.length; i++) {
      idx.push(i);
      walk(i + 1);
      idx.pop();
    }
  };
  walk(0);
  return same / total;
}
