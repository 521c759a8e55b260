// Monte Carlo tree search with PUCT, the PRM as value function and prior. A simulation selects
// a leaf by Q + c·P·sqrt(N_parent)/(1 + N); a fresh leaf is expanded into `expansions` proposed
// steps, all scored in one call; each child's score is its value and, softmaxed over siblings,
// its prior. `parallel` simulations select together (with a virtual loss so they spread out)
// and share one generator call and one scorer call.
import { fitInOrder } from '../engine/allocate.js';
import { SearchRun } from '../engine/run.js';
import type { SearchNode } from '../engine/tree.js';
import type { Own, SearchInput, SearchOptions, SearchResult, StopReason } from '../engine/types.js';
import { positiveInt } from '../engine/validate.js';
import { boolean, keysOf, number } from '../../is.js';

export interface MctsOptions extends SearchOptions {
  /** Leaf selections in total; default 32. Aggregation default 'last'; selection default 'weighted' over finished chains. */
  simulations?: number;
  /** Children proposed when a leaf is expanded; default 4. */
  expansions?: number;
  /** Exploration constant c of PUCT; default 0.5 (PRM values are in [0, 1]). */
  cPuct?: number;
  /** Simulations selected together per generator/scorer call; default 1 (more batches better, searches wider). */
  parallel?: number;
  /** Temperature of the softmax that turns sibling scores into priors; default 0.25. */
  priorTemperature?: number;
  /** After the simulations, complete the most visited line greedily if it is still open; default true. */
  finishLine?: boolean;
}

export async function mcts(input: SearchInput, options: MctsOptions): Promise<SearchResult> {
  const run = new SearchRun('mcts', input, options, {
    aggregation: 'last',
    selection: 'weighted',
    needsScorer: true,
    keys: keysOf<Own<MctsOptions>>()({ simulations: true, expansions: true, cPuct: true, parallel: true, priorTemperature: true, finishLine: true }),
  });
  const owner = 'mcts';
  const simulations = positiveInt(options.simulations ?? 32, 'options.simulations', owner);
  const m = positiveInt(options.expansions ?? 4, 'options.expansions', owner);
  const parallel = positiveInt(options.parallel ?? 1, 'options.parallel', owner);
  const c = number(options.cPuct ?? 0.5, `${owner}: options.cPuct`, 0);
  const tau = number(options.priorTemperature ?? 0.25, `${owner}: options.priorTemperature`, 0, Infinity, { openMin: true });
  const finish = options.finishLine === undefined ? true : boolean(options.finishLine, `${owner}: options.finishLine`);
  const nodes = run.tree.nodes;
  const expandable = (n: SearchNode) => n.children.length === 0 && n.status !== 'terminal' && n.depth < run.maxSteps;

  const select = (): SearchNode => {
    let n = run.tree.root;
    while (n.children.length > 0) {
      const sqrtN = Math.sqrt(Math.max(1, n.visits));
      let best: SearchNode | undefined;
      let bestU = -Infinity;
      for (const id of n.children) {
        const ch = nodes[id];
        // an unvisited child is worth its own score (first-play urgency from the PRM)
        const q = ch.visits > 0 ? ch.valueSum / ch.visits : leafValue(ch);
        const u = q + c * (ch.prior ?? 0) * (sqrtN / (1 + ch.visits));
        if (u > bestU) [best, bestU] = [ch, u];
      }
      n = best!;
    }
    return n;
  };
  const walkUp = (n: SearchNode, f: (x: SearchNode) => void) => {
    for (let x: SearchNode | undefined = n; x; x = x.parent >= 0 ? nodes[x.parent] : undefined) f(x);
  };
  const backup = (n: SearchNode, v: number) =>
    walkUp(n, (x) => {
      x.visits++;
      x.valueSum += v;
    });

  let done = 0;
  let stop: StopReason = 'complete';
  while (done < simulations) {
    if (!nodes.some(expandable)) break; // every line ends: more simulations would only revisit
    const round = run.nextRound();
    const batch = Math.min(parallel, simulations - done);
    const picked: SearchNode[] = [];
    for (let b = 0; b < batch; b++) {
      const leaf = select();
      picked.push(leaf);
      walkUp(leaf, (x) => x.visits++); // virtual loss: a visit worth 0 until this batch is backed up
    }
    for (const leaf of picked) walkUp(leaf, (x) => x.visits--);
    const toExpand = [...new Set(picked.filter(expandable))];
    // a leaf that cannot grow (an answer, or at maxSteps) is its own evaluation
    for (const leaf of picked) if (!expandable(leaf)) backup(leaf, leafValue(leaf));
    if (toExpand.length > 0) {
      const granted = fitInOrder(
        toExpand.map((node) => ({ node, n: m })),
        run.capacity(),
      );
      if (granted.length === 0) {
        stop = 'budget';
        break;
      }
      const groups = await run.expand(granted);
      await run.score(groups.flat());
      groups.forEach((kids, i) => {
        setPriors(kids, tau);
        // the expanded leaf is worth its best proposed step
        backup(granted[i].node, kids.length > 0 ? Math.max(...kids.map(leafValue)) : 0);
      });
      if (granted.length < toExpand.length || granted.some((g) => g.n < m)) {
        done += batch;
        stop = 'budget';
        break;
      }
    }
    done += batch;
    const finished = nodes.filter((x) => x.status === 'terminal').length;
    run.emit({ type: 'round', strategy: owner, round, live: nodes.filter(expandable).length, finished, usage: { ...run.budget.usage } });
  }
  if (stop !== 'budget' && finish) stop = await finishLine(run, m);
  const terminals = nodes.filter((x) => x.status === 'terminal');
  // without a finished chain, offer the most promising open lines so something is selected
  const candidates = terminals.length > 0 ? terminals : nodes.filter((x) => x.parent >= 0 && x.children.length === 0);
  return run.finish(stop, candidates);
}

/**
 * Follows the most visited children from the root and, if that line is still open, completes
 * it greedily (best of `m` proposals per step), so the search always ends with the line it
 * believes in most spelled out to an answer.
 */
async function finishLine(run: SearchRun, m: number): Promise<StopReason> {
  const nodes = run.tree.nodes;
  let n = run.tree.root;
  while (n.children.length > 0) {
    let best = nodes[n.children[0]];
    for (const id of n.children) {
      const ch = nodes[id];
      if (ch.visits > best.visits || (ch.visits === best.visits && leafValue(ch) > leafValue(best))) best = ch;
    }
    n = best;
  }
  while (n.status !== 'terminal' && n.depth < run.maxSteps) {
    run.nextRound();
    const k = Math.min(m, run.capacity());
    if (k === 0) return 'budget';
    const [kids] = await run.expand([{ node: n, n: k }]);
    await run.score(kids);
    setPriors(kids, 0.25);
    n = kids.reduce((a, b) => (leafValue(b) > leafValue(a) ? b : a));
  }
  return n.status === 'terminal' ? 'complete' : 'maxSteps';
}

function leafValue(n: SearchNode): number {
  const v = n.score ?? 0;
  return Number.isNaN(v) ? 0 : v;
}

function setPriors(kids: readonly SearchNode[], tau: number): void {
  if (kids.length === 0) return;
  const vals = kids.map(leafValue);
  const top = Math.max(...vals);
  const w = vals.map((v) => Math.exp((v - top) / tau));
  const sum = w.reduce((a, b) => a + b, 0);
  kids.forEach((k, i) => (k.prior = w[i] / sum));
}
