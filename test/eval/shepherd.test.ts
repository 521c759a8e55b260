// Math-Shepherd labelling on the arithmetic task, where every step's true label is known.
import { existsSync, mkdtempSync, readFileSync, rmSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Continuation, GenerateOptions, GenerateRequest, Generator } from '../../lib/interfaces.js';
import { applyOp, ArithmeticGenerator, createArithmeticProblems, parseStep, verifySteps } from '../../lib/search/arithmetic.js';
import type { ArithmeticProblem } from '../../lib/search/arithmetic.js';
import { extractBoxed, answersEqual } from '../../lib/search/answer.js';
import { formatCost, labelSteps } from '../../lib/eval/shepherd/index.js';
import type { ShepherdChain } from '../../lib/eval/shepherd/index.js';

/** Counts what really crossed the Generator interface. */
class Counting implements Generator {
  readonly name: string;
  calls = 0;
  requests = 0;
  completions = 0;
  tokens = 0;
  requestsPerCall: number[] = [];
  constructor(private readonly inner: Generator) {
    this.name = `counting(${inner.name})`;
  }
  async generate(requests: readonly GenerateRequest[], options?: GenerateOptions): Promise<Continuation[][]> {
    const out = await this.inner.generate(requests, options);
    this.calls++;
    this.requests += requests.length;
    this.requestsPerCall.push(requests.length);
    for (const cs of out) for (const c of cs) (this.completions++, (this.tokens += c.tokens));
    return out;
  }
}

/** Full solutions written by a slipping policy: some chains right, some wrong at various steps. */
async function writeChains(problems: ArithmeticProblem[], slipRate: number, seed: number): Promise<ShepherdChain[]> {
  const policy = new ArithmeticGenerator({ problems, slipRate, seed });
  const steps: string[][] = problems.map(() => []);
  let live = problems.map((_, i) => i);
  while (live.length) {
    const got = await policy.generate(live.map((i) => ({ problem: problems[i]!.problem, steps: steps[i]!, n: 1 })));
    const next: number[] = [];
    live.forEach((i, k) => {
      const c = got[k]![0]!;
      steps[i]!.push(c.text);
      if (c.finishReason === 'stop') next.push(i);
    });
    live = next;
  }
  return problems.map((p, i) => ({ id: p.id, problem: p.problem, steps: steps[i]!, goldAnswer: String(p.answer) }));
}

/**
 * The share of `n` rollouts from `prefix` that end in the right answer, each rolled out step by
 * step to its end and judged by its boxed answer: a direct count, independent of how
 * labelSteps estimates the same quantity.
 */
async function finishRate(policy: Generator, p: ArithmeticProblem, prefix: readonly string[], n: number): Promise<number> {
  const chains = Array.from({ length: n }, () => [...prefix]);
  const finals: Array<string | undefined> = Array(n).fill(undefined);
  let live = chains.map((_, k) => k);
  for (let guard = 0; live.length > 0 && guard < 64; guard++) {
    const got = await policy.generate(live.map((k) => ({ problem: p.problem, steps: chains[k]!, n: 1 })));
    const next: number[] = [];
    live.forEach((k, j) => {
      const c = got[j]![0]!;
      chains[k]!.push(c.text);
      if (c.finishReason === 'stop') next.push(k);
      else finals[k] = extractBoxed(c.text);
    });
    live = next;
  }
  return finals.filter((a) => a !== undefined && answersEqual(a, String(p.answer))).length / n;
}

/** With a slip-free completer, does continuing from steps[0..i] reach the answer? (exact) */
function reachable(p: ArithmeticProblem, steps: readonly string[], i: number): boolean {
  const boxed = extractBoxed(steps[i]!);
  if (boxed !== undefined) return answersEqual(boxed, String(p.answer));
  let v = parseStep(steps[i]!)?.c ?? p.values[i]!;
  for (let j = i + 1; j < p.operations.length; j++) {
    v = applyOp(v, p.operations[j]!.op, p.operations[j]!.operand);
    if (!Number.isInteger(v)) v = Math.round(v);
  }
  return v === p.answer;
}

const problems = createArithmeticProblems(40, { seed: 3, steps: 5 });
const byId = new Map(problems.map((p) => [p.id, p]));
const chainsPromise = writeChains(problems, 0.25, 1);

describe('Math-Shepherd labelling', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prmkit-shepherd-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the test chains contain both correct and wrong steps', async () => {
    const chains = await chainsPromise;
    const labels = chains.flatMap((c) => verifySteps(byId.get(c.id)!, c.steps));
    expect(labels.filter(Boolean).length).toBeGreaterThan(40);
    expect(labels.filter((x) => !x).length).toBeGreaterThan(20);
  });

  // hardStepRate 0: no step is a trap the generator falls into even at slip rate 0
  it('a slip-free completer gives exactly the reachable-answer labels, matching the true labels', async () => {
    const chains = await chainsPromise;
    const generator = new Counting(new ArithmeticGenerator({ problems, slipRate: 0, hardStepRate: 0 }));
    const { labels, cost } = await labelSteps(chains, { generator, n: 4 });
    let agree = 0;
    let total = 0;
    for (const l of labels) {
      const p = byId.get(l.id)!;
      const truth = verifySteps(p, l.steps);
      l.steps.forEach((_, i) => {
        expect(l.hardLabels[i], `${l.id} step ${i}`).toBe(reachable(p, l.steps, i));
        expect(l.softLabels[i]).toBe(l.hardLabels[i] ? 1 : 0);
        // a right prefix always completes right; a wrong one may still recover (rounded
        // division swallows an error), the known blind spot of Math-Shepherd labels
        if (truth[i]) expect(l.hardLabels[i]).toBe(true);
        agree += Number(l.hardLabels[i] === truth[i]);
        total++;
      });
    }
    expect(agree / total).toBeGreaterThanOrEqual(0.8);
    // the final steps state their answer and are judged without rollouts
    expect(cost.directPrefixes).toBe(chains.length);
    expect(labels.every((l) => l.rollouts[l.rollouts.length - 1] === 0 && l.rollouts.slice(0, -1).every((r) => r === 4))).toBe(true);
    expect(cost.prefixes).toBe(chains.reduce((a, c) => a + c.steps.length - 1, 0));
  });

  it('soft labels estimate the chance of finishing right; wrong prefixes stay at 0', async () => {
    const chains = await chainsPromise;
    const policy = new ArithmeticGenerator({ problems, slipRate: 0.15, seed: 7 });
    const { labels } = await labelSteps(chains, { generator: policy, n: 16 });
    let err = 0;
    let bias = 0;
    let nRight = 0;
    let wrongSoft = 0;
    let nWrong = 0;
    for (const l of labels) {
      const p = byId.get(l.id)!;
      const truth = verifySteps(p, l.steps);
      for (let i = 0; i < l.steps.length - 1; i++) {
        if (truth[i]) {
          // the chance of finishing right, counted directly over many rollouts of the test's own
          const expected = await finishRate(new ArithmeticGenerator({ problems, slipRate: 0.15, seed: 1000 + i }), p, l.steps.slice(0, i + 1), 400);
          err += Math.abs(l.softLabels[i]! - expected);
          bias += l.softLabels[i]! - expected;
          nRight++;
        } else if (!reachable(p, l.steps, i)) {
          // no error-free continuation reaches the answer: only a lucky slip could
          wrongSoft += l.softLabels[i]!;
          nWrong++;
        }
      }
    }
    expect(nRight).toBeGreaterThan(20);
    expect(nWrong).toBeGreaterThan(10);
    expect(err / nRight).toBeLessThan(0.12);
    expect(Math.abs(bias / nRight)).toBeLessThan(0.05);
    expect(wrongSoft / nWrong).toBeLessThan(0.05);
  });

  it('batches across steps and chains and reports calls and generated tokens exactly', async () => {
    const chains = await chainsPromise;
    const generator = new Counting(new ArithmeticGenerator({ problems, slipRate: 0.1, seed: 2 }));
    const { cost } = await labelSteps(chains, { generator, n: 3, chainsPerBatch: 20, maxRequestsPerCall: 1000 });
    expect(cost.calls).toBe(generator.calls);
    expect(cost.requests).toBe(generator.requests);
    expect(cost.completions).toBe(generator.completions);
    expect(cost.generatedTokens).toBe(generator.tokens);
    expect(cost.generatedTokens).toBeGreaterThan(0);
    // the first call of each batch carries every non-final prefix of its 20 chains (4 each)
    expect(generator.requestsPerCall[0]).toBe(20 * 4);
    // rounds, not prefixes, drive the number of calls: at most 4 more steps per rollout
    expect(cost.calls).toBeLessThanOrEqual(2 * 5);
    expect(formatCost(cost)).toMatch(new RegExp(`generated tokens\\s+${cost.generatedTokens}`));

    const small = new Counting(new ArithmeticGenerator({ problems, slipRate: 0.1, seed: 2 }));
    await labelSteps(chains.slice(0, 5), { generator: small, n: 2, maxRequestsPerCall: 3 });
    expect(Math.max(...small.requestsPerCall)).toBeLessThanOrEqual(3);
  });

  it('resumes from its JSONL output without paying twice, and survives a torn last line', async () => {
    const chains = await chainsPromise;
    const out = join(dir, 'labels.jsonl');
    const full = await labelSteps(chains, { generator: new ArithmeticGenerator({ problems, slipRate: 0, hardStepRate: 0 }), n: 2 });

    // interrupted after the second batch of 8 chains
    const ac = new AbortController();
    await expect(
      labelSteps(chains, {
        generator: new ArithmeticGenerator({ problems, slipRate: 0, hardStepRate: 0 }),
        n: 2,
        chainsPerBatch: 8,
        output: out,
        signal: ac.signal,
        onProgress: (done) => done >= 16 && ac.abort(),
      }),
    ).rejects.toThrow();
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(16);
    appendFileSync(out, '{"id":"arith-3-5-99","problem":"St'); // a crash mid-write

    const generator = new Counting(new ArithmeticGenerator({ problems, slipRate: 0, hardStepRate: 0 }));
    const resumed = await labelSteps(chains, { generator, n: 2, chainsPerBatch: 8, output: out });
    expect(resumed.cost.resumed).toBe(16);
    expect(resumed.cost.chains).toBe(chains.length - 16);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(chains.length);
    expect(new Set(lines.map((l) => l.id)).size).toBe(chains.length);
    expect(resumed.labels.map((l) => l.hardLabels)).toEqual(full.labels.map((l) => l.hardLabels));
    // only the 24 remaining chains were rolled out
    const again = await labelSteps(chains, { generator, n: 2, output: out });
    expect(again.cost).toMatchObject({ resumed: chains.length, chains: 0, calls: 0 });

    // a file holding other chains under the same ids is refused, not trusted
    const other = chains.map((c) => ({ ...c, steps: [...c.steps.slice(0, -1), 'different'] }));
    await expect(labelSteps(other, { generator, n: 2, output: out })).rejects.toThrow(/different chain under id/);
    await expect(labelSteps(chains, { generator, n: 2, output: out, ifExists: 'error' })).rejects.toThrow(/already exists/);
    const fresh = await labelSteps(chains.slice(0, 2), { generator, n: 2, output: out, ifExists: 'overwrite' });
    expect(fresh.cost.chains).toBe(2);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it('rejects bad input before generating', async () => {
    const chains = await chainsPromise;
    const generator = new Counting(new ArithmeticGenerator({ problems }));
    await expect(labelSteps(chains, { generator, n: 0 })).rejects.toThrow(/n must be a positive integer/);
    await expect(labelSteps([chains[0]!, chains[0]!], { generator })).rejects.toThrow(/duplicate/);
    await expect(labelSteps([{ ...chains[0]!, goldAnswer: '' }], { generator })).rejects.toThrow(/goldAnswer/);
    await expect(labelSteps([{ ...chains[0]!, id: '' }], { generator })).rejects.toThrow(/chains\[0\].id/);
    await expect(labelSteps(chains, { generator: {} as never })).rejects.toThrow(/Generator/);
    await expect(labelSteps(chains, { generator, ifExists: 'maybe' as never })).rejects.toThrow(/ifExists/);
    expect(generator.calls).toBe(0);
    expect(existsSync(join(dir, 'never.jsonl'))).toBe(false);
  });

  it('names a generator that returns the wrong number of continuations', async () => {
    const chains = await chainsPromise;
    const short: Generator = { name: 'short', generate: async (reqs) => reqs.map(() => [{ text: '1 + 1 = 2', tokens: 5, finishReason: 'stop' }]) };
    await expect(labelSteps(chains.slice(0, 1), { generator: short, n: 3 })).rejects.toThrow(/short returned 1 continuations for a request of n = 3/);
    const bad: Generator = { name: 'bad', generate: async (reqs) => reqs.map((r) => Array.from({ length: r.n }, () => ({ text: 'x', tokens: 1, finishReason: 'done' as never }))) };
    await expect(labelSteps(chains.slice(0, 1), { generator: bad, n: 1 })).rejects.toThrow(/finishReason/);
  });

  it('understands PRM800K-style "# Answer" endings and reads answers from the whole solution', async () => {
    let calls = 0;
    const scripted: Generator = {
      name: 'scripted',
      generate: async (reqs) => {
        calls++;
        // a step that closes the solution without 'eos' (a server stopping at the separator)
        return reqs.map((r) => Array.from({ length: r.n }, () => ({ text: '2 + 12 = 14.\n\n# Answer\n\n14', tokens: 12, finishReason: 'stop' as const })));
      },
    };
    const chain = { id: 'p', problem: 'What is $2 + 3 \\cdot 4$?', steps: ['3 times 4 is 12.', '2 + 12 = 15.\n\n# Answer\n\n15'], goldAnswer: '14' };
    const { labels, cost } = await labelSteps([chain], { generator: scripted, n: 2 });
    expect(calls).toBe(1); // the "# Answer" step finished every rollout in one round
    expect(labels[0]!.hardLabels).toEqual([true, false]); // the last step is judged directly: 15 is wrong
    expect(cost.directPrefixes).toBe(1);

    // a rollout that ends at once ('eos', no text) leaves the prefix's own answer standing
    const ender: Generator = { name: 'ender', generate: async (reqs) => reqs.map((r) => Array.from({ length: r.n }, () => ({ text: '', tokens: 0, finishReason: 'eos' as const }))) };
    const quiet = { id: 'q', problem: 'What is 6 * 7?', steps: ['6 * 7 = 42'], goldAnswer: '42' };
    const done = await labelSteps([quiet], { generator: ender, n: 3 });
    expect(done.labels[0]!.softLabels).toEqual([1]);
  });

  it('gives up on rollouts that never finish, counting them as wrong', async () => {
    const chains = await chainsPromise;
    const endless: Generator = {
      name: 'endless',
      generate: async (reqs) => reqs.map((r) => Array.from({ length: r.n }, () => ({ text: 'and so on', tokens: 3, finishReason: 'stop' as const }))),
    };
    const { labels, cost } = await labelSteps(chains.slice(0, 2), { generator: endless, n: 2, maxRolloutSteps: 3 });
    expect(labels.every((l) => l.softLabels.slice(0, -1).every((s) => s === 0))).toBe(true);
    // 3 rounds: the first with n = 2 per prefix, then one request per live rollout
    expect(cost.calls).toBe(3);
    expect(cost.completions).toBe(cost.prefixes * 2 * 3);
  });
});
