// Greedy: grow one chain; at each step propose `candidates` next steps and keep the one the
// scorer likes best. With one candidate and no scorer it is plain sampling of the policy.
import { byScoreDesc } from '../engine/aggregate.js';
import { SearchRun } from '../engine/run.js';
import type { SearchNode } from '../engine/tree.js';
import type { Own, SearchInput, SearchOptions, SearchResult, StopReason } from '../engine/types.js';
import { positiveInt } from '../engine/validate.js';
import { keysOf } from '../../is.js';

export interface GreedyOptions extends SearchOptions {
  /** Proposals per step; default 1. More than 1 needs a scorer. Aggregation default 'last'. */
  candidates?: number;
}

export async function greedy(input: SearchInput, options: GreedyOptions): Promise<SearchResult> {
  const run = new SearchRun('greedy', input, options, {
    aggregation: 'last',
    selection: 'best',
    needsScorer: false,
    keys: keysOf<Own<GreedyOptions>>()({ candidates: true }),
  });
  const k = positiveInt(options.candidates ?? 1, 'options.candidates', 'greedy');
  if (k > 1 && !run.scorer) throw new TypeError('greedy: options.scorer is required when options.candidates > 1');
  let node: SearchNode = run.tree.root;
  let stop: StopReason = 'maxSteps';
  for (let depth = 0; depth < run.maxSteps; depth++) {
    const round = run.nextRound();
    const n = Math.min(k, run.capacity());
    if (n === 0) {
      stop = 'budget';
      break;
    }
    const [kids] = await run.expand([{ node, n }]);
    if (run.scorer) await run.score(kids);
    const ranked = run.scorer ? [...kids].sort(byScoreDesc) : kids;
    for (const other of ranked.slice(1)) if (other.status === 'live') other.status = 'pruned';
    node = ranked[0];
    run.emit({ type: 'round', strategy: 'greedy', round, live: node.status === 'live' ? 1 : 0, finished: node.status === 'terminal' ? 1 : 0, usage: { ...run.budget.usage } });
    if (node.status === 'terminal') {
      stop = 'complete';
      break;
    }
  }
  return run.finish(stop, node === run.tree.root ? [] : [node]);
}
