// The service on the real (tiny) PRM: a generated ONNX transformer + tokenizer, loaded by
// Prm, served on a loopback port, and asked over real HTTP. Answers are checked against
// the same Prm called directly, and /pooling against prmkit's own vLLM client.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { get, metricValue, postAndDisconnect, postJson, until } from './http.js';

const problems = Array.from({ length: 12 }, (_, i) => ({
  problem: `What is ${i} + ${i + 1}? Show the steps.`,
  steps: [`We add ${i} and ${i + 1}.`, `${i} + ${i + 1} = ${2 * i + 1 + (i % 3 === 0 ? 1 : 0)}.`, `The answer is ${2 * i + 1}.`],
}));

let dir: string;
let tiny: TinyModel;
let prm: Prm; // scored directly, for reference answers
let served: Prm;
let server: PrmServer;
let url: string;

const load = () => Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd', name: 'tiny-shepherd' });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-server-'));
  tiny = await createTinyModel({ dir, seed: 7 });
  [prm, served] = await Promise.all([load(), load()]);
  // one row per token on /pooling (vLLM's ALL pooler); the STEP pooler is covered by vllm-pooling.test.ts
  server = createServer({ model: prmServerModel(served), pooling: 'all', batching: { maxWaitMs: 5 }, limits: { maxBodyBytes: 64 * 1024 } });
  ({ url } = await server.listen({ port: 0 }));
});

afterAll(async () => {
  await server?.close();
  await prm?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('prmkit server on the tiny PRM', () => {
  it('serves /v1/prm/score with the numbers the Prm computes', async () => {
    const items = problems.slice(0, 4).map((p, i) => ({ ...p, id: `p${i}` }));
    const r = await postJson(url, '/v1/prm/score', { items, aggregate: 'min' });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe('tiny-shepherd');
    const direct = await prm.score(items, { aggregate: 'min' });
    r.body.results.forEach((res: any, i: number) => {
      expect(res.id).toBe(`p${i}`);
      expect(res.stepProbs).toHaveLength(3);
      res.stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(direct[i]!.stepProbs[k]!, 5));
      expect(res.score).toBeCloseTo(direct[i]!.score, 5);
      expect(res.firstError).toBe(direct[i]!.firstError);
      expect(res.tokens).toBe(direct[i]!.tokens);
    });
    expect(r.body.usage.tokens).toBe(direct.reduce((a, d) => a + d.tokens, 0));
  });

  it('serves /v1/prm/rerank in the order Prm.rerank gives', async () => {
    const candidates = problems.slice(0, 6).map((p) => p.steps);
    const r = await postJson(url, '/v1/prm/rerank', { problem: 'Which is right?', candidates, topN: 4, aggregate: 'prod' });
    expect(r.status).toBe(200);
    const direct = await prm.rerank('Which is right?', candidates, { topN: 4, aggregate: 'prod' });
    expect(r.body.results.map((x: any) => x.index)).toEqual(direct.map((d) => d.index));
    r.body.results.forEach((x: any, i: number) => expect(x.score).toBeCloseTo(direct[i]!.score, 5));
  });

  it('answers a vLLM-style /pooling request like vLLM', async () => {
    // what vLLM's own pooling client example does: learn the model name, then pool
    const models = JSON.parse((await get(url, '/v1/models')).text);
    expect(models.object).toBe('list');
    const name = models.data[0].id;
    expect(name).toBe('tiny-shepherd');
    const texts = ['1 + 1 = 2 ки', 'so the answer is 2 ки'];
    const r = await postJson(url, '/pooling', { model: name, input: texts, task: 'token_classify', encoding_format: 'float' });
    expect(r.status).toBe(200);
    expect(Object.keys(r.body).sort()).toEqual(['created', 'data', 'id', 'model', 'object', 'usage']);
    expect(r.body.object).toBe('list');
    const direct = await prm.classifyTokens(texts);
    r.body.data.forEach((d: any, i: number) => {
      expect(d.index).toBe(i);
      expect(d.object).toBe('pooling');
      expect(d.data).toHaveLength(direct[i]!.tokens.length);
      d.data.forEach((row: number[], t: number) => row.forEach((p, k) => expect(p).toBeCloseTo(direct[i]!.probs[t]![k]!, 5)));
    });
    const n = direct.reduce((a, d) => a + d.tokens.length, 0);
    expect(r.body.usage.prompt_tokens).toBe(n);
    expect(r.body.usage.total_tokens).toBe(n);
  });

  it("works as the backbone of prmkit's own vLLM client (Prm.connect), unchanged", async () => {
    const remote = await Prm.connect({ tokenizer: tiny.tokenizer, format: 'math-shepherd', vllm: { url, model: 'tiny-shepherd', maxBatch: 3 } });
    try {
      const items = problems.slice(0, 5);
      const [viaHttp, direct] = await Promise.all([remote.score(items), prm.score(items)]);
      viaHttp.forEach((r, i) => {
        expect(r.stepProbs).toHaveLength(direct[i]!.stepProbs.length);
        r.stepProbs.forEach((p, k) => expect(p).toBeCloseTo(direct[i]!.stepProbs[k]!, 5));
      });
    } finally {
      await remote.close();
    }
  });

  it('refuses malformed JSON, wrong types and oversize bodies with JSON errors', async () => {
    const bad = await postJson(url, '/v1/prm/score', '{"items": [{"problem": "x", "steps": [}');
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('body');
    const wrong = await postJson(url, '/v1/prm/score', { items: [{ problem: 'x', steps: [1, 2] }] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.param).toBe('items[0].steps[0]');
    const big = await postJson(url, '/v1/prm/score', { items: [{ problem: 'x'.repeat(70 * 1024), steps: ['a'] }] });
    expect(big.status).toBe(413);
    expect(big.body.error.param).toBe('body');
    // a step holding the format's step tag would be mis-split: refused, naming the step
    const tag = await postJson(url, '/v1/prm/score', { items: [{ problem: 'x', steps: ['fine', 'sneaky ки tag'] }] });
    expect(tag.status).toBe(400);
    expect(tag.body.error.param).toBe('items[0].steps[1]');
    const tagRerank = await postJson(url, '/v1/prm/rerank', { problem: 'x', candidates: [['a'], ['b', 'c ки']] });
    expect(tagRerank.status).toBe(400);
    expect(tagRerank.body.error.param).toBe('candidates[1][1]');
    const oov = await postJson(url, '/pooling', { input: [[1, 2], [1, 99999, 3]] });
    expect(oov.status).toBe(400);
    expect(oov.body.error.param).toBe('input[1][1]');
    expect(oov.body.error.message).toContain('out of vocabulary');
    const ids = await postJson(url, '/pooling', { input: [[1, -2, 3]] });
    expect(ids.status).toBe(400);
    expect(ids.body.error.param).toMatch(/^input/);
  });

  it('batches concurrent requests and answers each with its own chain', async () => {
    const n = 36;
    // the batch closes when it holds all n chains, never on its (test-outliving) timer: one
    // batch however the requests happen to arrive
    const batching = { maxWaitMs: 600_000, maxBatchItems: n };
    const s = createServer({ model: prmServerModel(await load()), batching, requestTimeoutMs: 600_000 });
    const { url: u } = await s.listen();
    try {
    const replies = await Promise.all(
      Array.from({ length: n }, (_, i) => postJson(u, '/v1/prm/score', { items: [problems[i % problems.length]!] })),
    );
    expect(replies.every((r) => r.status === 200)).toBe(true);
    const direct = await prm.score(problems);
    replies.forEach((r, i) => {
      const d = direct[i % problems.length]!;
      r.body.results[0].stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(d.stepProbs[k]!, 5));
    });
    const page = (await get(u, '/metrics')).text;
    expect(metricValue(page, 'prmkit_batch_size_count')).toBe(1);
    expect(metricValue(page, 'prmkit_batch_size_sum')).toBe(n);
    expect(metricValue(page, 'prmkit_backbone_tokens_total')).toBe(replies.reduce((a, r) => a + r.body.usage.tokens, 0));
    } finally {
      await s.close();
    }
  });

  it('survives clients that disconnect mid-request', async () => {
    await Promise.all(Array.from({ length: 6 }, (_, i) => postAndDisconnect(url, '/v1/prm/score', { items: problems.slice(i, i + 4) }, i * 3)));
    await until(async () => {
      const h = JSON.parse((await get(url, '/health')).text);
      return h.status === 'ok' && h.inFlight === 0 && h.queue.requests === 0;
    }, 'the server to settle after the disconnects');
    const after = await postJson(url, '/v1/prm/score', { items: problems.slice(0, 2) });
    expect(after.status).toBe(200);
  });
});

describe('shutdown on the tiny PRM', () => {
  it('answers every request in flight, then closes the model', async () => {
    const model = await load();
    // a batch window and a deadline longer than the test's own timeout: close() can only
    // finish in time by running the queue at once
    const s = createServer({ model: prmServerModel(model), batching: { maxWaitMs: 600_000 }, requestTimeoutMs: 600_000 });
    const { url: u } = await s.listen();
    const pending = Array.from({ length: 8 }, (_, i) => postJson(u, '/v1/prm/score', { items: [problems[i]!] }));
    await until(() => s.context.scores.queuedRequests === 8, 'eight queued requests');
    await s.close();
    const replies = await Promise.all(pending);
    expect(replies.map((r) => r.status)).toEqual(Array(8).fill(200));
    replies.forEach((r) => expect(r.body.results[0].stepProbs).toHaveLength(3));
    await expect(model.score(problems.slice(0, 1))).rejects.toThrow(/closed/);
  });
});
