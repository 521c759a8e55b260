// Loads the compiled addon once. A missing or broken binary is not fatal: the js backend
// still works and `backends()` reports why native is unavailable.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { ResolvedHead } from './validate.js';

/** The raw binding (native/addon/addon.cpp). Arguments are checked again on the C++ side. */
export interface NativeBinding {
  scoreSync(args: NativeScoreArgs): void;
  score(args: NativeScoreArgs): Promise<void>;
  gatherRowsSync(args: NativeGatherArgs): void;
  gatherRows(args: NativeGatherArgs): Promise<void>;
  aggregate(lp: Float32Array, offsets: Int32Array, how: number, out: Float32Array, threads: number): void;
  firstError(lp: Float32Array, offsets: Int32Array, threshold: number, out: Int32Array, threads: number): void;
  rankGroups(scores: Float32Array, groupOffsets: Int32Array, out: Int32Array, threads: number): void;
  readBytes(data: Float32Array, threads: number): number;
  info(): { simd: string; threads: number; cuda: { compiled: boolean; devices: number; reason?: string; deviceName?: string } };
}

export interface NativeHiddenArgs {
  data: Float32Array | Uint16Array;
  dtype: number;
  B: number;
  T: number;
  H: number;
  offsets: Int32Array;
  positions: Int32Array;
  threads: number;
  backend: 'cpu' | 'cuda';
}

export interface NativeScoreArgs extends NativeHiddenArgs {
  head: {
    kind: number;
    activation: number;
    positive: number;
    outputs?: number;
    weight?: Float32Array;
    bias?: Float32Array;
    columns?: Int32Array;
  };
  threshold: number;
  stepLogProbs: Float32Array;
  aggregates: (Float32Array | null)[];
  firstError: Int32Array;
}

export interface NativeGatherArgs extends NativeHiddenArgs {
  out: Float32Array;
}

/** A validated head in the binding's encoding (kinds and activations as integers). */
export function nativeHead(head: ResolvedHead): NativeScoreArgs['head'] {
  return {
    kind: head.kind === 'linear' ? 0 : 1,
    activation: head.activation === 'sigmoid' ? 0 : 1,
    positive: head.positive,
    outputs: head.K,
    weight: head.weight,
    bias: head.bias,
    columns: head.columns,
  };
}

export const REBUILD_HINT = 'run `npm rebuild prmkit` (or `npm run build` in a prmkit checkout) to compile it';

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if (JSON.parse(readFileSync(pj, 'utf8')).name === 'prmkit') return dir;
      } catch {
        // keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the prmkit package root');
    dir = up;
  }
}

function load(): { binding?: NativeBinding; reason?: string; path?: string } {
  if (process.env.PRMKIT_DISABLE_NATIVE === '1') return { reason: 'disabled by PRMKIT_DISABLE_NATIVE=1' };
  let root: string;
  try {
    root = packageRoot();
  } catch (e) {
    return { reason: (e as Error).message };
  }
  const candidates = process.env.PRMKIT_NATIVE_PATH
    ? [process.env.PRMKIT_NATIVE_PATH]
    : [join(root, 'build', 'Release', 'prmkit.node'), join(root, 'build', 'Debug', 'prmkit.node')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) return { reason: `the native addon is not built (looked for ${candidates.join(', ')}); ${REBUILD_HINT}` };
  try {
    const require = createRequire(import.meta.url);
    const binding = require(found) as NativeBinding;
    if (typeof binding?.scoreSync !== 'function' || typeof binding?.info !== 'function')
      return { reason: `${found} is not a prmkit addon (it exports no scoreSync/info); ${REBUILD_HINT}` };
    return { binding, path: found };
  } catch (e) {
    return { reason: `the native addon at ${found} failed to load (${(e as Error).message}); ${REBUILD_HINT}` };
  }
}

let cached: ReturnType<typeof load> | undefined;

export function native(): ReturnType<typeof load> {
  cached ??= load();
  return cached;
}
