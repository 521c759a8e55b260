// Scoring with shared prefixes run once. Chains that share a token prefix (best-of-N
// candidates of one problem, an RL group, a search tree's branches) are arranged in a prefix
// tree; each shared prefix worth a call of its own runs once with its keys/values kept, and
// the chains continue from there (shared-plan.ts decides which). With a prefix cache, each
// chain first looks for a chain scored before that shares its prefix, and every chain scored
// is offered to the cache. Results are those of scoring each chain alone: a causal model's
// output at a token depends only on the tokens up to it.
import type { CachedForward, CachedRow, KvHandle } from '../backbones/cached-forward.js';
import { liveRows } from '../backbones/step-source.js';
import type { Boundaries } from '../kernels/types.js';
import type { CacheEntry, PrefixCache } from './prefix-cache.js';
import { prefixTree } from './prefix-tree.js';
import type { TreeRow } from './prefix-tree.js';
import { planRuns } from './shared-plan.js';
import type { Job } from './shared-plan.js';

/**
 * Tokens a shared prefix must save to be split off: a split costs one more backbone call per
 * tree depth (a worker message, an onnxruntime run's setup) and the kept keys/values, which
 * a few dozen tokens of compute do not repay. A chosen value, not one tuned by measurement.
 */
export const DEFAULT_MIN_SAVED = 64;

export interface SharedOptions {
  minSaved: number;
  cache?: PrefixCache;
  signal?: AbortSignal;
}

/** A job of one group's plan, with where its past comes from. */
interface Run {
  job: Job;
  rows: readonly TreeRow[];
  /** Index of each group row in the call's rows. */
  index: readonly number[];
  /** The group's cached prefix (parent -1). */
  entry?: CacheEntry;
  /** The group's runs (parents are indices into it). */
  group: Run[];
  handle?: KvHandle;
}

/** The row a run sends: its tokens after the past, and the union of its rows' boundaries there. */
function cachedRow(r: Run): CachedRow {
  const { job, rows } = r;
  const at = new Set<number>();
  for (const k of job.rows) for (const p of rows[k].at) if (p >= job.start && p < job.end) at.add(p - job.start);
  const past = job.parent === undefined ? undefined : { handle: job.parent === -1 ? r.entry!.handle : r.group[job.parent].handle!, length: job.start };
  return { ...(past ? { past } : {}), ids: rows[job.rows[0]].ids.subarray(job.start, job.end), at: Int32Array.from([...at].sort((a, b) => a - b)) };
}

/** A scoring call's step log-probabilities with shared prefixes, and the tokens that saved. */
export interface SharedResult {
  /** log P(step correct) for every boundary (CSR). */
  logProbs: Float32Array;
  /** Tokens of the chains (each cut after its last boundary), and those the backbone ran for them. */
  chainTokens: number;
  tokensRun: number;
}

/**
 * Step log-probabilities with shared prefixes run once. Undefined when no prefix is worth
 * sharing and there is no cache: scoring each chain alone is then the same work.
 */
export async function sharedStepLogProbs(forward: CachedForward, inputIds: readonly Int32Array[], boundaries: Boundaries, o: SharedOptions): Promise<SharedResult | undefined> {
  const { offsets, positions } = boundaries;
  const { live, rows: cut } = liveRows(inputIds, boundaries);
  const rows: TreeRow[] = live.map((item, k) => ({ ids: cut[k], at: positions.subarray(offsets[item], offsets[item + 1]) }));
  const cache = o.cache;
  const hits = cache ? rows.map((r) => cache.lookup(r.ids, r.at)) : [];
  const kept: KvHandle[] = [];
  const used = hits.flatMap((h) => (h ? [h.entry] : []));
  try {
    // one tree per cached prefix continued (and one for the rows that continue none)
    const groups = new Map<CacheEntry | undefined, number[]>();
    rows.forEach((_, i) => {
      const e = hits[i]?.entry;
      groups.set(e, [...(groups.get(e) ?? []), i]);
    });
    const runs: Run[] = [];
    let shared = false;
    for (const [entry, index] of groups) {
      const groupRows = index.map((i) => rows[i]);
      const plan = planRuns(prefixTree(groupRows), { minSaved: o.minSaved, keepChains: cache !== undefined, ...(entry ? { cover: index.map((i) => hits[i]!.length) } : {}) });
      shared ||= plan.shared;
      const group: Run[] = [];
      for (const job of plan.jobs) group.push({ job, rows: groupRows, index, ...(entry ? { entry } : {}), group });
      runs.push(...group);
    }
    if (!cache && !shared) return undefined;
    // every run of one depth in one call (or two: those that keep their keys/values, those that do not)
    const depths = Math.max(0, ...runs.map((r) => r.job.depth + 1));
    const lp = rows.map(() => new Map<number, number>());
    rows.forEach((r, i) => {
      const e = hits[i]?.entry;
      if (e) for (const p of r.at) if (p < hits[i]!.length) lp[i].set(p, e.known.get(p)!);
    });
    for (let d = 0; d < depths; d++) {
      const level = runs.filter((r) => r.job.depth === d);
      await Promise.all([true, false].map(async (keep) => {
        const these = level.filter((r) => r.job.keep === keep);
        if (these.length === 0) return;
        const sent = these.map(cachedRow);
        const res = await forward.extend(sent, { keep, signal: o.signal });
        these.forEach((r, k) => {
          if (keep) kept.push((r.handle = res.handles![k]));
          const at = sent[k].at;
          for (const g of r.job.rows) {
            const i = r.index[g];
            for (let a = 0; a < at.length; a++) lp[i].set(at[a] + r.job.start, res.stepLogProbs[k][a]);
          }
        });
      }));
    }
    const out = new Float32Array(positions.length);
    live.forEach((item, i) => rows[i].at.forEach((p, s) => (out[offsets[item] + s] = lp[i].get(p)!)));
    if (cache) {
      // the entries continued are no longer read: the new chains may take their place
      cache.done(used.splice(0));
      offer(cache, runs, lp, kept);
    }
    const chainTokens = rows.reduce((a, r) => a + r.ids.length, 0);
    const tokensRun = runs.reduce((a, r) => a + r.job.end - r.job.start, 0);
    return { logProbs: out, chainTokens, tokensRun };
  } finally {
    // what the cache did not take is freed now
    forward.release(kept);
    if (cache) cache.done(used);
  }
}

/** Each chain a run completed goes to the cache with its handle (taken out of `kept`). */
function offer(cache: PrefixCache, runs: readonly Run[], lp: ReadonlyArray<Map<number, number>>, kept: KvHandle[]): void {
  for (const r of runs) {
    if (!r.handle || r.job.ending.length === 0) continue;
    const i = r.index[r.job.ending[0]];
    kept.splice(kept.indexOf(r.handle), 1);
    cache.insert(r.rows[r.job.ending[0]].ids, r.handle, lp[i]);
  }
}
