// The requests that used to kill or stall `prmkit serve`, sent to the real executable in a
// child process on loopback (the tiny PRM in the Qwen2.5-Math-PRM format): a billion-step
// template loop (the process died), a string doubled 25 times (a minute of blocked event loop,
// then out of heap), /tokenize without bounds (a 3.8 MB prompt, a 4 M-character template
// output, 10^5 messages), and bodies nested thousands deep (a 500 from the stack). Each is
// answered 4xx now, the process still answers /health, and it stops cleanly at the end.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTinyModel } from '../../lib/testing/index.js';
import { describeWhen, NO_DIST } from '../helpers/index.js';
import { mainJs, spawnPrmkit, when } from '../cli/helpers.js';
import { get, postJson } from './http.js';

interface Served {
  url: string;
  child: ReturnType<typeof spawnPrmkit>['child'];
  exited: ReturnType<typeof spawnPrmkit>['exited'];
}

let dir: string;
let plain: Served; // refuses request templates (the default)
let trusting: Served; // --trust-request-chat-template

async function serve(model: string[], extra: string[] = []): Promise<Served> {
  const p = spawnPrmkit(['serve', ...model, '--port', '0', ...extra]);
  const urlOf = () => /on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.stderr())?.[1];
  await Promise.race([
    when(p.child.stderr!, 'data', () => urlOf() !== undefined),
    p.exited.then((r) => Promise.reject(new Error(`prmkit serve exited (${r.code}): ${r.stderr}`))),
  ]);
  return { url: urlOf()!, child: p.child, exited: p.exited };
}

/** The process is alive and answers. */
async function alive(s: Served): Promise<void> {
  expect(s.child.exitCode).toBeNull();
  expect(s.child.signalCode).toBeNull();
  const h = await get(s.url, '/health');
  expect(h.status).toBe(200);
}

const hi = [{ role: 'user', content: 'hi' }];

describeWhen(existsSync(mainJs), 'prmkit serve as a process, against hostile requests', NO_DIST, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prmkit-serve-proc-'));
    const tiny = await createTinyModel({ dir, output: 'logits', format: 'qwen2.5-math-prm', layers: 2, hidden: 32, seed: 5 });
    const model = ['-m', tiny.model, '-t', tiny.tokenizer, '-f', 'qwen2.5-math-prm', '--max-context', '512'];
    // the trusting one with a time budget no render here reaches on a loaded machine: each
    // hostile template stops at the bound it is about
    [plain, trusting] = await Promise.all([serve(model), serve(model, ['--trust-request-chat-template', '--template-timeout-ms', '20000'])]);
  }, 120_000);

  afterAll(async () => {
    for (const s of [plain, trusting]) s?.child.kill('SIGTERM');
    const ends = await Promise.all([plain, trusting].map((s) => s?.exited));
    rmSync(dir, { recursive: true, force: true });
    // both stopped the graceful way
    for (const e of ends) if (e) expect(e.code, e.stderr).toBe(0);
  });

  it('a range(1000000000) template on /pooling: refused untrusted, 413 trusted; both processes answer', async () => {
    const body = { messages: hi, chat_template: '{% for i in range(1000000000) %}{% endfor %}x' };
    const refused = await postJson(plain.url, '/pooling', body);
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('--trust-request-chat-template is not set');
    const r = await postJson(trusting.url, '/pooling', body);
    expect(r.status).toBe(413);
    expect(r.body.error).toMatchObject({ param: 'chat_template', message: expect.stringContaining('range() of 1000000000 items') });
    await alive(plain);
    await alive(trusting);
  });

  it('a string doubled 25 times on /tokenize: 413, and the process answers', async () => {
    const chat_template = "{% set ns = namespace(s='xx') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}";
    const r = await postJson(trusting.url, '/tokenize', { messages: hi, chat_template });
    expect(r.status).toBe(413);
    await alive(trusting);
  });

  it('/tokenize holds to the limits of every route that tokenizes', async () => {
    // a 3.8 MB prompt: refused before the tokenizer runs
    const big = await postJson(plain.url, '/tokenize', { prompt: 'x'.repeat(3_800_000) });
    expect(big.status).toBe(413);
    expect(big.body.error.param).toBe('prompt');
    // a 4 M-character template output
    const out = await postJson(trusting.url, '/tokenize', { messages: hi, chat_template: `{% for i in range(40000) %}${'y'.repeat(100)}{% endfor %}` });
    expect(out.status).toBe(413);
    // 10^5 chat messages through the model's own template
    const many = await postJson(plain.url, '/tokenize', { messages: Array.from({ length: 100_000 }, () => ({ role: 'user', content: 'x' })) });
    expect(many.status).toBe(413);
    expect(many.body.error.param).toBe('messages');
    // range(3e5) on /pooling
    const range = await postJson(trusting.url, '/pooling', { messages: hi, chat_template: '{% for i in range(300000) %}{{ i }}{% endfor %}' });
    expect(range.status).toBe(413);
    // a prompt over the token limit (the tiny context, 512): 413 naming it
    const long = await postJson(plain.url, '/tokenize', { prompt: 'one two three '.repeat(400) });
    expect(long.status).toBe(413);
    expect(long.body.error.message).toMatch(/^prompt is \d+ tokens long; the limit is 512 tokens per input/);
    // and an ordinary one is still answered
    const ok = await postJson(plain.url, '/tokenize', { prompt: 'one two three' });
    expect(ok.status).toBe(200);
    expect(ok.body.count).toBeGreaterThan(0);
    await alive(plain);
    await alive(trusting);
  });

  it('bodies nested 5000 deep with \\u escapes or __proto__ / constructor keys: 400, not a 500', async () => {
    const item = (x: string) => `{"items":[{"problem":"q","steps":["a"],"x":${x}}]}`;
    for (const body of [
      item(`${'['.repeat(5000)}"\\u0041"${']'.repeat(5000)}`),
      item(`${'{"__proto__":'.repeat(5000)}1${'}'.repeat(5000)}`),
      item(`${'{"constructor":'.repeat(5000)}1${'}'.repeat(5000)}`),
    ]) {
      const r = await postJson(plain.url, '/v1/prm/score', body);
      expect(r.status).toBe(400);
      expect(r.body.error.param).toBe('body');
    }
    await alive(plain);
  });
});
