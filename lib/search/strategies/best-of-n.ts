// Best-of-N: sample N whole solutions (all chains advance one step per generator call), score
// the finished chains in one scorer call (a PRM's aggregate, or an ORM's one score per
// solution), then pick by score, plain majority vote, or score-weighted vote.
import { SearchRun } from '../engine/run.js';
import { fitInOrder, total } from '../engine/allocate.js';
import type { ExpandRequest } from '../engine/run.js';
import type { Own, SearchInput, SearchOptions, SearchResult, StopReason } from '../engine/types.js';
import { positiveInt } from '../engine/validate.js';
import { keysOf } from '../../is.js';

export interface BestOfNOptions extends SearchOptions {
  /** Solutions to sample. Aggregation default 'prod'; selection default 'best' with a scorer, 'majority' without. */
  n: number;
}

export async function bestOfN(input: SearchInput, options: BestOfNOptions): Promise<SearchResult> {
  const run = new SearchRun('bestOfN', input, options, {
    aggregation: 'prod',
    selection: options?.scorer ? 'best' : 'majority',
    needsScorer: false,
    // only finished solutions are scored: an outcome reward model fits
    wholeChains: true,
    keys: keysOf<Own<BestOfNOptions>>()({ n: true }),
  });
  const n = positiveInt(options.n, 'options.n', 'bestOfN');
  if (!run.scorer && run.selection !== 'majority') throw new TypeError(`bestOfN: selection '${run.selection}' needs options.scorer`);
  let frontier: ExpandRequest[] = [{ node: run.tree.root, n }];
  let stop: StopReason = 'complete';
  for (let depth = 0; depth < run.maxSteps && frontier.length > 0; depth++) {
    const round = run.nextRound();
    const granted = fitInOrder(frontier, run.capacity());
    const short = total(granted) < total(frontier);
    const kids = (await run.expand(granted)).flat();
    frontier = kids.filter((k) => k.status === 'live').map((node) => ({ node, n: 1 }));
    const finished = run.tree.nodes.filter((x) => x.status === 'terminal').length;
    run.emit({ type: 'round', strategy: 'bestOfN', round, live: frontier.length, finished, usage: { ...run.budget.usage } });
    if (short) {
      stop = 'budget';
      break;
    }
  }
  if (stop === 'complete' && frontier.length > 0) stop = 'maxSteps';
  const leaves = run.tree.nodes.filter((x) => x.parent >= 0 && x.children.length === 0);
  if (run.scorer) await run.score(leaves);
  return run.finish(stop, leaves);
}
