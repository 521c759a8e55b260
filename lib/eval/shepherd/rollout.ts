// Batched rollouts: N completions of many partial chains at once. The Generator proposes one
// step per request (it stops at the step separator), so a rollout is a loop of rounds; every
// round sends all unfinished rollouts, across prefixes and chains, in as few calls as allowed.
import { show } from '../../is.js';
import type { Continuation, GenerateOptions, GenerateRequest, Generator } from '../../interfaces.js';

export interface RolloutTask {
  problem: string;
  /** The steps to continue from. */
  prefix: readonly string[];
}

/** What a finished set of rollouts says about one prefix. */
export interface RolloutOutcome {
  /** Final answer of each rollout; undefined when it stated none (cut off, or never finished). */
  answers: (string | undefined)[];
  generatedTokens: number;
  requests: number;
}

/** Running totals of generator use. */
export interface GeneratorCost {
  /** Generator.generate calls. */
  calls: number;
  /** GenerateRequests sent (one per prefix in the first round, one per live rollout after). */
  requests: number;
  /** Continuations received. */
  completions: number;
  generatedTokens: number;
}

export interface RolloutOptions {
  /** Rollouts per prefix. */
  n: number;
  /** Steps a rollout may add before it is abandoned as unfinished. */
  maxRolloutSteps: number;
  /** Requests per generate call. */
  maxRequestsPerCall: number;
  /** Generate calls in flight at once. */
  concurrency: number;
  generation: Omit<GenerateOptions, 'signal'>;
  signal?: AbortSignal;
  /** Does this step state the final answer (so the rollout is done even without 'eos')? */
  isFinal: (step: string) => boolean;
  /**
   * The final answer of a finished rollout, from the whole solution (prefix and rollout steps
   * joined by newlines): a rollout that ends at once leaves the prefix's own last statement.
   */
  extract: (text: string) => string | undefined;
}

interface Rollout {
  task: number;
  steps: string[];
  done: boolean;
  /** Ended on its own ('eos' or a final-answer step), so its answer counts. */
  finished: boolean;
}

const FINISH = new Set(['stop', 'length', 'eos']);

function checkContinuation(c: unknown, where: string): Continuation {
  const k = c as Continuation;
  if (!k || typeof k !== 'object' || typeof k.text !== 'string') throw new TypeError(`${where}: expected a Continuation { text, tokens, finishReason }`);
  if (typeof k.tokens !== 'number' || !(k.tokens >= 0)) throw new TypeError(`${where}: tokens must be a number >= 0, got ${show(k.tokens)}`);
  if (!FINISH.has(k.finishReason)) throw new TypeError(`${where}: finishReason must be 'stop', 'length' or 'eos', got ${show(k.finishReason)}`);
  return k;
}

async function pool<T>(jobs: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out = new Array<T>(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  return out;
}

export async function runRollouts(
  generator: Generator,
  tasks: readonly RolloutTask[],
  o: RolloutOptions,
  cost: GeneratorCost,
): Promise<RolloutOutcome[]> {
  const outcomes: RolloutOutcome[] = tasks.map(() => ({ answers: [], generatedTokens: 0, requests: 0 }));
  const rollouts: Rollout[] = [];
  for (let t = 0; t < tasks.length; t++)
    for (let j = 0; j < o.n; j++) rollouts.push({ task: t, steps: [], done: false, finished: false });

  // one round: `groups` lists, per request, the rollouts its continuations belong to
  const round = async (requests: GenerateRequest[], groups: Rollout[][]) => {
    const jobs: (() => Promise<void>)[] = [];
    for (let start = 0; start < requests.length; start += o.maxRequestsPerCall) {
      const reqs = requests.slice(start, start + o.maxRequestsPerCall);
      const owners = groups.slice(start, start + o.maxRequestsPerCall);
      jobs.push(async () => {
        o.signal?.throwIfAborted();
        const got = await generator.generate(reqs, { ...o.generation, ...(o.signal ? { signal: o.signal } : {}) });
        cost.calls++;
        cost.requests += reqs.length;
        if (!Array.isArray(got) || got.length !== reqs.length)
          throw new Error(`generator ${generator.name} returned ${Array.isArray(got) ? got.length : 'no'} results for ${reqs.length} requests`);
        got.forEach((conts, r) => {
          if (!Array.isArray(conts) || conts.length !== reqs[r]!.n)
            throw new Error(`generator ${generator.name} returned ${Array.isArray(conts) ? conts.length : 'no'} continuations for a request of n = ${reqs[r]!.n}`);
          conts.forEach((c, j) => {
            const k = checkContinuation(c, `generator ${generator.name}, request ${start + r}, continuation ${j}`);
            const roll = owners[r]![j]!;
            cost.completions++;
            cost.generatedTokens += k.tokens;
            outcomes[roll.task]!.generatedTokens += k.tokens;
            roll.steps.push(k.text);
            const final = o.isFinal(k.text);
            if (k.finishReason === 'eos' || final) roll.finished = roll.done = true;
            else if (k.finishReason === 'length' || roll.steps.length >= o.maxRolloutSteps) roll.done = true;
          });
        });
        for (const owner of owners) outcomes[owner[0]!.task]!.requests++;
      });
    }
    await pool(jobs, o.concurrency);
  };

  // first round: one request with n = N per prefix
  await round(
    tasks.map((t) => ({ problem: t.problem, steps: t.prefix, n: o.n })),
    tasks.map((_, t) => rollouts.slice(t * o.n, (t + 1) * o.n)),
  );
  for (;;) {
    const live = rollouts.filter((r) => !r.done);
    if (live.length === 0) break;
    await round(
      live.map((r) => ({ problem: tasks[r.task]!.problem, steps: [...tasks[r.task]!.prefix, ...r.steps], n: 1 })),
      live.map((r) => [r]),
    );
  }
  for (const r of rollouts)
    outcomes[r.task]!.answers.push(r.finished ? o.extract([...tasks[r.task]!.prefix, ...r.steps].join('\n')) : undefined);
  return outcomes;
}
