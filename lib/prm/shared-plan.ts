// Which backbone runs score a set of chains when shared prefixes run once. Over the prefix
// tree (prefix-tree.ts), a node whose tokens several branches share is split off (run once,
// its keys/values kept, each branch continuing them) when that saves at least `minSaved`
// tokens: (branches - 1) x the tokens it would otherwise repeat. A shorter shared prefix is
// not worth a call of its own (each call has a fixed cost: a worker message, onnxruntime's
// setup, the keys/values kept), so its tokens run again in each branch. A prefix found in a
// prefix cache starts a tree's runs from the cached keys/values instead of token 0.
import type { PrefixNode } from './prefix-tree.js';

/** One backbone row: tokens [start, end) of `rows[0]`, continuing `parent`'s keys/values (or the cached prefix, or none). */
export interface Job {
  /** Continue job `parent`'s kept keys/values (its first `start` tokens); -1: the cached prefix; undefined: from token 0. */
  parent?: number;
  start: number;
  end: number;
  /** Rows whose boundaries in [start, end) this run reads. */
  rows: number[];
  /** Rows whose whole chain this run completes (they end at `end`). */
  ending: number[];
  /** Keep its keys/values: later jobs continue them (or a prefix cache takes them). */
  keep: boolean;
  /** Runs after every job of a lower depth (its parent's depth + 1). */
  depth: number;
}

export interface PlanOptions {
  /** Split a shared prefix off when that saves at least this many tokens. */
  minSaved: number;
  /** Per row, tokens a cached prefix covers (0: none); the whole tree continues that one cached prefix. */
  cover?: readonly number[];
  /** Keep every chain's keys/values (a prefix cache takes them). */
  keepChains?: boolean;
}

export interface Plan {
  jobs: Job[];
  /** Some prefix is run once for several branches. */
  shared: boolean;
}

/** The runs that score the rows of `tree` with each shared prefix worth it run once. */
export function planRuns(tree: readonly PrefixNode[], o: PlanOptions): Plan {
  const jobs: Job[] = [];
  let shared = false;
  const cover = (n: PrefixNode) => {
    if (!o.cover) return 0;
    let c = n.end;
    for (const r of n.rows) c = Math.min(c, o.cover[r]);
    return c;
  };
  const visit = (n: PrefixNode, parent: number | undefined, carry: number, depth: number): void => {
    // a cached prefix covers the node's first tokens for every row under it: continue from there
    const c = cover(n);
    if (c > carry) [parent, carry] = [-1, c];
    const len = n.end - carry;
    const branches = n.children.length + (n.ending.length > 0 ? 1 : 0);
    if (len > 0 && branches >= 2 && (branches - 1) * len >= o.minSaved) {
      shared = true;
      const id = jobs.push({ parent, start: carry, end: n.end, rows: n.rows, ending: n.ending, keep: true, depth }) - 1;
      for (const ch of n.children) visit(ch, id, n.end, depth + 1);
      return;
    }
    // not split: the node's tokens run again in each branch
    for (const ch of n.children) visit(ch, parent, carry, depth);
    if (n.ending.length > 0 && len > 0) jobs.push({ parent, start: carry, end: n.end, rows: n.ending, ending: n.ending, keep: o.keepChains === true, depth });
  };
  for (const n of tree) visit(n, undefined, 0, 0);
  return { jobs, shared };
}
