// What a careless or hostile client can do to the service, over real sockets: oversized work,
// slow and trickled uploads, too many connections, half-closed clients, bytes Node's own
// parser refuses, content types and payloads that are not what the routes take.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import type { ServerOptions } from '../../lib/server/types.js';
import { PrmInputError } from '../../lib/errors.js';
import type { ChainItem } from '../../lib/interfaces.js';
import { FakeModel, fakeTokens } from './fake-model.js';
import { get, postJson, until } from './http.js';
import { rawConnect, requestHead, trickle } from './raw.js';

/** The fake charges a token per 4 characters at most, and says so. */
class BoundedFake extends FakeModel {
  override readonly maxTokenChars = 4;
  tokenized = 0;
  override tokenize(texts: string[], options?: { addSpecialTokens?: boolean }): number[][] {
    this.tokenized += texts.length;
    return super.tokenize(texts, options);
  }
}

/** A fake that refuses a step holding "BAD" the way a format refuses its separator: a PrmInputError naming it. */
class PickyTokenizer extends FakeModel {
  override countTokens(items: ChainItem[]): number[] {
    items.forEach((it, i) => {
      const k = it.steps.findIndex((st) => st.includes('BAD'));
      if (k >= 0) throw new PrmInputError(`items[${i}].steps[${k}]`, 'holds BAD');
    });
    return super.countTokens(items);
  }
}

/** A fake whose tokenizer costs real event-loop time (about 1 ms per 8 KB) and gives no length bound. */
class SlowTokenizer extends FakeModel {
  override countTokens(items: ChainItem[]): number[] {
    let chars = 0;
    for (const it of items) chars += it.problem.length + it.steps.reduce((a, s) => a + s.length, 0);
    const end = performance.now() + chars / 8192;
    while (performance.now() < end);
    return super.countTokens(items);
  }
}

const servers: PrmServer[] = [];
async function serve(options: ServerOptions): Promise<{ url: string; port: number; server: PrmServer }> {
  const server = createServer(options);
  servers.push(server);
  return { ...(await server.listen()), server };
}
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** A body of `items` chains that fills `bytes` of JSON. */
function bigBody(bytes: number, items: number): string {
  const per = Math.floor((bytes - 64) / items) - 40;
  const chain = { problem: 'p', steps: ['x'.repeat(per)] };
  return JSON.stringify({ items: Array.from({ length: items }, () => chain) });
}

describe('oversized work is shed before it costs', () => {
  it('a body just under the size limit, far over the token limit, is refused from its length alone', async () => {
    const model = new BoundedFake();
    const { url } = await serve({ model });
    const body = bigBody((4 << 20) - 1024, 1);
    expect(Buffer.byteLength(body)).toBeLessThan(4 << 20);
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    const r = await postJson(url, '/v1/prm/score', body);
    h.disable();
    expect(r.status).toBe(413);
    expect(r.body.error.param).toBe('items[0]');
    expect(r.body.error.message).toMatch(/^items\[0\] is \d+ characters, at least \d+ tokens; the limit is 8192 tokens per chain/);
    // the tokenizer never saw it
    expect(model.counted).toBe(0);
    console.log(`[shed by length] 4 MiB body: event-loop delay max ${(h.max / 1e6).toFixed(1)} ms, p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms`);
  });

  it('a request of many chains over the request token total is refused from the length sum', async () => {
    const model = new BoundedFake();
    const { url } = await serve({ model });
    const r = await postJson(url, '/v1/prm/score', bigBody((4 << 20) - 1024, 200));
    expect(r.status).toBe(413);
    expect(r.body.error.param).toBe('items');
    expect(r.body.error.message).toMatch(/^items add up to at least \d+ tokens \(from their length\); the limit is 262144/);
    expect(model.counted).toBe(0);
  });

  it('/pooling text over the limits by its length is refused before the tokenizer; text that fits is tokenized', async () => {
    const model = new BoundedFake();
    const { url } = await serve({ model });
    const r = await postJson(url, '/pooling', { input: 'x'.repeat(3_000_000) });
    expect(r.status).toBe(413);
    expect(r.body.error.param).toBe('input');
    expect(r.body.error.message).toMatch(/^input is at least \d+ tokens long \(from its length\); the limit is 8192 tokens per input/);
    expect(model.tokenized).toBe(0);
    const ok = await postJson(url, '/pooling', { input: ['abc', 'de'] });
    expect(ok.status).toBe(200);
    expect(model.tokenized).toBe(2);
  });

  it('/pooling text to be cut to fit is not refused for its tokens, but still for its characters (one tokenizer call each)', async () => {
    const model = new BoundedFake();
    const { url } = await serve({ model, limits: { maxItemTokens: 1000 } });
    // at least 7500 tokens by its length, over the 1000 allowed, but cut to 10
    const cut = await postJson(url, '/pooling', { input: 'x'.repeat(60_000), truncate_prompt_tokens: 10 });
    expect(cut.status).toBe(200);
    expect(cut.body.usage.prompt_tokens).toBe(10);
    const long = await postJson(url, '/pooling', { input: 'x'.repeat(100_000), truncate_prompt_tokens: 10 });
    expect(long.status).toBe(413);
    expect(long.body.error).toMatchObject({ param: 'input', message: 'input is 100000 characters; the limit is 65536 characters per input' });
    expect(model.tokenized).toBe(1);
  });

  it('a chain the tokenizer refuses is named by its place in the request, whichever slice it was tokenized in', async () => {
    const model = new PickyTokenizer();
    const { url } = await serve({ model });
    // 2000-character chains: several slices of several chains each
    const items = Array.from({ length: 20 }, (_, i) => ({ problem: `p${i}`, steps: ['a'.repeat(2000), i === 13 ? 'this is BAD' : 'fine'] }));
    const r = await postJson(url, '/v1/prm/score', { items });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('items[13].steps[1]');
    expect(r.body.error.message).toBe('items[13].steps[1] holds BAD');
    // the slices before it were tokenized, the rest never were
    expect(model.counted).toBeGreaterThan(0);
    expect(model.counted).toBeLessThan(13);
  });

  it('length never refuses what fits: a chain at the limit by the tokenizer\'s count is served', async () => {
    const model = new BoundedFake();
    const { url } = await serve({ model, limits: { maxItemTokens: 1000, maxRequestTokens: 1000 } });
    const item = { problem: 'p', steps: ['y'.repeat(3990)] };
    expect(fakeTokens(item)).toBeLessThanOrEqual(1000);
    const r = await postJson(url, '/v1/prm/score', { items: [item] });
    expect(r.status).toBe(200);
    expect(r.body.results[0].tokens).toBe(fakeTokens(item));
  });

  it('without a length bound, tokenizing runs in slices: /health answers while a big request is tokenized, which stops at the first chain over the total', async () => {
    const model = new SlowTokenizer();
    const { url } = await serve({ model });
    // 240 chains of ~16 KB: ~4 K tokens each, over the 262 144 request total by chain ~64
    const body = bigBody((4 << 20) - 1024, 240);
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    let done = false;
    const big = postJson(url, '/v1/prm/score', body).finally(() => (done = true));
    const healthMs: number[] = [];
    let answeredInFlight = 0;
    // a second client polls /health for as long as the big request is being handled
    while (!done) {
      const t0 = performance.now();
      const r = await get(url, '/health');
      healthMs.push(performance.now() - t0);
      expect(r.status).toBe(200);
      if (!done) answeredInFlight++;
    }
    const r = await big;
    h.disable();
    expect(r.status).toBe(413);
    expect(r.body.error.param).toBe('items');
    expect(r.body.error.message).toMatch(/^items add up to \d+ tokens by items\[\d+\]; the limit is 262144/);
    // stopped early: not every chain was tokenized
    expect(model.counted).toBeGreaterThan(0);
    expect(model.counted).toBeLessThan(240);
    // the property: /health was answered while the big request was still in flight
    expect(answeredInFlight).toBeGreaterThan(0);
    healthMs.sort((a, b) => a - b);
    console.log(
      `[sliced tokenizing] ${model.counted}/240 chains tokenized before the 413; /health answered ${answeredInFlight} times meanwhile, ` +
        `latency median ${healthMs[healthMs.length >> 1]!.toFixed(1)} ms, max ${healthMs[healthMs.length - 1]!.toFixed(1)} ms; ` +
        `event-loop delay max ${(h.max / 1e6).toFixed(1)} ms`,
    );
  });
});

describe('slow clients are ended', () => {
  const options = () => ({ model: new FakeModel(), requestTimeoutMs: 600, headersTimeoutMs: 300 });

  it('a trickled body gets 408 in JSON and its connection closed at the receive deadline', async () => {
    const { port } = await serve(options());
    const c = rawConnect(port);
    c.write(requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'content-length': 10_000 }));
    // would take 100 s to send
    const t = trickle(c, 'x', 10, 10_000);
    const reply = await c.reply;
    await c.ended;
    expect(reply.status).toBe(408);
    expect(reply.body.error.code).toBe(408);
    expect(reply.body.error.message).toMatch(/not received within 600 ms/);
    expect(t.sent()).toBeLessThan(10_000);
  });

  it('a trickled chunked upload is ended the same way', async () => {
    const { port } = await serve(options());
    const c = rawConnect(port);
    c.write(requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }));
    const t = trickle(c, '1\r\n \r\n', 10, 10_000);
    const reply = await c.reply;
    await c.ended;
    expect(reply.status).toBe(408);
    expect(t.sent()).toBeLessThan(10_000);
  });

  it('trickled headers are ended at the headers deadline', async () => {
    const { port } = await serve(options());
    const c = rawConnect(port);
    c.write('POST /v1/score HTTP/1.1\r\nhost: x\r\n');
    const t = trickle(c, 'x-a: b\r\n', 10, 10_000);
    const reply = await c.reply;
    await c.ended;
    expect(reply.status).toBe(408);
    expect(t.sent()).toBeLessThan(10_000);
  });

  it('a 401 closes the connection instead of reading what the client trickles', async () => {
    const { port } = await serve({ model: new FakeModel(), apiKey: 'sesame' });
    const c = rawConnect(port);
    c.write(requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'content-length': 10_000 }));
    const t = trickle(c, 'x', 10, 10_000);
    const reply = await c.reply;
    await c.ended;
    expect(reply.status).toBe(401);
    expect(reply.headers.connection).toBe('close');
    expect(reply.body.error.param).toBe('authorization');
    expect(t.sent()).toBeLessThan(10_000);
  });

  it('a body announced over the size limit gets 413 and its connection closed, unread', async () => {
    const { port } = await serve({ model: new FakeModel(), limits: { maxBodyBytes: 1000 } });
    const c = rawConnect(port);
    c.write(requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'content-length': 50_000 }));
    const t = trickle(c, 'x', 10, 5000);
    const reply = await c.reply;
    await c.ended;
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBe('close');
    expect(t.sent()).toBeLessThan(5000);
  });

  it('an error answered after the whole body arrived keeps the connection for the next request', async () => {
    const { port } = await serve({ model: new FakeModel(), limits: { maxSteps: 1 } });
    const c = rawConnect(port);
    const body = JSON.stringify({ items: [{ problem: 'q', steps: ['a', 'b'] }] });
    c.write(requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) + body);
    const reply = await c.reply;
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).not.toBe('close');
    c.socket.destroy();
  });

  it('a client that half-closes after its body still gets its answer', async () => {
    const { port } = await serve({ model: new FakeModel() });
    const c = rawConnect(port);
    const body = JSON.stringify({ items: [{ problem: 'q', steps: ['a', 'b'] }] });
    c.write(requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }) + body);
    c.socket.end();
    const reply = await c.reply;
    expect(reply.status).toBe(200);
    expect(reply.body.results[0].stepProbs).toHaveLength(2);
    await c.ended;
  });
});

describe('the connection cap', () => {
  it('a request on a connection over the cap gets 503 in JSON and is closed; freed slots serve again', async () => {
    const { port, url } = await serve({ model: new FakeModel(), maxConnections: 2 });
    // two kept-alive connections the server has answered on (so it has surely counted them)
    const idle = [rawConnect(port), rawConnect(port)];
    for (const c of idle) c.write(requestHead('GET', '/health', {}));
    expect((await Promise.all(idle.map((c) => c.reply))).map((r) => r.status)).toEqual([200, 200]);
    const over = rawConnect(port);
    over.write(requestHead('GET', '/health', {}));
    const reply = await over.reply;
    await over.ended;
    expect(reply.status).toBe(503);
    expect(reply.headers.connection).toBe('close');
    expect(reply.body.error.message).toMatch(/too many open connections \(the server takes 2\)/);
    for (const c of idle) c.socket.destroy();
    await Promise.all(idle.map((c) => c.ended));
    // once the server has seen them close, a new connection is served again
    await until(async () => (await fetch(url + '/health', { headers: { connection: 'close' } })).status === 200, 'a freed connection slot');
  });
});

describe("every 4xx has the service's JSON error body", () => {
  let port = 0;
  let url = '';
  beforeAll(async () => {
    ({ port, url } = await serve({ model: new FakeModel() }));
  });

  const malformed: Array<[string, string]> = [
    ['a NUL in content-type', requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json\0x', 'content-length': 2 }) + '{}'],
    ['a bad chunk', requestHead('POST', '/v1/prm/score', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' }) + 'zz\r\n{}\r\n0\r\n\r\n'],
    ['a duplicate Content-Length', 'POST /v1/score HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}'],
  ];
  for (const [what, bytes] of malformed) {
    it(`Node's parser error for ${what}`, async () => {
      const c = rawConnect(port);
      c.write(bytes);
      const reply = await c.reply;
      await c.ended;
      expect(reply.status).toBe(400);
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      expect(reply.body.error).toMatchObject({ code: 400, param: null });
      expect(reply.body.error.message).toMatch(/^malformed HTTP request: /);
    });
  }

  it('431 in JSON for headers over the size Node takes', async () => {
    const c = rawConnect(port);
    c.write(requestHead('GET', '/health', { 'x-big': 'a'.repeat(20_000) }));
    const reply = await c.reply;
    await c.ended;
    expect(reply.status).toBe(431);
    expect(reply.body.error).toMatchObject({ code: 431, param: 'headers' });
  });

  it('415 for a body that is not JSON', async () => {
    const res = await fetch(url + '/v1/prm/score', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"items":[]}' });
    expect(res.status).toBe(415);
    const body = await res.json();
    expect(body.error.param).toBe('content-type');
    expect(body.error.message).toMatch(/content-type "text\/plain" is not accepted; send the body as application\/json/);
    const form = await fetch(url + '/v1/prm/score', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1' });
    expect(form.status).toBe(415);
  });

  it('prototype-pollution payloads are refused as such, not as invalid JSON', async () => {
    for (const body of [
      '{"__proto__": {"polluted": true}, "items": [{"problem": "q", "steps": ["a"]}]}',
      '{"items": [{"problem": "q", "steps": ["a"], "constructor": {"prototype": {"polluted": true}}}]}',
      '{"\\u005f_proto__": {"polluted": true}, "items": [{"problem": "q", "steps": ["a"]}]}',
    ]) {
      const r = await postJson(url, '/v1/prm/score', body);
      expect(r.status).toBe(400);
      expect(r.body.error.param).toBe('body');
      expect(r.body.error.message).toMatch(/"__proto__" or "constructor.prototype" key/);
      expect(r.body.error.message).not.toMatch(/not valid JSON/);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // escapes and a "constructor" that is only a word are fine
    const fine = await postJson(url, '/v1/prm/score', '{"items": [{"problem": "caf\\u00e9 \\"constructor\\"", "steps": ["a"], "id": "constructor"}]}');
    expect(fine.status).toBe(200);
    expect(fine.body.results[0].id).toBe('constructor');
  });

  it('/pooling with a negative token id names the id, not the string shape', async () => {
    const r = await postJson(url, '/pooling', { input: [-1] });
    expect(r.status).toBe(400);
    expect(r.body.error.param).toBe('input[0]');
    expect(r.body.error.message).toBe('input[0] is a token id and must be >= 0');
    const nested = await postJson(url, '/pooling', { input: [[3, -2]] });
    expect(nested.status).toBe(400);
    expect(nested.body.error.param).toBe('input[0][1]');
    // a value of no accepted shape gets the summary of the shapes
    const shape = await postJson(url, '/pooling', { input: 7 });
    expect(shape.status).toBe(400);
    expect(shape.body.error.message).toMatch(/^input must be a string, an array of strings, an array of token ids/);
  });
});
