// Search options are checked like every other layer's: an unknown key (a typo, or another
// strategy's option) is an error naming the nearest known key, values are shown with their
// type, and a request that never reached a server says why (ECONNREFUSED), not "fetch failed".
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Continuation, GenerateRequest, Generator, StepScorer } from '../../lib/interfaces.js';
import { beamSearch, bestOfN, greedy, mcts, OpenAICompletionsGenerator } from '../../lib/search/index.js';
import { connectionFailure } from '../../lib/errors.js';
import { mulberry32, Rng } from '../../lib/random.js';

let calls = 0;
const generator: Generator = {
  name: 'counting',
  async generate(requests: readonly GenerateRequest[]): Promise<Continuation[][]> {
    calls++;
    return requests.map((r) => Array.from({ length: r.n }, (_, i) => ({ text: `step ${i} \\boxed{${i}}`, tokens: 3, finishReason: 'stop' as const })));
  },
};
const scorer: StepScorer = { name: 'flat', score: async (items) => items.map((it) => ({ stepProbs: it.steps.map(() => 0.5) })) };

describe('strategy options', () => {
  it('a typo names the nearest key, before any generator call', async () => {
    calls = 0;
    await expect(beamSearch('p', { generator, scorer, beamWidht: 2 } as never)).rejects.toThrow(/^beamSearch: options\.beamWidht is not an option; did you mean 'beamWidth'\?/);
    await expect(bestOfN('p', { generator, n: 2, maxStep: 3 } as never)).rejects.toThrow(/bestOfN: options\.maxStep is not an option; did you mean 'maxSteps'\?/);
    await expect(mcts('p', { generator, scorer, cpuct: 1 } as never)).rejects.toThrow(/did you mean 'cPuct'\?/);
    await expect(beamSearch('p', { generator, scorer, budget: { token: 10 } } as never)).rejects.toThrow(/beamSearch: options\.budget\.token is not an option; did you mean 'tokens'\?/);
    expect(calls).toBe(0);
  });

  it("another strategy's option is refused too, and the listed keys work", async () => {
    await expect(greedy('p', { generator, beamWidth: 2 } as never)).rejects.toThrow(/greedy: options\.beamWidth is not an option/);
    const r = await greedy('p', { generator, scorer, candidates: 2, maxSteps: 1 });
    expect(r.candidates.length).toBeGreaterThan(0);
  });

  it('values are shown with their type', async () => {
    await expect(beamSearch('p', { generator, scorer, beamWidth: '4' } as never)).rejects.toThrow('beamSearch: options.beamWidth must be a positive integer, got "4" (string)');
    await expect(bestOfN('p', { generator, n: 2, temperature: -1 })).rejects.toThrow('bestOfN: options.temperature must be a number >= 0, got -1 (number)');
    await expect(bestOfN('p', { generator, n: 2, seed: 2 ** 32 })).rejects.toThrow(/options\.seed must be an integer in \[0, 4294967295\], got 4294967296 \(number\)/);
  });
});

describe('connection failures', () => {
  it('name the cause of "fetch failed"', async () => {
    // a port that was just free: nothing listens there
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const g = new OpenAICompletionsGenerator({ baseUrl: `http://127.0.0.1:${port}/v1`, model: 'm', retries: 0, timeoutMs: 2000 });
    const e = await g.generate([{ problem: 'p', steps: [], n: 1 }]).catch((x: Error) => x);
    expect(e).toBeInstanceOf(Error);
    expect((e as Error).message).toMatch(/request failed after 1 attempts: fetch failed: .*ECONNREFUSED/);
  });

  it('walk causes and aggregate errors without repeating themselves', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:80'), { code: 'ECONNREFUSED' });
    const agg = Object.assign(new AggregateError([refused], ''), { code: 'ECONNREFUSED' });
    expect(connectionFailure(new TypeError('fetch failed', { cause: agg }))).toBe('fetch failed: ECONNREFUSED: connect ECONNREFUSED ::1:80');
    expect(connectionFailure(new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND x'), { code: 'ENOTFOUND' }) }))).toBe(
      'fetch failed: getaddrinfo ENOTFOUND x',
    );
    expect(connectionFailure('plain')).toBe('plain');
  });
});

describe('mulberry32', () => {
  it('is the stream Rng draws from, with the reference first values', () => {
    // mulberry32's first outputs for seed 1, computed with unbounded integers and explicit
    // 32-bit masks (an independent transcription of the algorithm)
    const u = mulberry32(1);
    const first = [u(), u(), u()];
    expect(first.map((x) => x * 2 ** 32)).toEqual([2693262067, 11749833, 2265367787]);
    const r = new Rng(1);
    expect([r.next(), r.next(), r.next()]).toEqual(first);
  });
});
