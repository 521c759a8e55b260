// The service's mechanics over real HTTP on a loopback port, with a scripted model whose
// batches the test can hold open (real.test.ts runs the same routes on the tiny real PRM).
import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../lib/server/index.js';
import type { PrmServer, ServerOptions } from '../../lib/server/index.js';
import { PrmInputError } from '../../lib/errors.js';
import { FakeModel, probOf } from './fake-model.js';
import { get, metricValue, postJson, until } from './http.js';

async function start(extra: Partial<ServerOptions> = {}, model = new FakeModel()) {
  const server = createServer({ model, ...extra });
  const { url } = await server.listen({ port: 0, host: '127.0.0.1' });
  return { server, url, model };
}

/**
 * A POST whose client vanishes when the test says, with a reset: a client that only
 * half-closes (FIN) is, by the service's rule, still waiting for its answer.
 */
function vanishingPost(base: string, path: string, body: unknown): { closed: Promise<void>; destroy(): void } {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  socket.on('error', () => {});
  const json = JSON.stringify(body);
  socket.write(`POST ${path} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  return { closed, destroy: () => socket.resetAndDestroy() };
}

const chain = (problem: string, steps: string[], id?: string) => (id === undefined ? { problem, steps } : { problem, steps, id });

describe('routes and answers (fake model)', () => {
  let s: { server: PrmServer; url: string; model: FakeModel };
  beforeAll(async () => {
    s = await start({ batching: { maxWaitMs: 2 } });
  });
  afterAll(() => s.server.close());

  it('GET /health reports status, model and queue', async () => {
    const r = await get(s.url, '/health');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text);
    expect(body).toMatchObject({ status: 'ok', model: 'fake-prm', queue: { requests: 0, tokens: 0 }, inFlight: 0 });
  });

  it('POST /v1/prm/score returns step probabilities, all aggregates and the first error per chain', async () => {
    const items = [chain('2+2?', ['2+2=4', 'so 4'], 'a'), chain('3*3?', ['3*3=9', 'then 10', 'so 10']), chain('empty', [])];
    const r = await postJson(s.url, '/v1/prm/score', { items, errorThreshold: 0.5 });
    expect(r.status).toBe(200);
    expect(r.body.model).toBe('fake-prm');
    expect(r.body.aggregate).toBe('prod');
    const res = r.body.results;
    expect(res).toHaveLength(3);
    expect(res[0].id).toBe('a');
    expect(res[1].id).toBeUndefined();
    items.forEach((it, i) => {
      const p = it.steps.map((st, k) => probOf(`${it.problem}|${k}|${st}`));
      expect(res[i].index).toBe(i);
      expect(res[i].stepProbs).toEqual(p);
      if (p.length === 0) {
        expect(res[i].score).toBeNull(); // NaN for an empty chain
        expect(res[i].firstError).toBe(-1);
        return;
      }
      const prod = p.reduce((a, b) => a * b, 1);
      expect(res[i].score).toBeCloseTo(prod, 5);
      expect(res[i].aggregates.prod).toBeCloseTo(prod, 5);
      expect(res[i].aggregates.min).toBeCloseTo(Math.min(...p), 5);
      expect(res[i].aggregates.last).toBeCloseTo(p[p.length - 1]!, 5);
      expect(res[i].aggregates.mean).toBeCloseTo(p.reduce((a, b) => a + b, 0) / p.length, 5);
      expect(res[i].aggregates.geomean).toBeCloseTo(Math.pow(prod, 1 / p.length), 5);
      expect(res[i].firstError).toBe(p.findIndex((x) => x < 0.5));
      expect(res[i].truncated).toBe(false);
    });
    expect(r.body.usage.tokens).toBe(res.reduce((a: number, x: { tokens: number }) => a + x.tokens, 0));
  });

  it('honours aggregate and errorThreshold per request', async () => {
    const items = [chain('q', ['s1', 's2', 's3'])];
    const p = items[0]!.steps.map((st, k) => probOf(`q|${k}|${st}`));
    const r = await postJson(s.url, '/v1/prm/score', { items, aggregate: 'min', errorThreshold: 0.999 });
    expect(r.body.aggregate).toBe('min');
    expect(r.body.results[0].score).toBeCloseTo(Math.min(...p), 5);
    expect(r.body.results[0].firstError).toBe(0); // every fake p < 0.999
    const r0 = await postJson(s.url, '/v1/prm/score', { items, errorThreshold: 0.001 });
    expect(r0.body.results[0].firstError).toBe(-1);
  });

  it('POST /v1/prm/rerank ranks candidates best first, honours topN, and puts empty chains last', async () => {
    const candidates = [['a1', 'a2'], [], ['b1'], ['c1', 'c2', 'c3']];
    const scores = candidates.map((steps) => (steps.length === 0 ? NaN : steps.map((st, k) => probOf(`P|${k}|${st}`)).reduce((a, b) => a * b, 1)));
    const expected = [0, 2, 3].sort((x, y) => scores[y]! - scores[x]! || x - y).concat([1]);
    const r = await postJson(s.url, '/v1/prm/rerank', { problem: 'P', candidates });
    expect(r.status).toBe(200);
    expect(r.body.results.map((x: { index: number }) => x.index)).toEqual(expected);
    expect(r.body.results.map((x: { rank: number }) => x.rank)).toEqual([1, 2, 3, 4]);
    expect(r.body.results[0].score).toBeCloseTo(scores[expected[0]!]!, 5);
    expect(r.body.results[3].score).toBeNull();
    const top = await postJson(s.url, '/v1/prm/rerank', { problem: 'P', candidates, topN: 2, returnStepProbs: false, aggregate: 'last' });
    expect(top.body.results).toHaveLength(2);
    expect(top.body.results[0].stepProbs).toBeUndefined();
    expect(top.body.aggregate).toBe('last');
  });

  it('POST /pooling answers in vLLM shape for text and token-id inputs', async () => {
    const r = await postJson(s.url, '/pooling', { model: 'fake-prm', input: ['ab', 'c'], task: 'token_classify' });
    expect(r.status).toBe(200);
    expect(r.body.id).toMatch(/^pooling-[0-9a-f]{32}$/);
    expect(r.body.object).toBe('list');
    expect(Number.isInteger(r.body.created)).toBe(true);
    expect(r.body.model).toBe('fake-prm');
    expect(r.body.data).toHaveLength(2);
    expect(r.body.data[0]).toMatchObject({ index: 0, object: 'pooling' });
    // text goes through the model's tokenizer (the fake adds id 1 as its special token)
    expect(r.body.data[0].data).toHaveLength(3);
    expect(r.body.data[0].data[1][1]).toBeCloseTo(probOf(String('a'.charCodeAt(0))), 6);
    expect(s.model.poolBatches.at(-1)).toEqual([[1, 97, 98], [1, 99]]);
    expect(r.body.usage).toEqual({ prompt_tokens: 5, total_tokens: 5, completion_tokens: 0, prompt_tokens_details: null });

    const ids = await postJson(s.url, '/pooling', { input: [5, 6, 7, 8], truncate_prompt_tokens: 2 });
    expect(ids.status).toBe(200);
    expect(ids.body.data).toHaveLength(1);
    expect(ids.body.data[0].data).toHaveLength(2); // vLLM keeps the first k tokens
    expect(ids.body.data[0].data[0][1]).toBeCloseTo(probOf('5'), 6);
    const left = await postJson(s.url, '/pooling', { input: [5, 6, 7, 8], truncate_prompt_tokens: 2, truncation_side: 'left' });
    expect(left.body.data[0].data[0][1]).toBeCloseTo(probOf('7'), 6);

    const b64 = await postJson(s.url, '/pooling', { input: [[5, 6]], encoding_format: 'base64' });
    const bytes = Buffer.from(b64.body.data[0].data, 'base64');
    const floats = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    expect(floats).toHaveLength(4);
    expect(floats[1]).toBeCloseTo(probOf('5'), 6);

    // text without special tokens goes through the model's tokenizer first
    const plain = await postJson(s.url, '/pooling', { input: 'xy', add_special_tokens: false });
    expect(plain.body.usage.prompt_tokens).toBe(2);
    const special = await postJson(s.url, '/pooling', { input: 'xy', add_special_tokens: true, truncate_prompt_tokens: -1 });
    expect(special.body.usage.prompt_tokens).toBe(3); // tokenized with the special token the fake tokenizer adds
  });

  it('refuses what /pooling does not serve, naming the field', async () => {
    const task = await postJson(s.url, '/pooling', { input: 'x', task: 'embed' });
    expect(task.status).toBe(400);
    expect(task.body.error.param).toBe('task');
    // the fake model has no chat template
    const chat = await postJson(s.url, '/pooling', { messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(400);
    expect(chat.body.error.param).toBe('messages');
    const none = await postJson(s.url, '/pooling', { model: 'fake-prm' });
    expect(none.status).toBe(400);
    expect(none.body.error.param).toBe('input');
    for (const [body, param] of [
      [{ input: 'x', task: 'encode' }, 'task'],
      [{ input: 'x', task: 'score' }, 'task'],
      [{ input: 'x', task: 'reward' }, 'task'],
      [{ input: 'x', normalize: true }, 'normalize'],
      [{ input: 'x', dimensions: 8 }, 'dimensions'],
      [{ input: 'x', priority: 1 }, 'priority'],
      [{ input: 'x', encoding_format: 'bad_encoding_format' }, 'encoding_format'],
    ] as const) {
      const r = await postJson(s.url, '/pooling', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.type).toBe('BadRequestError');
      expect(r.body.error.param).toBe(param);
    }
    const wrong = await postJson(s.url, '/pooling', { input: [1, 'a'] });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.param).toBe('input');
    const empty = await postJson(s.url, '/pooling', { input: ['a', ''], add_special_tokens: false });
    expect(empty.status).toBe(400);
    expect(empty.body.error.param).toBe('input[1]');
    const other = await postJson(s.url, '/pooling', { model: 'Qwen/Qwen2.5-Math-PRM-7B', input: 'x' });
    expect(other.status).toBe(404);
    expect(other.body.error.param).toBe('model');
  });

  it('answers bad bodies with 400 and a JSON error naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      ['{"items": [', 'body'],
      [{}, 'items'],
      [{ items: 'nope' }, 'items'],
      [{ items: [] }, 'items'],
      [{ items: [{ problem: 'p', steps: 'not an array' }] }, 'items[0].steps'],
      [{ items: [{ problem: 'p', steps: ['ok', 7] }] }, 'items[0].steps[1]'],
      [{ items: [{ problem: 1, steps: [] }] }, 'items[0].problem'],
      [{ items: [{ steps: [] }] }, 'items[0].problem'],
      [{ items: [{ problem: 'p', steps: [], extra: 1 }] }, 'items[0].extra'],
      [{ items: [{ problem: 'p', steps: [] }], aggregate: 'median' }, 'aggregate'],
      [{ items: [{ problem: 'p', steps: [] }], errorThreshold: 2 }, 'errorThreshold'],
      [{ items: [{ problem: 'p', steps: [] }], errorThreshold: '0.5' }, 'errorThreshold'],
      [{ items: [{ problem: 'p', steps: [] }], errorThreshold: 0 }, 'errorThreshold'],
    ];
    for (const [body, param] of cases) {
      const r = await postJson(s.url, '/v1/prm/score', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.type).toBe('BadRequestError');
      expect(r.body.error.param, JSON.stringify(body)).toBe(param);
      expect(r.body.error.message).toContain(param);
    }
    const empty = await fetch(s.url + '/v1/prm/score', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' });
    expect(empty.status).toBe(400);
    const text = await fetch(s.url + '/v1/prm/score', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<a/>' });
    expect(text.status).toBe(415);
    expect((await text.json()).error.param).toBe('content-type');
    const r404 = await get(s.url, '/v2/nothing');
    expect(r404.status).toBe(404);
    expect(JSON.parse(r404.text).error.type).toBe('NotFoundError');
  });
});

describe('limits', () => {
  let s: { server: PrmServer; url: string; model: FakeModel };
  beforeAll(async () => {
    s = await start({ limits: { maxBodyBytes: 4096, maxItems: 3, maxSteps: 4, maxItemTokens: 100, maxRequestTokens: 150 } });
  });
  afterAll(() => s.server.close());

  it('answers 413 naming the body, item count, steps or tokens, before any model work', async () => {
    const before = s.model.batches.length;
    const big = await postJson(s.url, '/v1/prm/score', { items: [{ problem: 'x'.repeat(5000), steps: [] }] });
    expect(big.status).toBe(413);
    expect(big.body.error.param).toBe('body');
    const many = await postJson(s.url, '/v1/prm/score', { items: Array.from({ length: 4 }, () => chain('p', ['s'])) });
    expect(many.status).toBe(413);
    expect(many.body.error.param).toBe('items');
    const steps = await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['s']), chain('p', ['1', '2', '3', '4', '5'])] });
    expect(steps.status).toBe(413);
    expect(steps.body.error.param).toBe('items[1].steps');
    const long = await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['s']), chain('y'.repeat(500), ['s'])] });
    expect(long.status).toBe(413);
    expect(long.body.error.param).toBe('items[1]');
    expect(long.body.error.message).toMatch(/tokens/);
    const sum = await postJson(s.url, '/v1/prm/score', { items: [chain('z'.repeat(300), []), chain('z'.repeat(300), [])] });
    expect(sum.status).toBe(413);
    expect(sum.body.error.param).toBe('items');
    const cands = await postJson(s.url, '/v1/prm/rerank', { problem: 'p', candidates: [[], [], [], []] });
    expect(cands.status).toBe(413);
    expect(cands.body.error.param).toBe('candidates');
    const pool = await postJson(s.url, '/pooling', { input: ['a', 'b'.repeat(101)] });
    expect(pool.status).toBe(413);
    expect(pool.body.error.param).toBe('input[1]');
    expect(s.model.batches.length).toBe(before);
    expect(s.model.poolBatches.length).toBe(0);
  });
});

describe('queue, timeouts, disconnects and failures', () => {
  let s: { server: PrmServer; url: string; model: FakeModel } | undefined;
  afterEach(async () => {
    s?.model.releaseBatches();
    await s?.server.close();
    s = undefined;
  });

  it('answers 503 with Retry-After when the queue is full, and recovers', async () => {
    s = await start({ batching: { maxWaitMs: 0, maxQueueRequests: 1 } });
    s.model.holdBatches();
    const first = postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] }); // running
    await until(() => s!.model.running === 1, 'the first batch to run');
    const second = postJson(s.url, '/v1/prm/score', { items: [chain('p', ['b'])] }); // queued
    await until(() => s!.server.context.scores.queuedRequests === 1, 'the second request to queue');
    const counted = s.model.counted;
    const third = await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['c'])] });
    expect(third.status).toBe(503);
    expect(s.model.counted).toBe(counted); // shed before its body was tokenized
    expect(third.body.error.type).toBe('ServiceUnavailableError');
    expect(Number(third.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    s.model.releaseBatches();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    const m = await get(s.url, '/metrics');
    expect(metricValue(m.text, 'prmkit_rejected_requests_total{reason="queue_full"}')).toBe(1);
    expect(metricValue(m.text, 'prmkit_http_requests_total{route="/v1/prm/score",status="503"}')).toBe(1);
  });

  it('answers 504 when a request outlives its deadline and drops it from the queue', async () => {
    s = await start({ requestTimeoutMs: 150, batching: { maxWaitMs: 0 } });
    s.model.holdBatches();
    const first = postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] });
    await until(() => s!.model.running === 1, 'the first batch to run');
    const late = await postJson(s.url, '/v1/prm/score', { items: [chain('late', ['x'])] });
    expect(late.status).toBe(504);
    expect(late.body.error.type).toBe('TimeoutError');
    expect((await first).status).toBe(504);
    s.model.releaseBatches();
    await until(() => s!.model.running === 0, 'the held batch to finish');
    expect(s.model.batches.flat().some((it) => it.problem === 'late')).toBe(false);
    expect((await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['b'])] })).status).toBe(200);
  });

  it('drops the work of a client that disconnects while queued', async () => {
    s = await start({ batching: { maxWaitMs: 0 } });
    s.model.holdBatches();
    const first = postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] });
    await until(() => s!.model.running === 1, 'the first batch to run');
    const ghost = vanishingPost(s.url, '/v1/prm/score', { items: [chain('ghost', ['boo'])] });
    await until(() => s!.server.context.scores.queuedRequests === 1, 'the ghost request to queue');
    ghost.destroy();
    await ghost.closed;
    await until(async () => JSON.parse((await get(s!.url, '/health')).text).queue.requests === 0, 'the queue to drop the ghost');
    s.model.releaseBatches();
    expect((await first).status).toBe(200);
    expect(s.model.batches.flat().some((it) => it.problem === 'ghost')).toBe(false);
    const m = await get(s.url, '/metrics');
    expect(metricValue(m.text, 'prmkit_rejected_requests_total{reason="client_closed"}')).toBe(1);
  });

  it('aborts the model batch when its only client disconnects', async () => {
    s = await start({ batching: { maxWaitMs: 0 } });
    s.model.holdBatches();
    const alone = vanishingPost(s.url, '/v1/prm/score', { items: [chain('alone', ['x'])] });
    await until(() => s!.model.signals.length === 1, 'the batch to start');
    expect(s.model.signals[0]!.aborted).toBe(false);
    alone.destroy();
    await until(() => s!.model.signals[0]!.aborted, 'the batch to be aborted');
  });

  it('turns a model failure into a JSON 500 and keeps serving', async () => {
    s = await start();
    s.model.failNext = new Error('kaboom');
    const r = await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] });
    expect(r.status).toBe(500);
    expect(r.body.error.type).toBe('InternalServerError');
    expect(r.body.error.message).toContain('kaboom');
    expect(r.body.error.message).not.toMatch(/at .*\.ts:\d+/); // no stack
    expect((await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] })).status).toBe(200);
    // an input error is how a model refuses input: the client's 400
    s.model.failNext = new PrmInputError('items[0]', 'is too odd to score');
    const refused = await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toBe('items[0] is too odd to score');
    // any other TypeError or RangeError is the server's bug: a 500, not blamed on the client
    for (const bug of [new RangeError('offset out of range'), new TypeError("cannot read properties of undefined (reading 'x')")]) {
      s.model.failNext = bug;
      const r = await postJson(s.url, '/v1/prm/score', { items: [chain('p', ['a'])] });
      expect(r.status).toBe(500);
      expect(r.body.error.message).toContain(bug.message);
    }
  });

  it('batches concurrent requests together and reports it in /metrics', async () => {
    s = await start({ batching: { maxWaitMs: 0 } });
    const n = 24;
    // the first request's batch is held, so the other n-1 are all queued when it ends: the
    // batching is then a property of the queue, not of how fast the requests arrived
    s.model.holdBatches();
    const first = postJson(s.url, '/v1/prm/score', { items: [chain('q0', ['a', 'b'])] });
    await until(() => s!.model.running === 1, 'the first batch to run');
    const rest = Array.from({ length: n - 1 }, (_, i) => postJson(s!.url, '/v1/prm/score', { items: [chain(`q${i + 1}`, ['a', 'b'])] }));
    await until(() => s!.server.context.scores.queuedRequests === n - 1, 'the other requests to queue');
    s.model.releaseBatches();
    const replies = await Promise.all([first, ...rest]);
    expect(replies.every((r) => r.status === 200)).toBe(true);
    replies.forEach((r, i) => expect(r.body.results[0].stepProbs[0]).toBeCloseTo(probOf(`q${i}|0|a`), 6));
    expect(s.model.batches.map((b) => b.length)).toEqual([1, n - 1]);
    const m = (await get(s.url, '/metrics')).text;
    expect(metricValue(m, 'prmkit_http_requests_total{route="/v1/prm/score",status="200"}')).toBe(n);
    expect(metricValue(m, 'prmkit_batch_size_count')).toBe(s.model.batches.length);
    expect(metricValue(m, 'prmkit_batch_size_sum')).toBe(n);
    expect(metricValue(m, 'prmkit_chains_scored_total')).toBe(n);
    expect(metricValue(m, 'prmkit_backbone_tokens_total')).toBeGreaterThan(0);
    expect(metricValue(m, 'prmkit_http_request_duration_seconds_count{route="/v1/prm/score"}')).toBe(n);
    expect(metricValue(m, 'prmkit_queue_depth')).toBe(0);
    expect(m).toMatch(/prmkit_event_loop_delay_seconds\{quantile="0.99"\} [0-9.e-]+/);
    expect(m).toContain('# TYPE prmkit_batch_tokens histogram');
  });
});

describe('API key', () => {
  let s: { server: PrmServer; url: string; model: FakeModel };
  beforeAll(async () => {
    s = await start({ apiKey: 's3cret-key' });
  });
  afterAll(() => s.server.close());

  it('requires the bearer key on every route but /health', async () => {
    const body = { items: [chain('p', ['a'])] };
    const none = await postJson(s.url, '/v1/prm/score', body);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect(none.body.error.type).toBe('AuthenticationError');
    expect((await postJson(s.url, '/v1/prm/score', body, { authorization: 'Bearer s3cret-kez' })).status).toBe(401);
    expect((await postJson(s.url, '/v1/prm/score', body, { authorization: 's3cret-key' })).status).toBe(401);
    expect((await postJson(s.url, '/v1/prm/score', body, { authorization: 'Bearer s3cret-key' })).status).toBe(200);
    expect((await get(s.url, '/metrics')).status).toBe(401);
    expect((await get(s.url, '/metrics', { authorization: 'bearer s3cret-key' })).status).toBe(200);
    expect((await get(s.url, '/health')).status).toBe(200);
    expect(s.model.batches).toHaveLength(1);
  });
});

describe('graceful shutdown', () => {
  it('finishes requests in flight and queued, refuses new ones, then closes the model', async () => {
    // a batch window far past the test's own timeout: the third request is answered only if
    // shutdown runs the queue at once instead of waiting for the window
    const window = 10 * 60_000;
    const s = await start({ requestTimeoutMs: 2 * window, batching: { maxWaitMs: window, maxBatchItems: 2 } });
    s.model.holdBatches();
    // two fill a batch and run (held); the third waits in the queue for the window
    const inFlight = [0, 1, 2].map((i) => postJson(s.url, '/v1/prm/score', { items: [chain(`q${i}`, ['a'])] }));
    await until(() => s.model.running === 1 && s.server.context.scores.queuedRequests === 1, 'two running and one queued');
    const closed = s.server.close();
    await until(() => !s.server.app.server.listening, 'the listener to close');
    const refused = await fetch(s.url + '/health').then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(TypeError); // no new connections: fetch fails to connect
    expect((refused as TypeError & { cause?: { code?: string } }).cause?.code).toBe('ECONNREFUSED');
    s.model.releaseBatches();
    const replies = await Promise.all(inFlight);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(s.model.batches.map((b) => b.length)).toEqual([2, 1]);
    await closed;
    expect(s.model.closed).toBe(true);
  });

  it('checks its options before starting', async () => {
    const model = new FakeModel();
    expect(() => createServer({ model, batching: { maxWaitMs: -1 } })).toThrow(RangeError);
    expect(() => createServer({ model, limits: { maxItems: 0 } })).toThrow(/maxItems/);
    expect(() => createServer({ model, limits: { maxRequestTokens: 10, maxItemTokens: 20 } })).toThrow(/maxItemTokens/);
    expect(() => createServer({ model, defaultAggregate: 'median' as never })).toThrow(RangeError);
    expect(() => createServer({ model: {} as never })).toThrow(TypeError);
    // the fake model has no step tag: STEP pooling needs one named
    expect(() => createServer({ model, pooling: 'step' })).toThrow(/needs a step-tag token.*stepTagId/);
    expect(() => createServer({ model, pooling: 'each' as never })).toThrow(/options\.pooling must be one of 'step', 'all'/);
    expect(() => createServer({ model, stepSplitter: '' })).toThrow(RangeError);
    const tagged = createServer({ model, pooling: 'step', stepTagId: 7 });
    expect(tagged.context.options.compat).toEqual({ pooling: 'step', stepTagId: 7, stepSplitter: 'auto' });
    await tagged.close();
  });
});
