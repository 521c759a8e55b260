// Chains as a tree of shared token prefixes (a radix tree over their token ids): best-of-N
// candidates of one problem hang off one node, a search tree's branches off the node of the
// steps they share, identical chains end at the same node. Built once per scoring call from
// the chains sorted by their ids: a group of sorted rows shares exactly the prefix its first
// and last rows share.

/** A row of the tree: token ids cut after its last boundary, boundary positions increasing. */
export interface TreeRow {
  ids: Int32Array;
  at: Int32Array;
}

export interface PrefixNode {
  /** The node's tokens are [start, end) of every row under it. */
  start: number;
  end: number;
  children: PrefixNode[];
  /** Rows that end exactly at `end`. */
  ending: number[];
  /** Every row under the node (ending here or below). */
  rows: number[];
}

function lcp(a: Int32Array, b: Int32Array, from: number): number {
  const n = Math.min(a.length, b.length);
  let i = from;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

function compare(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The tree's top nodes (rows with no token in common start separate trees). Rows must be non-empty. */
export function prefixTree(rows: readonly TreeRow[]): PrefixNode[] {
  const order = rows.map((_, i) => i).sort((x, y) => compare(rows[x].ids, rows[y].ids) || x - y);
  return split(rows, order, 0);
}

/** Nodes below depth `start` for `group` (sorted, every row longer than `start`). */
function split(rows: readonly TreeRow[], group: number[], start: number): PrefixNode[] {
  const out: PrefixNode[] = [];
  let i = 0;
  while (i < group.length) {
    // the run of rows sharing the token at `start`
    const t = rows[group[i]].ids[start];
    let j = i + 1;
    while (j < group.length && rows[group[j]].ids[start] === t) j++;
    out.push(node(rows, group.slice(i, j), start));
    i = j;
  }
  return out;
}

function node(rows: readonly TreeRow[], group: number[], start: number): PrefixNode {
  // sorted: what the first and last rows share, every row between shares
  const end = lcp(rows[group[0]].ids, rows[group[group.length - 1]].ids, start + 1);
  const ending = group.filter((r) => rows[r].ids.length === end);
  const below = group.filter((r) => rows[r].ids.length > end);
  return { start, end, children: split(rows, below, end), ending, rows: group };
}
