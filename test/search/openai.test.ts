import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ArithmeticGenerator, createArithmeticProblems, createOracleScorer, verifySteps } from '../../lib/search/arithmetic.js';
import {
  beamSearch,
  JudgeParseError,
  LlmJudgeScorer,
  OpenAIChatGenerator,
  OpenAICompletionsGenerator,
  OpenAIHttpError,
  OpenAIResponseError,
  OpenAITimeoutError,
  parseVerdicts,
} from '../../lib/search/index.js';
import { completionsBody, json, startLoopback } from './loopback.js';
import type { Loopback } from './loopback.js';

let server: Loopback;
beforeAll(async () => {
  server = await startLoopback();
});
afterAll(() => server.close());

const fast = { retries: 2, backoffMs: 5, maxBackoffMs: 20, timeoutMs: 2000 };
const gen = () => new OpenAICompletionsGenerator({ baseUrl: server.baseUrl, model: 'policy', ...fast });
const req = (steps: string[] = [], n = 2) => ({ problem: 'What is 2 + 2?', steps, n });

describe('OpenAICompletionsGenerator', () => {
  it('batches prompts and samples in one request and maps choices back by index', async () => {
    server.script((body, _req, res) => {
      const prompts = body.prompt as string[];
      json(res, 200, completionsBody(prompts.length, body.n as number, (p, j) => ` step p${p}s${j} `, (p, j) =>
        p === 1 && j === 1 ? { finish_reason: 'stop', stop_reason: null } : p === 0 && j === 0 ? { finish_reason: 'length', stop_reason: null } : { finish_reason: 'stop', stop_reason: '\n\n' }));
    });
    const out = await gen().generate([req(), req(['2 + 2 = 4'])], { maxTokens: 64, temperature: 0.7, topP: 0.9, seed: 5 });
    expect(server.seen).toHaveLength(1);
    const body = server.seen[0].body;
    expect(server.seen[0].url).toBe('/v1/completions');
    expect(body).toMatchObject({ model: 'policy', n: 2, stop: ['\n\n'], max_tokens: 64, temperature: 0.7, top_p: 0.9, seed: 5 });
    expect(body.prompt).toEqual(['What is 2 + 2?\n\n', 'What is 2 + 2?\n\n2 + 2 = 4\n\n']);
    expect(out.map((cs) => cs.map((c) => c.text))).toEqual([['step p0s0', 'step p0s1'], ['step p1s0', 'step p1s1']]);
    expect(out.map((cs) => cs.map((c) => c.finishReason))).toEqual([['length', 'stop'], ['stop', 'eos']]);
    expect(out.flat().reduce((a, c) => a + c.tokens, 0)).toBe(20); // usage total, split over choices
  });

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    server.script(
      (_b, _r, res) => json(res, 503, { error: 'loading model' }),
      (_b, _r, res) => json(res, 429, { error: 'slow down' }, { 'retry-after': '0' }),
      (body, _r, res) => json(res, 200, completionsBody(1, body.n as number, () => 'ok')),
    );
    const out = await gen().generate([req()]);
    expect(server.seen).toHaveLength(3);
    expect(out[0].map((c) => c.text)).toEqual(['ok', 'ok']);
  });

  it('gives up after the retries with the status and body', async () => {
    server.script((_b, _r, res) => json(res, 500, { error: 'boom' }));
    const err = await gen().generate([req()]).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAIHttpError);
    expect(err).toMatchObject({ status: 500, attempts: 3 });
    expect(err.message).toMatch(/HTTP 500 after 3 attempts.*boom/);
    expect(server.seen).toHaveLength(3);
  });

  it('does not retry a 4xx', async () => {
    server.script((_b, _r, res) => json(res, 400, { error: 'bad model' }));
    await expect(gen().generate([req()])).rejects.toMatchObject({ name: 'OpenAIHttpError', status: 400, attempts: 1 });
    expect(server.seen).toHaveLength(1);
  });

  it('times out with a clear error', async () => {
    // never answers, and notes when the client gives up on the connection
    let clientGaveUp!: () => void;
    const gaveUp = new Promise<void>((r) => (clientGaveUp = r));
    server.script((_b, req) => req.socket.once('close', clientGaveUp));
    const g = new OpenAICompletionsGenerator({ baseUrl: server.baseUrl, model: 'm', timeoutMs: 150, retries: 0 });
    const err = await g.generate([req()]).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAITimeoutError);
    expect(err.message).toMatch(/did not answer within 150 ms/);
    // the timeout really ended the request (it did not just stop waiting for it)
    await gaveUp;
    expect(server.seen).toHaveLength(1);
  });

  it('rejects malformed bodies instead of dropping anything', async () => {
    const cases: [(b: Record<string, unknown>) => unknown, RegExp][] = [
      [() => 'not json', /body is not JSON/],
      [() => ({ object: 'text_completion' }), /`choices` is not an array/],
      [(b) => ({ ...completionsBody(1, b.n as number, () => 'x'), choices: completionsBody(1, 1, () => 'x').choices }), /expected 2 choices.*got 1/],
      [() => ({ choices: [{ index: 0, text: 'a' }, { index: 0, text: 'b' }] }), /index 0 is out of range or repeated/],
      [() => ({ choices: [{ index: 0, text: 7 }, { index: 1, text: 'b' }] }), /choices\[0\]\.text is not a string/],
      [() => ({ choices: [{ index: 0, text: 'a' }, { index: 1, text: 'b' }], usage: { completion_tokens: -3 } }), /completion_tokens/],
    ];
    for (const [make, msg] of cases) {
      server.script((body, _r, res) => {
        const out = make(body);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(typeof out === 'string' ? out : JSON.stringify(out));
      });
      const err = await gen().generate([req()]).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAIResponseError);
      expect(err.message).toMatch(msg);
    }
  });

  it('cancels a pending request on abort', async () => {
    // aborts once the server holds the request (never on a timer: a request still on its way
    // when the test ends would be counted by the next test's script)
    let arrived!: () => void;
    const held = new Promise<void>((r) => (arrived = r));
    let clientGaveUp!: () => void;
    const gaveUp = new Promise<void>((r) => (clientGaveUp = r));
    server.script((_b, req) => {
      req.socket.once('close', clientGaveUp);
      arrived();
    });
    const ac = new AbortController();
    void held.then(() => ac.abort(new Error('stop now')));
    await expect(gen().generate([req()], { signal: ac.signal })).rejects.toThrow('stop now');
    // the abort really ended the request (it did not just stop waiting for it)
    await gaveUp;
    expect(server.seen).toHaveLength(1);
  });

  it('sends one request per sample when the server ignores n', async () => {
    server.script((body, _r, res) => json(res, 200, completionsBody(1, 1, () => `seed ${body.seed}`)));
    const g = new OpenAICompletionsGenerator({ baseUrl: server.baseUrl, model: 'm', supportsN: false, ...fast });
    const out = await g.generate([req([], 3)], { seed: 10 });
    expect(server.seen).toHaveLength(3);
    expect(server.seen.every((s) => s.body.n === 1 && typeof s.body.prompt === 'string')).toBe(true);
    expect(new Set(out[0].map((c) => c.text)).size).toBe(3);
  });

  it('rejects bad options and requests before sending anything', async () => {
    server.script((_b, _r, res) => json(res, 200, {}));
    expect(() => new OpenAICompletionsGenerator({ baseUrl: 'nope', model: 'm' })).toThrow(/baseUrl is not a URL/);
    expect(() => new OpenAICompletionsGenerator({ baseUrl: server.baseUrl, model: '' })).toThrow(/model/);
    expect(() => new OpenAICompletionsGenerator({ baseUrl: server.baseUrl, model: 'm', timeoutMs: -1 })).toThrow(/timeoutMs/);
    await expect(gen().generate([req()], { topP: 2 })).rejects.toThrow(/topP/);
    await expect(gen().generate([{ problem: 'p', steps: [], n: 1.5 }])).rejects.toThrow(/n must be a positive integer/);
    expect(server.seen).toHaveLength(0);
  });
});

describe('OpenAIChatGenerator', () => {
  const chatBody = (n: number, text: string, extra: Record<string, unknown> = {}) => ({
    choices: Array.from({ length: n }, (_, i) => ({ index: i, message: { role: 'assistant', content: `${text}${i}` }, finish_reason: 'stop', ...extra })),
    usage: { completion_tokens: 3 * n },
  });

  it('continues the partial solution as the assistant turn', async () => {
    server.script((body, _r, res) => json(res, 200, chatBody(body.n as number, 'next ')));
    const g = new OpenAIChatGenerator({ baseUrl: server.baseUrl, model: 'chat', ...fast });
    const out = await g.generate([req(['a', 'b'], 2), req([], 1)], { seed: 3 });
    expect(server.seen).toHaveLength(2);
    const first = server.seen.find((s) => (s.body.messages as unknown[]).length === 3)!.body;
    expect(first).toMatchObject({ continue_final_message: true, add_generation_prompt: false, n: 2, stop: ['\n\n'] });
    expect((first.messages as { content: string }[])[2]).toEqual({ role: 'assistant', content: 'a\n\nb\n\n' });
    expect(out[0].map((c) => c.text)).toEqual(['next 0', 'next 1']);
    expect(out[1]).toHaveLength(1);
  });

  it('instruct mode shows the steps in the user turn', async () => {
    server.script((body, _r, res) => json(res, 200, chatBody(body.n as number, 'x')));
    const g = new OpenAIChatGenerator({ baseUrl: server.baseUrl, model: 'chat', prefix: 'instruct', ...fast });
    await g.generate([req(['first'], 1)]);
    const msgs = server.seen[0].body.messages as { role: string; content: string }[];
    expect(msgs.at(-1)!.role).toBe('user');
    expect(msgs.at(-1)!.content).toContain('Step 1: first');
    expect(server.seen[0].body.continue_final_message).toBeUndefined();
  });

  it('a missing message is a clear error', async () => {
    server.script((_b, _r, res) => json(res, 200, { choices: [{ index: 0, finish_reason: 'stop' }] }));
    const g = new OpenAIChatGenerator({ baseUrl: server.baseUrl, model: 'chat', ...fast });
    await expect(g.generate([req([], 1)])).rejects.toThrow(/choices\[0\]\.message is missing/);
  });
});

describe('LlmJudgeScorer', () => {
  const verdicts = (...v: string[]) => v.map((x, i) => `Step ${i + 1}: ${x}`).join('\n');
  const chat = (contents: string[]) => ({ choices: contents.map((content, index) => ({ index, message: { role: 'assistant', content }, finish_reason: 'stop' })) });

  it('parses strict verdicts into per-step probabilities', async () => {
    server.script((_b, _r, res) => json(res, 200, chat([verdicts('correct', 'incorrect', 'correct'), verdicts('correct', 'correct', 'correct')])));
    const judge = new LlmJudgeScorer({ baseUrl: server.baseUrl, model: 'judge', samples: 2, ...fast });
    const [s] = await judge.score([{ problem: 'p', steps: ['a', 'b', 'c'] }]);
    // once a sample rejects a step the chain stays wrong for it
    expect(s.stepProbs).toEqual([1, 0.5, 0.5]);
    expect(server.seen[0].body).toMatchObject({ n: 2, temperature: 0.7 });
    expect(JSON.stringify(server.seen[0].body.messages)).toContain('Step 3: c');
  });

  it('re-asks after an unreadable answer, then fails clearly', async () => {
    server.script(
      (_b, _r, res) => json(res, 200, chat(['Looks fine to me!'])),
      (_b, _r, res) => json(res, 200, chat([verdicts('correct', 'incorrect')])),
    );
    const judge = new LlmJudgeScorer({ baseUrl: server.baseUrl, model: 'judge', ...fast });
    const [s] = await judge.score([{ problem: 'p', steps: ['a', 'b'] }]);
    expect(s.stepProbs).toEqual([1, 0]);
    expect(server.seen).toHaveLength(2);
    server.script((_b, _r, res) => json(res, 200, chat(['Step 1: correct\nStep 2: maybe'])));
    const err = await judge.score([{ problem: 'p', steps: ['a', 'b'] }]).catch((e) => e);
    expect(err).toBeInstanceOf(JudgeParseError);
    expect(err.message).toMatch(/line 2 is not "Step 2: correct\|incorrect"/);
    expect(server.seen).toHaveLength(3); // 1 + parseRetries
  });

  it('parseVerdicts is strict about count and order', () => {
    expect(parseVerdicts('**Step 1:** correct\n\nStep 2: Incorrect.', 2)).toEqual([true, false]);
    expect(() => parseVerdicts('Step 2: correct\nStep 1: correct', 2)).toThrow(/judges step 2/);
    expect(() => parseVerdicts('Step 1: correct', 2)).toThrow(/expected 2 verdict lines, got 1/);
  });
});

describe('search over HTTP', () => {
  it('beam search drives a policy served on loopback and finds the verified answer', async () => {
    const problems = createArithmeticProblems(3, { seed: 21, steps: 4 });
    const policy = new ArithmeticGenerator({ problems, slipRate: 0.3 });
    // the server plays the policy: it reads problem and steps back out of the prompt
    server.script(async (body, _r, res) => {
      const prompts = (Array.isArray(body.prompt) ? body.prompt : [body.prompt]) as string[];
      const requests = prompts.map((p) => {
        const [problem, ...steps] = p.split('\n\n').filter((x) => x !== '');
        return { problem, steps, n: body.n as number };
      });
      const out = await policy.generate(requests, { seed: body.seed as number, maxTokens: body.max_tokens as number });
      const choices = out.flatMap((cs, p) => cs.map((c, j) => ({ index: p * cs.length + j, text: c.text, finish_reason: 'stop', stop_reason: c.finishReason === 'eos' ? null : '\n\n' })));
      json(res, 200, { choices, usage: { completion_tokens: out.flat().reduce((a, c) => a + c.tokens, 0) } });
    });
    const generator = gen();
    for (const p of problems) {
      const r = await beamSearch(p.problem, { generator, scorer: createOracleScorer(problems), beamWidth: 2, expansions: 3, seed: 1 });
      expect(Number(r.answer)).toBe(p.answer);
      expect(verifySteps(p, r.best!.steps).every(Boolean)).toBe(true);
      expect(r.usage.tokens).toBeGreaterThan(0);
    }
  });
});
