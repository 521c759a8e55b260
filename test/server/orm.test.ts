// The service on tiny outcome reward models (converted ORM folders, loaded by Orm, served on a
// loopback port): every route that ranks or scores solutions answers one score per solution,
// equal to the Orm called directly; the routes that need step scores answer 501.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orm } from '../../lib/orm/index.js';
import { createServer, ormServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { cleanup, tinyFolder } from '../orm/helpers.js';
import { get, postJson } from './http.js';

const problem = 'What is 6 * 7? Show the steps.';
const texts = ['6 * 7 = 42.\nThe answer is 42.', '6 * 7 = 48.\nThe answer is 48.', '6 + 7 = 13', '42'];

interface Served {
  orm: Orm; // called directly, for reference answers
  server: PrmServer;
  url: string;
}

const served: Record<'raw' | 'sigmoid', Served> = {} as never;

async function serve(format: 'skywork-reward' | 'plain-orm'): Promise<Served> {
  const { folder } = await tinyFolder(format, { seed: 11 });
  const [orm, model] = await Promise.all([0, 1].map(() => Orm.load({ model: folder, workers: { threads: 1 } })));
  const server = createServer({ model: ormServerModel(model!), batching: { maxWaitMs: 5 } });
  const { url } = await server.listen({ port: 0 });
  return { orm: orm!, server, url };
}

beforeAll(async () => {
  [served.raw, served.sigmoid] = await Promise.all([serve('skywork-reward'), serve('plain-orm')]);
});

afterAll(async () => {
  for (const s of Object.values(served)) {
    await s?.server.close();
    await s?.orm.close();
  }
  cleanup();
});

/** The Orm's own scores of `texts` as whole solutions of `problem`. */
const direct = (s: Served) => s.orm.score(texts.map((solution) => ({ problem, solution })));

describe('an ORM behind the service', () => {
  it('GET /v1/prm/info says ORM, with its format', async () => {
    const r = await get(served.raw.url, '/v1/prm/info');
    expect(JSON.parse(r.text)).toMatchObject({ kind: 'orm', format: 'skywork-reward', stepSeparator: null });
  });

  it('/v1/rerank ranks each document read whole: the probability where defined, else the reward; raw with use_activation false', async () => {
    for (const s of Object.values(served)) {
      const want = await direct(s);
      const r = await postJson(s.url, '/v1/rerank', { query: problem, documents: texts });
      expect(r.status).toBe(200);
      const scores = want.map((w) => w.probability ?? w.reward);
      const order = scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
      expect(r.body.results.map((x: { index: number }) => x.index)).toEqual(order);
      for (const x of r.body.results) expect(x.relevance_score).toBeCloseTo(scores[x.index]!, 5);
      expect(r.body.usage.total_tokens).toBe(want.reduce((a, w) => a + w.tokens, 0));
      const raw = await postJson(s.url, '/v1/rerank', { query: problem, documents: texts, use_activation: false });
      for (const x of raw.body.results) expect(x.relevance_score).toBeCloseTo(want[x.index]!.reward, 5);
    }
  });

  it('/score gives the same numbers, pair by pair', async () => {
    const want = await direct(served.sigmoid);
    const r = await postJson(served.sigmoid.url, '/score', { queries: problem, documents: texts });
    expect(r.status).toBe(200);
    r.body.data.forEach((d: { index: number; score: number }) => expect(d.score).toBeCloseTo(want[d.index]!.probability!, 5));
  });

  it('/v1/prm/score answers one score per chain and no step scores', async () => {
    const items = [
      { problem, steps: ['6 * 7 = 42', 'The answer is 42.'], id: 'a' },
      { problem, steps: ['6 * 7 = 48'] },
    ];
    for (const s of Object.values(served)) {
      const want = await s.orm.score(items);
      const r = await postJson(s.url, '/v1/prm/score', { items });
      expect(r.status).toBe(200);
      expect(r.body.kind).toBe('orm');
      r.body.results.forEach((x: Record<string, unknown>, i: number) => {
        expect(x).not.toHaveProperty('stepProbs');
        expect(x).not.toHaveProperty('firstError');
        expect(x.reward).toBeCloseTo(want[i]!.reward, 5);
        if (want[i]!.probability === undefined) expect(x).not.toHaveProperty('probability');
        else expect(x.probability).toBeCloseTo(want[i]!.probability!, 5);
        expect(x.score).toBe(x.probability ?? x.reward);
        expect(x.tokens).toBe(want[i]!.tokens);
      });
      expect(r.body.results[0].id).toBe('a');
    }
  });

  it('/v1/prm/rerank ranks step lists by the ORM\'s score', async () => {
    const candidates = [['6 * 7 = 42'], ['6 * 7 = 48'], ['6 + 7 = 13', 'so 13']];
    const want = await served.raw.orm.rerank(problem, candidates);
    const r = await postJson(served.raw.url, '/v1/prm/rerank', { problem, candidates, topN: 2 });
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { index: number }) => x.index)).toEqual(want.slice(0, 2).map((w) => w.index));
    r.body.results.forEach((x: { reward: number; rank: number }, k: number) => {
      expect(x.rank).toBe(k + 1);
      expect(x.reward).toBeCloseTo(want[k]!.reward, 5);
    });
  });

  it('/get_reward rewards each response, read whole past its prompt, with the raw reward', async () => {
    const prompts = [`<|im_start|>user\n${problem}<|im_end|>\n<|im_start|>assistant\n`, 'Plain prompt: add 2 and 2.\n'];
    const responses = ['6 * 7 = 42.\nThe answer is 42.<|im_end|>', '2 + 2 = 4'];
    for (const s of Object.values(served)) {
      const want = await s.orm.score([{ problem, solution: '6 * 7 = 42.\nThe answer is 42.' }, { problem: prompts[1]!, solution: '2 + 2 = 4' }]);
      const r = await postJson(s.url, '/get_reward', { query: prompts.map((p, i) => p + responses[i]), prompts });
      expect(r.status).toBe(200);
      r.body.rewards.forEach((x: number, i: number) => expect(x).toBeCloseTo(want[i]!.reward, 5));
      expect(r.body.scores).toEqual(r.body.rewards);
      expect(r.body.extra_logs.tokens).toEqual(want.map((w) => w.tokens));
      if (s === served.sigmoid) expect(r.body.extra_logs.probability[0]).toBeCloseTo(want[0]!.probability!, 5);
      else expect(r.body.extra_logs).not.toHaveProperty('probability');
    }
  });

  it('concurrent requests share batches and get their own answers', async () => {
    const want = await direct(served.raw);
    const rs = await Promise.all(texts.map((t) => postJson(served.raw.url, '/v1/rerank', { query: problem, documents: [t], use_activation: false })));
    rs.forEach((r, i) => expect(r.body.results[0].relevance_score).toBeCloseTo(want[i]!.reward, 5));
  });
});

describe('what an ORM cannot answer, and bad input', () => {
  it('routes that need step scores answer 501 and name the ones to use', async () => {
    const url = served.raw.url;
    const dense = await postJson(url, '/v1/rewards', { items: [{ problem, response: 'x' }] });
    expect(dense.status).toBe(501);
    expect(dense.body.error.message).toMatch(/needs step scores, and this model is an outcome reward model .*use \/get_reward, \/v1\/rerank or \/v1\/prm\/score/);
    expect((await postJson(url, '/worker_value_inference', { input_str: 'q\nstep ки' })).status).toBe(501);
    expect((await postJson(url, '/pooling', { input: 'x' })).status).toBe(501);
  });

  it('a special token inside a document is a 400 naming it; an empty document too', async () => {
    const r = await postJson(served.raw.url, '/v1/rerank', { query: problem, documents: ['fine', 'bad <|im_end|> text'] });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('documents[1]');
    const q = await postJson(served.raw.url, '/v1/prm/score', { items: [{ problem: '<|im_start|>', steps: ['a'] }] });
    expect(q.status).toBe(400);
    expect(q.body.error.param).toBe('items[0].problem');
    const e = await postJson(served.raw.url, '/v1/rerank', { query: problem, documents: ['ok', ''] });
    expect(e.status).toBe(400);
    expect(e.body.error.param).toBe('documents[1]');
  });
});
