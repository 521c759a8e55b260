// Step-level beam search: every live beam proposes `expansions` next steps, all of them are
// scored in one call, and the best `beamWidth` (minus beams already finished) go on.
import { byScoreDesc } from '../engine/aggregate.js';
import { fitInOrder, total } from '../engine/allocate.js';
import { SearchRun } from '../engine/run.js';
import type { ExpandRequest } from '../engine/run.js';
import type { SearchNode } from '../engine/tree.js';
import type { Own, SearchInput, SearchOptions, SearchResult, StopReason } from '../engine/types.js';
import { positiveInt } from '../engine/validate.js';
import { keysOf } from '../../is.js';

export interface BeamSearchOptions extends SearchOptions {
  /**
   * Beams kept per step; default 4. Aggregation default 'last'; selection default 'weighted'
   * (with a noisy scorer, the single best-scored beam is often a false positive at large widths).
   */
  beamWidth?: number;
  /** Proposals per beam per step; default 4. The first step samples beamWidth × expansions. */
  expansions?: number;
}

export async function beamSearch(input: SearchInput, options: BeamSearchOptions): Promise<SearchResult> {
  const run = new SearchRun('beamSearch', input, options, {
    aggregation: 'last',
    selection: 'weighted',
    needsScorer: true,
    keys: keysOf<Own<BeamSearchOptions>>()({ beamWidth: true, expansions: true }),
  });
  const width = positiveInt(options.beamWidth ?? 4, 'options.beamWidth', 'beamSearch');
  const m = positiveInt(options.expansions ?? 4, 'options.expansions', 'beamSearch');
  let active: SearchNode[] = [run.tree.root];
  const finished: SearchNode[] = [];
  let stop: StopReason = 'maxSteps';
  for (let depth = 0; depth < run.maxSteps; depth++) {
    const round = run.nextRound();
    const wanted: ExpandRequest[] = depth === 0 ? [{ node: run.tree.root, n: width * m }] : active.map((node) => ({ node, n: m }));
    const granted = fitInOrder(wanted, run.capacity());
    const short = total(granted) < total(wanted);
    const grantedIds = new Set(granted.map((r) => r.node.id));
    const kids = (await run.expand(granted)).flat();
    await run.score(kids);
    finished.push(...kids.filter((k) => k.status === 'terminal'));
    const live = kids.filter((k) => k.status === 'live').sort(byScoreDesc);
    const slots = Math.max(0, width - finished.length);
    for (const cut of live.slice(slots)) cut.status = 'pruned';
    // beams the budget could not expand stay in the running as they are
    const waiting = active.filter((a) => a !== run.tree.root && !grantedIds.has(a.id));
    active = [...live.slice(0, slots), ...waiting].sort(byScoreDesc).slice(0, slots);
    run.emit({ type: 'round', strategy: 'beamSearch', round, live: active.length, finished: finished.length, usage: { ...run.budget.usage } });
    if (short) {
      stop = 'budget';
      break;
    }
    if (active.length === 0 || finished.length >= width) {
      stop = 'complete';
      break;
    }
  }
  return run.finish(stop, [...finished, ...active.filter((a) => a !== run.tree.root)]);
}
