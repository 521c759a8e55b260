// Fitting requested expansions into what the budget still allows.
import type { ExpandRequest } from './run.js';

/** Grants requests in priority order (best first) until `capacity` continuations are given out. */
export function fitInOrder(requests: readonly ExpandRequest[], capacity: number): ExpandRequest[] {
  const out: ExpandRequest[] = [];
  let left = capacity;
  for (const r of requests) {
    if (left <= 0) break;
    const n = Math.min(r.n, left);
    out.push({ node: r.node, n });
    left -= n;
  }
  return out;
}

/**
 * Splits `capacity` evenly over the wants (each at most its want), the remainder going to
 * the first ones, so independent subtrees all keep growing when the budget is short.
 */
export function evenShares(wants: readonly number[], capacity: number): number[] {
  const give = wants.map(() => 0);
  let left = capacity;
  while (left > 0) {
    let granted = false;
    for (let i = 0; i < wants.length && left > 0; i++)
      if (give[i] < wants[i]) {
        give[i]++;
        left--;
        granted = true;
      }
    if (!granted) break;
  }
  return give;
}

export function total(requests: readonly { n: number }[]): number {
  return requests.reduce((a, r) => a + r.n, 0);
}
