// The service on an implicit PRM (two tiny causal LMs converted with a reference): over real
// HTTP, /v1/prm/score answers stepRewards (no stepProbs) equal to the Prm's own, with beta,
// per-step rewards, the aggregate and the reward threshold per request; the probability
// fields and aggregates that multiply probabilities are refused with 400s naming the field;
// /v1/prm/info says what the model is; /v1/prm/rerank ranks by the reward aggregate.
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { createTinyCheckpoint } from '../../lib/testing/tiny-checkpoint.js';
import { get, postJson } from './http.js';

const items = Array.from({ length: 5 }, (_, i) => ({
  id: `c${i}`,
  problem: `What is ${i} + ${i + 2}?`,
  steps: [`We add ${i} and ${i + 2}.`, `${i} + ${i + 2} = ${2 * i + 2 + (i % 2)}.`, `The answer is ${2 * i + 2}.`].slice(0, 1 + (i % 3)),
}));

let dir: string;
let prm: Prm;
let server: PrmServer;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-implicit-server-'));
  createTinyCheckpoint({ dir: join(dir, 'p'), format: 'eurus-prm', seed: 5 });
  createTinyCheckpoint({ dir: join(dir, 'r'), format: 'eurus-prm', seed: 6 });
  await convert({ input: join(dir, 'p'), reference: join(dir, 'r'), output: join(dir, 'out') });
  prm = await Prm.load({ model: join(dir, 'out'), name: 'tiny-eurus' });
  server = createServer({ model: prmServerModel(prm), batching: { maxWaitMs: 5 }, closeModel: false });
  ({ url } = await server.listen({ port: 0 }));
}, 120_000);

afterAll(async () => {
  await server?.close();
  await prm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the service on an implicit PRM', () => {
  it('/v1/prm/score answers step rewards, as the Prm does, and no probabilities', async () => {
    const r = await postJson(url, '/v1/prm/score', { items });
    expect(r.status).toBe(200);
    expect(r.body.aggregate).toBe('min');
    const direct = await prm.score(items);
    r.body.results.forEach((res: any, i: number) => {
      expect(res.stepProbs).toBeUndefined();
      expect(res.id).toBe(`c${i}`);
      res.stepRewards.forEach((q: number, k: number) => expect(q).toBeCloseTo(direct[i]!.stepRewards![k]!, 9));
      expect(res.score).toBeCloseTo(direct[i]!.score, 9);
      expect(Object.keys(res.aggregates).sort()).toEqual(['last', 'mean', 'min']);
      expect(res.firstError).toBe(direct[i]!.firstError);
    });
  });

  it('beta, per-step rewards, the aggregate and the reward threshold are per request', async () => {
    const body = { items, beta: 0.5, rewards: 'step', aggregate: 'last', rewardThreshold: -1e-3 };
    const r = await postJson(url, '/v1/prm/score', body);
    expect(r.status).toBe(200);
    const direct = await prm.score(items, { beta: 0.5, rewards: 'step', aggregate: 'last', rewardThreshold: -1e-3 });
    r.body.results.forEach((res: any, i: number) => {
      res.stepRewards.forEach((q: number, k: number) => expect(q).toBeCloseTo(direct[i]!.stepRewards![k]!, 9));
      expect(res.score).toBeCloseTo(direct[i]!.score, 9);
      expect(res.firstError).toBe(direct[i]!.firstError);
    });
  });

  it('refuses what reads probabilities, naming the field', async () => {
    const bad = async (extra: object, param: string, message: RegExp) => {
      const r = await postJson(url, '/v1/prm/score', { items, ...extra });
      expect(r.status).toBe(400);
      expect(r.body.error.param).toBe(param);
      expect(r.body.error.message).toMatch(message);
    };
    await bad({ errorThreshold: 0.5 }, 'errorThreshold', /errorThreshold is a probability/);
    await bad({ aggregate: 'prod' }, 'aggregate', /multiplies probabilities/);
    const dense = await postJson(url, '/v1/rewards', { items: [{ problem: 'p', response: 'a' }] });
    expect(dense.status).toBe(400);
    expect(dense.body.error.message).toMatch(/implicit PRM/);
  });

  it('/v1/prm/info says the model gives rewards; /v1/prm/rerank ranks by them', async () => {
    const info = JSON.parse((await get(url, '/v1/prm/info')).text);
    expect(info).toMatchObject({ kind: 'prm', format: 'eurus-prm', aggregations: ['min', 'last', 'mean'], defaultAggregate: 'min', rewards: { beta: 0.001, rewards: 'cumulative' } });
    const r = await postJson(url, '/v1/prm/rerank', { problem: items[0].problem, candidates: items.map((c) => c.steps), aggregate: 'mean' });
    expect(r.status).toBe(200);
    const scores = r.body.results.map((x: any) => x.score);
    expect(scores).toEqual([...scores].sort((a: number, b: number) => b - a));
    expect(r.body.results[0].stepRewards).toBeDefined();
    expect(r.body.results[0].stepProbs).toBeUndefined();
  });

  it('a server over an implicit PRM refuses a default aggregate of probabilities at setup', () => {
    expect(() => createServer({ model: prmServerModel(prm), defaultAggregate: 'prod', closeModel: false })).toThrow(/multiplies probabilities/);
  });
});
