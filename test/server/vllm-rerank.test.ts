// Reranking and scoring solutions with a PRM through the APIs clients already speak:
// /rerank, /v1/rerank, /v2/rerank in the Jina/Cohere schema (as vLLM serves it, and as the
// LangChain/LlamaIndex/Cohere/Jina rerankers send it), TEI's `texts` form, and vLLM's /score
// shapes (queries/documents, data_1/data_2, text_1/text_2, as test_cross_encoder_online.py
// sends them). Each document is one solution, split into steps; the expected numbers are the
// Prm's own chain scores of the same steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { splitSteps } from '../../lib/formats/split.js';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { cleanup, tiny } from '../prm/helpers.js';
import { postJson } from './http.js';

const QUERY = 'Natalia sold clips to 48 friends in April, and half as many in May. How many clips in all?';
const DOCUMENTS = [
  'In May she sold 48 / 2 = 24 clips.\n\nIn all she sold 48 + 24 = 72 clips.\n\nThe answer is 72.',
  'In May she sold 48 * 2 = 96 clips.\n\nThe answer is 144.',
  'She sold 48 + 24 = 72 clips.',
  'In May: 24.<extra_0>Total: 72.<extra_0>',
];

let prm: Prm;
let server: PrmServer;
let url: string;
let lines: PrmServer;
let linesUrl: string;
const NAME = 'qwen-prm';

beforeAll(async () => {
  const m = await tiny({ output: 'logits', format: 'qwen2.5-math-prm', layers: 2, hidden: 32, seed: 3 });
  prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm', workers: { threads: 1 }, maxContext: 400 });
  server = createServer({ model: prmServerModel(prm), modelName: NAME, closeModel: false, batching: { maxWaitMs: 1 } });
  lines = createServer({ model: prmServerModel(prm), modelName: NAME, stepSplitter: 'lines', closeModel: false, batching: { maxWaitMs: 1 } });
  ({ url } = await server.listen());
  ({ url: linesUrl } = await lines.listen());
});

afterAll(async () => {
  await server?.close();
  await lines?.close();
  await prm?.close();
  cleanup();
});

/** The Prm's chain score (probability) of each solution, split as the server documents it. */
async function expected(problem: string, texts: string[], splitter = 'auto', aggregate: 'prod' | 'min' = 'prod'): Promise<number[]> {
  const items = texts.map((t) => ({ problem, steps: splitSteps(t, splitter, '<extra_0>').map((s) => s.text) }));
  return (await prm.score(items, { aggregate })).map((s) => s.score);
}

const byScore = (scores: number[]) => scores.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);

describe('Jina/Cohere rerank', () => {
  it('ranks documents by their chain score on /rerank, /v1/rerank and /v2/rerank', async () => {
    const want = await expected(QUERY, DOCUMENTS);
    // the blank-line split gives 3, 2 and 1 steps; the fourth splits on the format's own tag
    expect(DOCUMENTS.map((d) => splitSteps(d, 'auto', '<extra_0>').length)).toEqual([3, 2, 1, 2]);
    for (const path of ['/rerank', '/v1/rerank', '/v2/rerank']) {
      const r = await postJson(url, path, { model: NAME, query: QUERY, documents: DOCUMENTS });
      expect(r.status).toBe(200);
      expect(r.body.id).toMatch(/^rerank-/);
      expect(r.body.model).toBe(NAME);
      expect(r.body.usage.total_tokens).toBeGreaterThan(0);
      expect(r.body.usage.prompt_tokens).toBe(r.body.usage.total_tokens);
      expect(r.body.results.map((x: { index: number }) => x.index)).toEqual(byScore(want));
      for (const x of r.body.results) {
        expect(x.relevance_score).toBeCloseTo(want[x.index]!, 5);
        expect(x.relevance_score).toBeGreaterThan(0);
        expect(x.relevance_score).toBeLessThan(1);
        expect(x.document).toEqual({ text: DOCUMENTS[x.index] });
      }
    }
  });

  it('takes {text} documents, top_n and return_documents as Cohere/Jina clients send them', async () => {
    const want = await expected(QUERY, DOCUMENTS);
    const r = await postJson(url, '/v2/rerank', { model: NAME, query: QUERY, documents: DOCUMENTS.map((text) => ({ text })), top_n: 2, return_documents: false });
    expect(r.status).toBe(200);
    expect(r.body.results).toHaveLength(2);
    expect(r.body.results.map((x: { index: number }) => x.index)).toEqual(byScore(want).slice(0, 2));
    for (const x of r.body.results) expect(x.document).toBeUndefined();
    // vLLM's top_n default 0: everything
    const every = await postJson(url, '/v1/rerank', { query: QUERY, documents: DOCUMENTS, top_n: 0 });
    expect(every.body.results).toHaveLength(DOCUMENTS.length);
  });

  it("answers TEI's {query, texts} with its bare array", async () => {
    const want = await expected(QUERY, DOCUMENTS);
    const r = await postJson(url, '/rerank', { query: QUERY, texts: DOCUMENTS, return_text: true });
    expect(r.status).toBe(200);
    expect(Array.isArray(r.body)).toBe(true);
    expect(r.body.map((x: { index: number }) => x.index)).toEqual(byScore(want));
    for (const x of r.body) {
      expect(x.score).toBeCloseTo(want[x.index]!, 5);
      expect(x.text).toBe(DOCUMENTS[x.index]);
    }
    const raw = await postJson(url, '/rerank', { query: QUERY, texts: DOCUMENTS, raw_scores: true });
    for (const x of raw.body) expect(x.score).toBeCloseTo(Math.log(want[x.index]!), 4);
  });

  it('the step splitter is configurable: per request (step_splitter) and per server (stepSplitter)', async () => {
    const doc = ['Step one.\nStep two.\nStep three.'];
    const asLines = await expected(QUERY, doc, 'lines');
    const asOne = await expected(QUERY, doc, 'auto');
    expect(asLines[0]).not.toBeCloseTo(asOne[0]!, 6); // three steps vs one
    const r1 = await postJson(url, '/rerank', { query: QUERY, documents: doc, step_splitter: 'lines' });
    expect(r1.body.results[0].relevance_score).toBeCloseTo(asLines[0]!, 5);
    const r2 = await postJson(linesUrl, '/rerank', { query: QUERY, documents: doc });
    expect(r2.body.results[0].relevance_score).toBeCloseTo(asLines[0]!, 5);
    const r3 = await postJson(url, '/rerank', { query: QUERY, documents: doc });
    expect(r3.body.results[0].relevance_score).toBeCloseTo(asOne[0]!, 5);
    const lit = await postJson(url, '/rerank', { query: QUERY, documents: ['a ## b ## c'], step_splitter: '##' });
    expect(lit.body.results[0].relevance_score).toBeCloseTo((await expected(QUERY, ['a ## b ## c'], '##'))[0]!, 5);
    const agg = await postJson(url, '/rerank', { query: QUERY, documents: DOCUMENTS, aggregate: 'min' });
    const mins = await expected(QUERY, DOCUMENTS, 'auto', 'min');
    for (const x of agg.body.results) expect(x.relevance_score).toBeCloseTo(mins[x.index]!, 5);
  });

  it('refuses what it cannot score, naming the field, before any work', async () => {
    const empty = await postJson(url, '/rerank', { query: QUERY, documents: ['fine', '  '] });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ type: 'BadRequestError', param: 'documents[1]' });
    const none = await postJson(url, '/rerank', { query: QUERY });
    expect(none.body.error.param).toBe('documents');
    const noQuery = await postJson(url, '/v1/rerank', { documents: ['x'] });
    expect(noQuery.body.error.param).toBe('query');
    const model = await postJson(url, '/v1/rerank', { model: 'BAAI/bge-reranker-base', query: QUERY, documents: ['x'] });
    expect(model.status).toBe(404);
    expect(model.body.error.type).toBe('NotFoundError');
    const cut = await postJson(url, '/v1/rerank', { query: QUERY, documents: ['x'], truncate_prompt_tokens: 5 });
    expect(cut.status).toBe(400);
    expect(cut.body.error.param).toBe('truncate_prompt_tokens');
    // budgets that cut nothing are fine; past max_model_len is vLLM's 400
    expect((await postJson(url, '/v1/rerank', { query: QUERY, documents: ['x'], truncate_prompt_tokens: -1 })).status).toBe(200);
    expect((await postJson(url, '/v1/rerank', { query: QUERY, documents: ['x'], max_tokens_per_doc: 4096 })).status).toBe(200);
    const perDoc = await postJson(url, '/v1/rerank', { query: QUERY, documents: ['x'], max_tokens_per_doc: 10 });
    expect(perDoc.body.error.param).toBe('max_tokens_per_doc');
    const over = await postJson(url, '/score', { queries: QUERY, documents: ['x'], truncate_prompt_tokens: 401 });
    expect(over.status).toBe(400);
    expect(over.body.error.message).toContain('Please request a smaller truncation size.');
    // a query past the model's context, as test_rerank_api_max_model_len sends it
    const long = await postJson(url, '/rerank', { model: NAME, query: 'What is the capital of France?'.repeat(20), documents: ['a', 'b'] });
    expect(long.status).toBe(400);
    expect(long.body.error.type).toBe('BadRequestError');
    expect(long.body.error.message).toContain('Please reduce the length of the input prompt');
    expect(long.body.error.param).toBe('documents[0]');
    // a problem holding the step tag would be mis-split: refused, naming the query
    const tag = await postJson(url, '/v1/rerank', { query: 'a <extra_0> b', documents: ['x'] });
    expect(tag.status).toBe(400);
    expect(tag.body.error.param).toBe('query');
    const list = await postJson(url, '/v1/rerank', { query: QUERY, documents: [] });
    expect(list.body.results).toEqual([]);
  });
});

describe('vLLM /score', () => {
  it('text_1 + text_2 (1:N), as test_cross_encoder_online sends it', async () => {
    const want = await expected(QUERY, DOCUMENTS.slice(0, 2));
    const r = await postJson(url, '/score', { model: NAME, text_1: QUERY, text_2: DOCUMENTS.slice(0, 2) });
    expect(r.status).toBe(200);
    expect(r.body.id).toMatch(/^score-/);
    expect(r.body.object).toBe('list');
    expect(Number.isInteger(r.body.created)).toBe(true);
    expect(r.body.model).toBe(NAME);
    expect(r.body.data).toHaveLength(2);
    r.body.data.forEach((d: { index: number; object: string; score: number }, i: number) => {
      expect(d).toMatchObject({ index: i, object: 'score' });
      expect(d.score).toBeCloseTo(want[i]!, 5);
    });
    expect(r.body.usage.prompt_tokens).toBeGreaterThan(0);
    expect(r.body.usage.completion_tokens).toBe(0);
  });

  it('queries + documents (N:N), queries + items, data_1 + data_2, and a single pair', async () => {
    const q2 = 'What is 2 + 2?';
    const docs = [DOCUMENTS[0]!, '2 + 2 = 4.\n\nThe answer is 4.'];
    const want = [(await expected(QUERY, [docs[0]!]))[0]!, (await expected(q2, [docs[1]!]))[0]!];
    for (const path of ['/score', '/v1/score']) {
      const nn = await postJson(url, path, { model: NAME, queries: [QUERY, q2], documents: docs });
      expect(nn.body.data.map((d: { score: number }) => d.score)).toEqual(want.map((w) => expect.closeTo(w, 5)));
      const data = await postJson(url, path, { data_1: [QUERY, q2], data_2: docs });
      expect(data.body.data.map((d: { score: number }) => d.score)).toEqual(want.map((w) => expect.closeTo(w, 5)));
      const items = await postJson(url, path, { queries: [QUERY, q2], items: docs });
      expect(items.body.data.map((d: { score: number }) => d.score)).toEqual(want.map((w) => expect.closeTo(w, 5)));
      const single = await postJson(url, path, { queries: QUERY, documents: docs[0] });
      expect(single.body.data).toHaveLength(1);
      expect(single.body.data[0].score).toBeCloseTo(want[0]!, 5);
    }
    const one = await postJson(url, '/v1/score', { text_1: q2, text_2: docs[1] });
    expect(one.body.data).toHaveLength(1);
    expect(one.body.data[0].score).toBeCloseTo(want[1]!, 5);
    const raw = await postJson(url, '/v1/score', { text_1: q2, text_2: docs[1], use_activation: false });
    expect(raw.body.data[0].score).toBeCloseTo(Math.log(want[1]!), 4);
  });

  it('refuses mismatched lists and missing pairs with a 400 naming the field', async () => {
    const bad = await postJson(url, '/score', { queries: ['a', 'b'], documents: ['x', 'y', 'z'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.type).toBe('BadRequestError');
    expect(bad.body.error.message).toContain('1:1, 1:N or N:N');
    const none = await postJson(url, '/score', { model: NAME });
    expect(none.status).toBe(400);
    const empty = await postJson(url, '/score', { text_1: 'q', text_2: [] });
    expect(empty.body.error.param).toBe('text_2');
    const wrong = await postJson(url, '/score', { text_1: 'q', text_2: [1] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.param).toMatch(/^text_2/);
  });

  it('/invocations answers rerank and score bodies like their routes', async () => {
    const rerank = { query: QUERY, documents: DOCUMENTS };
    const a = await postJson(url, '/rerank', rerank);
    const b = await postJson(url, '/invocations', rerank);
    expect(b.body.results).toEqual(a.body.results);
    const score = { text_1: QUERY, text_2: DOCUMENTS };
    const c = await postJson(url, '/score', score);
    const d = await postJson(url, '/invocations', score);
    expect(d.body.data).toEqual(c.body.data);
  });
});
