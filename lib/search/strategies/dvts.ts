// Diverse verifier tree search (DVTS): split the budget into independent subtrees, each a
// greedy step-level search that keeps its single best proposal. Subtrees never compete, so
// one attractive wrong prefix cannot take over the whole beam. All subtrees advance together:
// one generator call and one scorer call per step.
import { byScoreDesc } from '../engine/aggregate.js';
import { evenShares } from '../engine/allocate.js';
import { SearchRun } from '../engine/run.js';
import type { SearchNode } from '../engine/tree.js';
import type { Own, SearchInput, SearchOptions, SearchResult, StopReason } from '../engine/types.js';
import { positiveInt } from '../engine/validate.js';
import { keysOf } from '../../is.js';

export interface DvtsOptions extends SearchOptions {
  /** Independent subtrees; default 4. Aggregation default 'last', selection default 'weighted'. */
  subtrees?: number;
  /** Proposals per subtree per step; default 4. */
  expansions?: number;
}

export async function dvts(input: SearchInput, options: DvtsOptions): Promise<SearchResult> {
  const run = new SearchRun('dvts', input, options, {
    aggregation: 'last',
    selection: 'weighted',
    needsScorer: true,
    keys: keysOf<Own<DvtsOptions>>()({ subtrees: true, expansions: true }),
  });
  const subtrees = positiveInt(options.subtrees ?? 4, 'options.subtrees', 'dvts');
  const m = positiveInt(options.expansions ?? 4, 'options.expansions', 'dvts');
  // leaf of each subtree; the root until the first step picks one
  const leaves: SearchNode[] = Array.from({ length: subtrees }, () => run.tree.root);
  let stop: StopReason = 'maxSteps';
  for (let depth = 0; depth < run.maxSteps; depth++) {
    const round = run.nextRound();
    const growing = leaves.map((leaf, t) => ({ leaf, t })).filter(({ leaf }) => leaf === run.tree.root || leaf.status === 'live');
    const shares = evenShares(growing.map(() => m), run.capacity());
    const short = shares.some((s) => s < m);
    const plan = growing.map((g, i) => ({ ...g, n: shares[i] })).filter((p) => p.n > 0);
    // every subtree starts from the root: the first step is one request for all of them
    const kids =
      depth === 0
        ? splitRoot((await run.expand([{ node: run.tree.root, n: plan.reduce((a, p) => a + p.n, 0) }]))[0], plan.map((p) => p.n))
        : await run.expand(plan.map((p) => ({ node: p.leaf, n: p.n })));
    await run.score(kids.flat());
    kids.forEach((group, i) => {
      const t = plan[i].t;
      const ranked = [...group].sort(byScoreDesc);
      for (const node of group) node.subtree = t;
      for (const cut of ranked.slice(1)) if (cut.status === 'live') cut.status = 'pruned';
      leaves[t] = ranked[0];
    });
    const live = leaves.filter((l) => l.status === 'live').length;
    const finished = leaves.filter((l) => l.status === 'terminal').length;
    run.emit({ type: 'round', strategy: 'dvts', round, live, finished, usage: { ...run.budget.usage } });
    if (short) {
      stop = 'budget';
      break;
    }
    if (live === 0) {
      stop = 'complete';
      break;
    }
  }
  return run.finish(stop, leaves.filter((l) => l !== run.tree.root));
}

/** The first step's samples from the root, dealt to subtrees in consecutive groups. */
function splitRoot(nodes: readonly SearchNode[], sizes: readonly number[]): SearchNode[][] {
  const out: SearchNode[][] = [];
  let at = 0;
  for (const s of sizes) {
    out.push(nodes.slice(at, at + s));
    at += s;
  }
  return out;
}
