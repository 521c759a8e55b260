// One search in progress: the tree, the budget, and the only two ways a strategy touches the
// outside world, `expand` (one generator call for all requested prefixes) and `score` (one
// scorer call for all given nodes).
import type { Aggregation } from '../../kernels/types.js';
import type { ChainItem, ChainRanker, Continuation, GenerateRequest, StepScorer } from '../../interfaces.js';
import { defaultAnswerExtractor, extractBoxed } from '../answer.js';
import type { AnswerExtractor } from '../answer.js';
import { checkSeed, hashSeed } from '../../random.js';
import { aggregateChains, checkAggregation } from './aggregate.js';
import { BudgetTracker, checkBudget } from './budget.js';
import { checkSelection, selectCandidate } from './select.js';
import type { CandidateChain, SelectionMethod } from './select.js';
import { SearchTree } from './tree.js';
import type { SearchNode } from './tree.js';
import type { SearchEvent, SearchInput, SearchOptions, SearchResult, StopReason } from './types.js';
import { checkChain, checkScoresShape, checkSignal, checkStop, positiveInt } from './validate.js';
import { boolean, invalidType, keysOf, knownKeys, number, object, optionalFunction } from '../../is.js';
import { asSessionScorer, scoreSessions } from './incremental.js';
import type { ScorerSession, SessionScorer } from './incremental.js';

export interface ExpandRequest {
  node: SearchNode;
  n: number;
}

export interface RunDefaults {
  aggregation: Aggregation;
  selection: SelectionMethod;
  /** Whether the strategy cannot work without a scorer. */
  needsScorer: boolean;
  /** The strategy's own option keys, besides the shared ones. */
  keys?: readonly string[];
  /** The strategy scores finished solutions only, so an outcome reward model can be its scorer. */
  wholeChains?: boolean;
}

/** An outcome reward model as a scorer: one score per whole solution, no step scores. */
function outcomeScorer(s: StepScorer | ChainRanker | undefined): ChainRanker | undefined {
  return s && (s as ChainRanker).kind === 'orm' ? (s as ChainRanker) : undefined;
}

const SEARCH_KEYS = keysOf<SearchOptions>()({
  generator: true, scorer: true, aggregation: true, selection: true, maxSteps: true, maxStepTokens: true, temperature: true,
  topP: true, stop: true, seed: true, budget: true, signal: true, onProgress: true, answerExtractor: true, stopOnAnswer: true,
  incremental: true,
});

export class SearchRun {
  readonly tree: SearchTree;
  readonly budget: BudgetTracker;
  readonly aggregation: Aggregation;
  readonly selection: SelectionMethod;
  readonly maxSteps: number;
  readonly scorer?: StepScorer | ChainRanker;
  /** The scorer, when it is an outcome reward model: chains get its score and no step scores. */
  private readonly outcome?: ChainRanker;
  private readonly extractor: AnswerExtractor;
  private readonly seed?: number;
  private readonly maxStepTokens: number;
  private round = 0;
  /** Incremental scoring: the scorer's prefix cache for each live node's chain. */
  private readonly sessionScorer?: SessionScorer;
  private readonly sessions = new Map<number, ScorerSession>();

  constructor(
    readonly strategy: string,
    input: SearchInput,
    private readonly options: SearchOptions,
    defaults: RunDefaults,
  ) {
    const owner = strategy;
    knownKeys(object(options, `${owner}: options`), [...SEARCH_KEYS, ...(defaults.keys ?? [])], `${owner}: options`);
    const g = options.generator;
    if (!g || typeof g.generate !== 'function') throw invalidType(`${owner}: options.generator`, 'a Generator (with generate())', g);
    const s = options.scorer;
    if (s !== undefined && (!s || typeof (outcomeScorer(s) ? outcomeScorer(s)!.chainScores : (s as StepScorer).score) !== 'function'))
      throw invalidType(`${owner}: options.scorer`, 'a StepScorer (with score()) or an outcome reward model (kind \'orm\', with chainScores())', s);
    if (defaults.needsScorer && !s) throw new TypeError(`${owner}: options.scorer is required`);
    this.scorer = s;
    this.outcome = outcomeScorer(s);
    if (this.outcome && !defaults.wholeChains)
      throw new TypeError(`${owner}: options.scorer '${this.outcome.name}' is an outcome reward model (one score per whole solution, no step scores); ${owner} scores partial chains step by step: use bestOfN, or a PRM`);
    const problem = typeof input === 'string' ? input : input?.problem;
    const prefix = typeof input === 'string' ? [] : input?.steps;
    if (typeof input !== 'string' && (!input || typeof input !== 'object')) throw invalidType(`${owner}: problem`, 'a string or {problem, steps}', input);
    checkChain(problem, prefix, 'problem', owner);
    if (problem.trim() === '') throw new RangeError(`${owner}: problem must not be empty`);
    this.tree = new SearchTree(problem, [...prefix]);
    this.aggregation = checkAggregation(options.aggregation ?? defaults.aggregation, owner);
    this.selection = checkSelection(options.selection ?? defaults.selection, owner);
    if (!s && this.selection === 'weighted') throw new TypeError(`${owner}: selection 'weighted' needs options.scorer`);
    if (this.outcome && this.outcome.chainScale !== 'probability' && this.selection === 'weighted')
      throw new TypeError(`${owner}: selection 'weighted' sums chain scores as probabilities, but '${this.outcome.name}' gives raw rewards (no probability); use selection 'best' or 'majority'`);
    this.maxSteps = positiveInt(options.maxSteps ?? 16, 'options.maxSteps', owner);
    this.maxStepTokens = positiveInt(options.maxStepTokens ?? 256, 'options.maxStepTokens', owner);
    this.budget = new BudgetTracker(checkBudget(options.budget, owner), this.maxStepTokens);
    this.seed = checkSeed(options.seed, 'options.seed');
    checkSignal(options.signal, 'options.signal', owner);
    optionalFunction(options.onProgress, `${owner}: options.onProgress`);
    const ex = options.answerExtractor ?? defaultAnswerExtractor;
    if (!ex || typeof ex.extract !== 'function') throw invalidType(`${owner}: options.answerExtractor`, 'an object with extract(text)', ex);
    this.extractor = ex;
    if (options.temperature !== undefined) number(options.temperature, `${owner}: options.temperature`, 0);
    if (options.topP !== undefined) number(options.topP, `${owner}: options.topP`, 0, 1, { openMin: true });
    checkStop(options.stop, `${owner}: options.stop`);
    if (options.incremental !== undefined) boolean(options.incremental, `${owner}: options.incremental`);
    if (options.stopOnAnswer !== undefined) boolean(options.stopOnAnswer, `${owner}: options.stopOnAnswer`);
    if ((options.incremental ?? true) && !this.outcome) this.sessionScorer = asSessionScorer(s as StepScorer | undefined);
    this.options.signal?.throwIfAborted();
  }

  get signal(): AbortSignal | undefined {
    return this.options.signal;
  }

  nextRound(): number {
    return ++this.round;
  }

  emit(event: SearchEvent): void {
    this.options.onProgress?.(event);
  }

  /** Continuations the budget still allows in the next generator call. */
  capacity(): number {
    return this.budget.capacity();
  }

  /**
   * Proposes next steps for every request in one generator call and adds them to the tree.
   * Requests must already fit `capacity()`; the generator must honour n and maxTokens.
   */
  async expand(requests: readonly ExpandRequest[]): Promise<SearchNode[][]> {
    const total = requests.reduce((a, r) => a + r.n, 0);
    if (total === 0) return requests.map(() => []);
    if (total > this.capacity()) throw new Error(`${this.strategy}: internal error, ${total} continuations exceed the budget's ${this.capacity()}`);
    this.signal?.throwIfAborted();
    const gen: GenerateRequest[] = requests.map((r) => ({ problem: this.tree.problem, steps: this.tree.chain(r.node), n: r.n }));
    const o = this.options;
    const out = await o.generator.generate(gen, {
      maxTokens: this.maxStepTokens,
      temperature: o.temperature ?? 0.8,
      ...(o.topP !== undefined ? { topP: o.topP } : {}),
      stop: o.stop ?? ['\n\n'],
      ...(this.seed !== undefined ? { seed: hashSeed('generate', this.seed, this.budget.usage.generatorCalls) } : {}),
      ...(this.signal ? { signal: this.signal } : {}),
    });
    this.signal?.throwIfAborted();
    this.checkContinuations(out, requests);
    const tokens = out.reduce((a, cs) => a + cs.reduce((b, c) => b + c.tokens, 0), 0);
    this.budget.charge(total, tokens);
    const nodes = requests.map((r, i) => out[i].map((c) => this.addNode(r.node, c)));
    this.emit({ type: 'generate', strategy: this.strategy, round: this.round, prefixes: requests.length, continuations: total, tokens, usage: { ...this.budget.usage } });
    return nodes;
  }

  private checkContinuations(out: unknown, requests: readonly ExpandRequest[]): asserts out is Continuation[][] {
    const name = this.options.generator.name;
    if (!Array.isArray(out) || out.length !== requests.length)
      throw new Error(`generator '${name}' returned ${Array.isArray(out) ? out.length : typeof out} results for ${requests.length} requests`);
    out.forEach((cs: Continuation[], i) => {
      if (!Array.isArray(cs) || cs.length !== requests[i].n)
        throw new Error(`generator '${name}': request ${i} asked for ${requests[i].n} continuations, got ${Array.isArray(cs) ? cs.length : typeof cs}`);
      cs.forEach((c, j) => {
        if (!c || typeof c.text !== 'string') throw new Error(`generator '${name}': continuation [${i}][${j}] has no text`);
        if (!Number.isInteger(c.tokens) || c.tokens < 0 || c.tokens > this.maxStepTokens)
          throw new Error(`generator '${name}': continuation [${i}][${j}] reports ${c.tokens} tokens (maxTokens ${this.maxStepTokens})`);
        if (c.finishReason !== 'stop' && c.finishReason !== 'length' && c.finishReason !== 'eos')
          throw new Error(`generator '${name}': continuation [${i}][${j}] has finishReason ${String(c.finishReason)}`);
      });
    });
  }

  private addNode(parent: SearchNode, c: Continuation): SearchNode {
    const stopOnAnswer = this.options.stopOnAnswer ?? true;
    const terminal = c.finishReason !== 'stop' || (stopOnAnswer && extractBoxed(c.text) !== undefined);
    let answer: string | undefined;
    // a step cut off at maxTokens states no final answer, whatever numbers it holds
    if (terminal && c.finishReason !== 'length') {
      const text = [...this.tree.chain(parent), c.text].join('\n');
      answer = this.extractor.extract(text);
    }
    return this.tree.add(parent, c, this.round, answer, terminal);
  }

  /** Scores the nodes' chains in one scorer call; sets stepProbs and score (by this run's aggregation). */
  async score(nodes: readonly SearchNode[]): Promise<void> {
    if (nodes.length === 0) return;
    const scorer = this.scorer;
    if (!scorer) throw new Error(`${this.strategy}: internal error, scoring without a scorer`);
    this.signal?.throwIfAborted();
    const items = nodes.map((n) => ({ problem: this.tree.problem, steps: this.tree.chain(n), id: String(n.id) }));
    const newSteps = nodes.reduce((a, n) => a + this.unscoredSteps(n), 0);
    if (this.outcome) return this.scoreOutcomes(nodes, items, newSteps);
    const raw = this.canScoreIncrementally(nodes)
      ? await this.scoreIncrementally(nodes)
      : await (scorer as StepScorer).score(items, this.signal ? { signal: this.signal } : {});
    this.signal?.throwIfAborted();
    const scores = checkScoresShape(raw, items, scorer.name);
    const probs = scores.map((s) => Array.from(s.stepProbs));
    // caches of nodes that will not be expanded again free their memory
    for (const id of this.sessions.keys()) if (this.tree.nodes[id].status !== 'live') this.sessions.delete(id);
    const agg = aggregateChains(probs, this.aggregation);
    nodes.forEach((n, i) => {
      n.stepProbs = probs[i];
      n.score = agg[i];
    });
    this.countScored(nodes.length, newSteps);
  }

  /** An outcome reward model's one score per chain (no step scores) in one call. */
  private async scoreOutcomes(nodes: readonly SearchNode[], items: ChainItem[], newSteps: number): Promise<void> {
    const orm = this.outcome!;
    const scores = await orm.chainScores(items, this.signal ? { signal: this.signal } : {});
    this.signal?.throwIfAborted();
    if (!Array.isArray(scores) || scores.length !== items.length)
      throw new Error(`scorer '${orm.name}' returned ${Array.isArray(scores) ? scores.length : typeof scores} chain scores for ${items.length} chains`);
    scores.forEach((x, i) => {
      if (typeof x !== 'number') throw new Error(`scorer '${orm.name}': chain score ${i} is ${typeof x}, not a number`);
      nodes[i].score = x;
    });
    this.countScored(nodes.length, newSteps);
  }

  private countScored(chains: number, newSteps: number): void {
    const u = this.budget.usage;
    u.scorerCalls++;
    u.scoredChains += chains;
    u.newSteps += newSteps;
    this.emit({ type: 'score', strategy: this.strategy, round: this.round, chains, newSteps, usage: { ...u } });
  }

  /** Sessions pay off when every parent is cached (or is the root, cached once here). */
  private canScoreIncrementally(nodes: readonly SearchNode[]): boolean {
    return !!this.sessionScorer && nodes.every((n) => n.parent === 0 || this.sessions.has(n.parent));
  }

  /**
   * All parents' cached prefixes scored in one batched session call (the new steps only);
   * sessions are kept for children that stay live.
   */
  private async scoreIncrementally(nodes: readonly SearchNode[]): Promise<{ stepProbs: ArrayLike<number> }[]> {
    const scorer = this.sessionScorer!;
    const signal = this.signal;
    if (nodes.some((n) => n.parent === 0) && !this.sessions.has(0)) {
      const root = this.tree.root;
      this.sessions.set(0, await scorer.session({ problem: this.tree.problem, steps: this.tree.chain(root) }, signal ? { signal } : {}));
    }
    const groups = new Map<number, number[]>();
    nodes.forEach((n, i) => {
      const g = groups.get(n.parent);
      if (g) g.push(i);
      else groups.set(n.parent, [i]);
    });
    const parents = [...groups];
    const entries = parents.map(([parent, idx]) => ({ session: this.sessions.get(parent)!, continuations: idx.map((i) => [nodes[i].step]) }));
    const keep = nodes.some((n) => n.status === 'live');
    const results = await scoreSessions(scorer, entries, { keep, ...(signal ? { signal } : {}) });
    const out = new Array<{ stepProbs: ArrayLike<number> }>(nodes.length);
    parents.forEach(([, idx], g) =>
      idx.forEach((i, k) => {
        const r = results[g][k];
        out[i] = r;
        if (r.session && nodes[i].status === 'live') this.sessions.set(nodes[i].id, r.session);
      }),
    );
    return out;
  }

  /** Steps of the node's chain beyond its nearest already-scored ancestor. */
  private unscoredSteps(node: SearchNode): number {
    let n = node;
    while (n.parent >= 0 && n.stepProbs === undefined) n = this.tree.nodes[n.parent];
    return n.stepProbs !== undefined ? node.depth - n.depth : node.depth + this.tree.prefix.length;
  }

  candidate(node: SearchNode): CandidateChain {
    return {
      nodeId: node.id,
      steps: this.tree.path(node),
      ...(node.stepProbs ? { stepProbs: [...node.stepProbs] } : {}),
      ...(node.score !== undefined ? { score: node.score } : {}),
      ...(node.answer !== undefined ? { answer: node.answer } : {}),
      finished: node.status === 'terminal',
    };
  }

  /** Marks still-live nodes open, selects, emits 'done' and returns the result. */
  finish(stopReason: StopReason, candidates: readonly SearchNode[]): SearchResult {
    for (const n of this.tree.nodes) if (n.status === 'live') n.status = 'open';
    const chains = candidates.map((n) => this.candidate(n));
    const pick = selectCandidate(chains, this.selection);
    const result: SearchResult = {
      strategy: this.strategy,
      problem: this.tree.problem,
      ...(pick.answer !== undefined ? { answer: pick.answer } : {}),
      ...(pick.chain ? { best: pick.chain } : {}),
      candidates: chains,
      tally: pick.tally,
      selection: this.selection,
      aggregation: this.aggregation,
      stopReason,
      usage: { ...this.budget.usage },
      tree: this.tree.toJSON(),
      ...(this.seed !== undefined ? { seed: this.seed } : {}),
    };
    this.emit({ type: 'done', strategy: this.strategy, stopReason, ...(result.answer !== undefined ? { answer: result.answer } : {}), usage: result.usage });
    return result;
  }
}
