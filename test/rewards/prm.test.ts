// Prm.denseRewards and /v1/rewards on a real (tiny, generated) PRM: the step probabilities
// are the ones Prm.score computes for the same steps, and the service gives what the
// method gives.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { PolicyTokenizer } from '../../lib/rewards/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import { repoRoot } from '../helpers/index.js';
import { postJson } from '../server/http.js';

const llamaDir = join(repoRoot, 'node_modules', '@lenml', 'tokenizer-llama3_1', 'models');
let dir: string;
let prm: Prm;
let served: Prm;
let server: PrmServer;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-rewards-'));
  const tiny = await createTinyModel({ dir, seed: 11 });
  const load = () => Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd', name: 'tiny' });
  [prm, served] = await Promise.all([load(), load()]);
  server = createServer({ model: prmServerModel(served), batching: { maxWaitMs: 5 } });
  ({ url } = await server.listen({ port: 0 }));
});

afterAll(async () => {
  await server?.close();
  await prm?.close();
  rmSync(dir, { recursive: true, force: true });
});

const problem = 'What is 6 times 7?';
const response = 'Six sevens: 7 + 7 + 7 + 7 + 7 + 7.\n\nThat is 42.\n\nThe answer is 42.';

describe('Prm.denseRewards on the tiny PRM', () => {
  it('scores the split steps exactly as Prm.score does and places them on the policy tokens', async () => {
    const policy = PolicyTokenizer.load(llamaDir);
    const [d] = await prm.denseRewards([{ problem, response }], { policyTokenizer: policy, stepReward: 'logprob' });
    const [s] = await prm.score([{ problem, steps: response.split('\n\n') }]);
    expect(d.stepProbs).toEqual(s.stepProbs);
    d.stepRewards.forEach((r, k) => expect(r).toBeCloseTo(Math.log(s.stepProbs[k]), 10));
    expect(d.score).toBe(s.score);
    const { starts } = policy.spans(response);
    expect(d.tokens).toBe(starts.length);
    expect(d.stepEnds[d.stepEnds.length - 1]).toBe(starts.length - 1);
  });

  it('the service answers /v1/rewards with the same numbers', async () => {
    const policy = PolicyTokenizer.load(llamaDir);
    const { starts, ends } = policy.spans(response);
    const tokenOffsets = Array.from(starts, (a, t) => [a, ends[t]]);
    const [d] = await prm.denseRewards([{ problem, response, tokenOffsets: tokenOffsets as [number, number][] }], { placement: 'spread' });
    const r = await postJson(url, '/v1/rewards', { items: [{ problem, response, tokenOffsets }], placement: 'spread' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const res = r.body.results[0];
    res.stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(d.stepProbs[k], 5));
    expect(res.stepEnds).toEqual(d.stepEnds);
    res.tokenRewards.forEach((v: number, t: number) => expect(v).toBeCloseTo(d.tokenRewards![t], 5));
  });

  it('a step holding the format separator is refused naming it', async () => {
    await expect(prm.denseRewards([{ problem, steps: ['1 + 1 ки', '= 2'] }])).rejects.toThrow(/items\[0\]\.steps\[0\]/);
  });
});
