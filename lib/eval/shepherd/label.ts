// Math-Shepherd automatic step labels (Wang et al. 2024): a step is good when solutions that
// continue from it can still reach the gold answer. For every prefix steps[0..i], N rollouts
// from a Generator; hard label = any rollout correct, soft label = fraction correct.
import { PrmInputError, PrmInputTypeError } from '../../errors.js';
import { invalidType, keysOf, knownKeys, object, oneOf, optionalFunction, positiveInt, show, signal, string } from '../../is.js';
import type { GenerateOptions, Generator } from '../../interfaces.js';
import { answersEqual as defaultEqual, extractAnswer as defaultExtract, extractBoxed } from '../../search/answer.js';
import { runRollouts } from './rollout.js';
import type { GeneratorCost, RolloutTask } from './rollout.js';
import { openLabelStore } from './store.js';
import type { IfExists, ShepherdLabels } from './store.js';

// "# Answer" closes solutions in PRM800K and the policies trained on it
const ANSWER_LINE = /^#+\s*Answer\b/im;

/** A step states the final answer: a `\boxed{}` or an "# Answer" line. */
export function defaultIsFinal(step: string): boolean {
  return extractBoxed(step) !== undefined || ANSWER_LINE.test(step);
}

/** A chain to label and the answer it should reach. */
export interface ShepherdChain {
  /** Required: the output file and resuming key on it. */
  id: string;
  problem: string;
  steps: readonly string[];
  goldAnswer: string;
}

export interface LabelStepsOptions {
  generator: Generator;
  /** Rollouts per prefix (default 8, as in Math-Shepherd). */
  n?: number;
  /** Steps one rollout may add before it is given up as unfinished (default 32). */
  maxRolloutSteps?: number;
  /** Chains whose prefixes are rolled out together and then written out (default 32). */
  chainsPerBatch?: number;
  /** Requests per generate call (default 256). */
  maxRequestsPerCall?: number;
  /** Generate calls in flight at once (default 1; raise for a remote server). */
  concurrency?: number;
  /** Sampling options passed to every generate call. */
  generation?: Omit<GenerateOptions, 'signal'>;
  /** JSONL output, appended after every batch. */
  output?: string;
  /** When `output` exists: skip the chains it holds ('resume', default), start over, or fail. */
  ifExists?: IfExists;
  /** Does a step state the final answer? Default: it has a `\boxed{}` or a "# Answer" line (PRM800K style). */
  isFinal?: (step: string) => boolean;
  /** A finished solution's final answer (default: last `\boxed{}`, else the last number). */
  extractAnswer?: (text: string) => string | undefined;
  /** Answer equivalence (default: exact numeric value, else normalised text). */
  answersEqual?: (a: string, b: string) => boolean;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, cost: LabellingCost) => void;
}

export interface LabellingCost extends GeneratorCost {
  /** Chains labelled by this run. */
  chains: number;
  /** Chains found already labelled in the output file. */
  resumed: number;
  /** Prefixes rolled out. */
  prefixes: number;
  /** Prefixes judged directly because their last step states a final answer. */
  directPrefixes: number;
}

export interface LabellingResult {
  /** One entry per input chain, in input order (resumed ones included). */
  labels: ShepherdLabels[];
  cost: LabellingCost;
}

const orDefault = (v: unknown, name: string, dflt: number): number => (v === undefined ? dflt : positiveInt(v, name));

const LABEL_KEYS = keysOf<LabelStepsOptions>()({
  generator: true, n: true, maxRolloutSteps: true, chainsPerBatch: true, maxRequestsPerCall: true, concurrency: true,
  generation: true, output: true, ifExists: true, isFinal: true, extractAnswer: true, answersEqual: true, signal: true, onProgress: true,
});

function checkChains(chains: unknown): asserts chains is readonly ShepherdChain[] {
  if (!Array.isArray(chains)) throw invalidType('chains', 'an array of { id, problem, steps, goldAnswer }', chains);
  const ids = new Set<string>();
  const bad = (path: string, what: string, v: unknown) => new PrmInputTypeError(path, `must be ${what}, got ${show(v)}`);
  chains.forEach((c: ShepherdChain, i) => {
    if (!c || typeof c !== 'object') throw bad(`chains[${i}]`, 'an object { id, problem, steps, goldAnswer }', c);
    if (typeof c.id !== 'string' || !c.id) throw bad(`chains[${i}].id`, 'a non-empty string', c.id);
    if (ids.has(c.id)) throw new PrmInputError(`chains[${i}].id`, `${JSON.stringify(c.id)} is a duplicate`);
    ids.add(c.id);
    if (typeof c.problem !== 'string') throw bad(`chains[${i}].problem`, 'a string', c.problem);
    if (!Array.isArray(c.steps) || !c.steps.every((s) => typeof s === 'string')) throw bad(`chains[${i}].steps`, 'an array of strings', c.steps);
    if (typeof c.goldAnswer !== 'string' || !c.goldAnswer.trim()) throw bad(`chains[${i}].goldAnswer`, 'a non-empty string', c.goldAnswer);
  });
}

/** Labels every step of every chain; see the module comment. */
export async function labelSteps(chains: readonly ShepherdChain[], options: LabelStepsOptions): Promise<LabellingResult> {
  checkChains(chains);
  knownKeys(object(options, 'options', 'an object with a generator'), LABEL_KEYS);
  const { generator } = options;
  if (!generator || typeof generator.generate !== 'function') throw invalidType('options.generator', 'a Generator (with generate())', generator);
  const n = orDefault(options.n, 'n', 8);
  const maxRolloutSteps = orDefault(options.maxRolloutSteps, 'maxRolloutSteps', 32);
  const chainsPerBatch = orDefault(options.chainsPerBatch, 'chainsPerBatch', 32);
  const maxRequestsPerCall = orDefault(options.maxRequestsPerCall, 'maxRequestsPerCall', 256);
  const concurrency = orDefault(options.concurrency, 'concurrency', 1);
  const ifExists = oneOf(options.ifExists ?? 'resume', 'ifExists', ['resume', 'overwrite', 'error'] as const);
  if (options.output !== undefined) string(options.output, 'output', { nonEmpty: true });
  if (options.generation !== undefined) object(options.generation, 'generation', 'an object of GenerateOptions');
  if ((options.generation as GenerateOptions | undefined)?.signal) throw new TypeError('pass the AbortSignal as options.signal, not generation.signal');
  for (const k of ['isFinal', 'extractAnswer', 'answersEqual', 'onProgress'] as const) optionalFunction(options[k], k);
  signal(options.signal);
  const isFinal = options.isFinal ?? defaultIsFinal;
  const extract = options.extractAnswer ?? defaultExtract;
  const equal = options.answersEqual ?? defaultEqual;

  const store = options.output ? await openLabelStore(options.output, ifExists) : undefined;
  const cost: LabellingCost = { calls: 0, requests: 0, completions: 0, generatedTokens: 0, chains: 0, resumed: 0, prefixes: 0, directPrefixes: 0 };
  const byId = new Map<string, ShepherdLabels>();
  const todo: ShepherdChain[] = [];
  for (const c of chains) {
    const old = store?.done.get(c.id);
    if (!old) {
      todo.push(c);
      continue;
    }
    // a file from another dataset must not pass for this one's labels
    if (old.problem !== c.problem || old.steps.length !== c.steps.length || old.steps.some((s, i) => s !== c.steps[i]))
      throw new RangeError(`output ${options.output} holds a different chain under id ${c.id}; use another file or ifExists: 'overwrite'`);
    byId.set(c.id, old);
    cost.resumed++;
  }

  const reached = (answer: string | undefined, gold: string) => answer !== undefined && equal(answer, gold);
  for (let start = 0; start < todo.length; start += chainsPerBatch) {
    options.signal?.throwIfAborted();
    const batch = todo.slice(start, start + chainsPerBatch);
    const tasks: RolloutTask[] = [];
    const owner: { chain: number; step: number }[] = [];
    const labels: ShepherdLabels[] = batch.map((c, b) => {
      const L = c.steps.length;
      const l: ShepherdLabels = {
        id: c.id,
        problem: c.problem,
        steps: c.steps.slice(),
        goldAnswer: c.goldAnswer,
        hardLabels: new Array(L).fill(false),
        softLabels: new Array(L).fill(0),
        correct: new Array(L).fill(0),
        rollouts: new Array(L).fill(0),
        generatedTokens: 0,
        requests: 0,
      };
      for (let i = 0; i < L; i++) {
        if (isFinal(c.steps[i]!)) {
          // the prefix already ends in an answer: no rollout can change it
          const ok = reached(extract(c.steps.slice(0, i + 1).join('\n')), c.goldAnswer);
          l.hardLabels[i] = ok;
          l.softLabels[i] = ok ? 1 : 0;
          l.correct[i] = ok ? 1 : 0;
          cost.directPrefixes++;
        } else {
          tasks.push({ problem: c.problem, prefix: c.steps.slice(0, i + 1) });
          owner.push({ chain: b, step: i });
        }
      }
      return l;
    });
    const outcomes = await runRollouts(
      generator,
      tasks,
      { n, maxRolloutSteps, maxRequestsPerCall, concurrency, generation: options.generation ?? {}, signal: options.signal, isFinal, extract },
      cost,
    );
    outcomes.forEach((out, t) => {
      const { chain, step } = owner[t]!;
      const l = labels[chain]!;
      const k = out.answers.filter((a) => reached(a, l.goldAnswer)).length;
      l.correct[step] = k;
      l.rollouts[step] = out.answers.length;
      l.softLabels[step] = k / out.answers.length;
      l.hardLabels[step] = k > 0;
      l.generatedTokens += out.generatedTokens;
      l.requests += out.requests;
    });
    cost.prefixes += tasks.length;
    cost.chains += batch.length;
    await store?.append(labels);
    for (const l of labels) byId.set(l.id, l);
    options.onProgress?.(cost.resumed + cost.chains, chains.length, { ...cost });
  }
  return { labels: chains.map((c) => byId.get(c.id)!), cost };
}
