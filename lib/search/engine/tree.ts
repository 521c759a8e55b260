// The search tree every strategy grows. It records every proposed step, its score, and what
// the strategy did with it, so a result can be inspected or plotted after the fact.
import type { Continuation } from '../../interfaces.js';

export type NodeStatus =
  /** Still a frontier candidate. */
  | 'live'
  /** Has children. */
  | 'expanded'
  /** Dropped by the strategy (beam cut, DVTS sibling not chosen). */
  | 'pruned'
  /** Ends a chain: an answer, end of solution, or a truncated step. */
  | 'terminal'
  /** Left open when the search stopped (budget, max steps). */
  | 'open';

export interface SearchNode {
  id: number;
  /** -1 for the root. */
  parent: number;
  /** Steps from the root (the root, holding the problem and any given prefix, has depth 0). */
  depth: number;
  /** This node's step text ('' for the root). */
  step: string;
  /** Generated tokens for this step. */
  tokens: number;
  finishReason?: Continuation['finishReason'];
  /** The strategy round (depth, or MCTS simulation batch) that created it. */
  round: number;
  /** The answer the chain states at this node, if any. */
  answer?: string;
  /** P(chain correct) after each step of the whole chain, as the scorer returned it. */
  stepProbs?: number[];
  /** The chain's aggregated score in probability space (exp of the log aggregate). */
  score?: number;
  status: NodeStatus;
  children: number[];
  /** MCTS statistics (0 elsewhere). */
  visits: number;
  valueSum: number;
  prior?: number;
  /** Subtree index for DVTS. */
  subtree?: number;
}

export interface SearchTreeJSON {
  problem: string;
  prefix: string[];
  nodes: SearchNode[];
}

export class SearchTree {
  readonly nodes: SearchNode[] = [];

  constructor(
    readonly problem: string,
    readonly prefix: readonly string[],
  ) {
    this.nodes.push({ id: 0, parent: -1, depth: 0, step: '', tokens: 0, round: 0, status: 'live', children: [], visits: 0, valueSum: 0 });
  }

  get root(): SearchNode {
    return this.nodes[0];
  }

  add(parent: SearchNode, c: Continuation, round: number, answer: string | undefined, terminal: boolean): SearchNode {
    const node: SearchNode = {
      id: this.nodes.length,
      parent: parent.id,
      depth: parent.depth + 1,
      step: c.text,
      tokens: c.tokens,
      finishReason: c.finishReason,
      round,
      ...(answer !== undefined ? { answer } : {}),
      status: terminal ? 'terminal' : 'live',
      children: [],
      visits: 0,
      valueSum: 0,
    };
    this.nodes.push(node);
    parent.children.push(node.id);
    if (parent.status === 'live') parent.status = 'expanded';
    return node;
  }

  /** Generated steps from the root to `node` (without the given prefix). */
  path(node: SearchNode): string[] {
    const steps: string[] = [];
    for (let n = node; n.parent >= 0; n = this.nodes[n.parent]) steps.push(n.step);
    return steps.reverse();
  }

  /** The full chain a scorer or generator sees: prefix + generated steps. */
  chain(node: SearchNode): string[] {
    return [...this.prefix, ...this.path(node)];
  }

  toJSON(): SearchTreeJSON {
    return { problem: this.problem, prefix: [...this.prefix], nodes: this.nodes.map((n) => ({ ...n, children: [...n.children] })) };
  }
}

/** The tree in Graphviz DOT, nodes labelled with their score (for quick plots). */
export function treeToDot(tree: SearchTreeJSON): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  const lines = ['digraph search {', '  node [shape=box, fontsize=10];'];
  for (const n of tree.nodes) {
    const score = n.score === undefined ? '' : ` (${n.score.toFixed(3)})`;
    const label = n.parent < 0 ? 'root' : `${n.step.slice(0, 40)}${score}`;
    const style = n.status === 'pruned' ? ', color=gray' : n.status === 'terminal' ? ', color=blue' : '';
    lines.push(`  n${n.id} [label="${esc(label)}"${style}];`);
    if (n.parent >= 0) lines.push(`  n${n.parent} -> n${n.id};`);
  }
  lines.push('}');
  return lines.join('\n');
}
