// Heads trained on an earlier conversion (`prmkit train`: heads/<name>.safetensors and their
// entries in prmkit.json) when `--force` converts into its folder again. The new manifest is
// written from scratch, so without care the entries would vanish and leave their files behind.
// They are kept when the new graph can still feed them (the same checkpoint, hidden states
// out, the same hidden size); otherwise the conversion is refused before anything is written,
// naming the heads, so trained work is never dropped without the owner saying so.
import { lstatSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST } from '../model/manifest.js';
import type { Manifest, TrainedHeadEntry } from '../model/manifest.js';

export interface KeptHeads {
  heads: Record<string, TrainedHeadEntry>;
  activeHead?: string;
}

/** What the new conversion gives a trained head: its input, and the checkpoint it comes from. */
export interface NextModel {
  /** The graph outputs last_hidden_state (hiddenStates or backbone). */
  hiddenStates: boolean;
  /** An implicit PRM's two LMs: no head of its own to train on. */
  implicit?: boolean;
  hidden: number;
  source: { path: string; bytes: number };
}

/** The earlier conversion's manifest in `dir`, read leniently (none, or not ours: undefined). */
function earlier(dir: string): Partial<Manifest> | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Partial<Manifest> | null;
    return m !== null && typeof m === 'object' && m.prmkit === 1 ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The trained heads of the conversion in `dir` that the next one keeps (undefined: there are
 * none); a RangeError naming them when the next conversion could not read them.
 */
export function keptHeads(dir: string, next: NextModel): KeptHeads | undefined {
  const m = earlier(dir);
  const heads = m?.heads;
  if (!m || heads === null || typeof heads !== 'object' || Object.keys(heads).length === 0) return undefined;
  const names = Object.keys(heads).join(', ');
  const why =
    next.implicit ? 'an implicit PRM has no hidden states for them to read'
    : !next.hiddenStates ? 'the new graph has no last_hidden_state output, which they read (convert with --hidden-states or --backbone)'
    : m.source?.path !== next.source.path || m.source?.bytes !== next.source.bytes ? `they were trained on ${m.source?.path ?? 'another checkpoint'}, not this one`
    : m.decoder?.hidden !== next.hidden ? `they read rows of width ${m.decoder?.hidden}, this model's are ${next.hidden}`
    : undefined;
  if (why)
    throw new RangeError(`output ${dir} has trained heads (${names}) that this conversion could not keep: ${why}; convert into another folder, or remove ${dir} first (its trained heads with it)`);
  const activeHead = typeof m.activeHead === 'string' && Object.hasOwn(heads, m.activeHead) ? m.activeHead : undefined;
  return { heads: { ...heads }, ...(activeHead ? { activeHead } : {}) };
}

/**
 * Removes the row caches `prmkit train` gathered on the earlier graph in `dir` (their rows
 * are that graph's hidden states; a symlink there is removed, never followed).
 */
export function clearTrainCache(dir: string): void {
  const cache = join(dir, 'train-cache');
  try {
    lstatSync(cache);
  } catch {
    return;
  }
  rmSync(cache, { recursive: true, force: true });
}
