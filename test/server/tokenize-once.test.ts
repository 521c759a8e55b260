// The service tokenizes each chain once per request: the encoding that the token limits are
// checked on is the one the batch scores. Proven by counting the real tiny PRM's tokenizer
// calls per chain text over real HTTP (the count sees a second tokenization: counting, then
// scoring from text, outside the service, shows 2).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHEPHERD_TAG } from '../../lib/formats/index.js';
import type { ChainItem } from '../../lib/interfaces.js';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer, ServerModel, ServerOptions } from '../../lib/server/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { FakeModel } from './fake-model.js';
import { get, metricValue, postJson } from './http.js';

let dir: string;
let tiny: TinyModel;
let served: Prm; // overflow 'error', maxContext 128
let cut: Prm; // overflow 'truncate'
let reference: Prm; // scored directly, for the expected numbers
/** Every text the served models' tokenizers encoded, in order. */
let encoded: string[] = [];

/** The exact text Math-Shepherd tokenizes for a chain. */
const chainText = (c: ChainItem) => `${c.problem} ${c.steps.map((s) => `${s} ${SHEPHERD_TAG}`).join('\n')}`;

/** How often each chain's text went through the tokenizer since `since`. */
function timesTokenized(chains: readonly ChainItem[], since: number): number[] {
  const seen = encoded.slice(since);
  return chains.map((c) => seen.filter((t) => t === chainText(c)).length);
}

function countCalls(prm: Prm): void {
  const tok = prm.tokenizer;
  const encode = tok.encode.bind(tok);
  tok.encode = (text: string, addSpecialTokens?: boolean) => {
    encoded.push(text);
    return encode(text, addSpecialTokens);
  };
}

function chainsFor(tag: string, n: number): ChainItem[] {
  return Array.from({ length: n }, (_, i) => ({
    problem: `${tag}: what is ${i} times ${i + 2}?`,
    steps: [`${i} times ${i + 2} is ${i * (i + 2)}.`, `So the answer is ${i * (i + 2)}.`],
  }));
}

const servers: PrmServer[] = [];
async function serve(model: ServerModel, options: Partial<ServerOptions> = {}): Promise<string> {
  const s = createServer({ model, closeModel: false, ...options });
  servers.push(s);
  return (await s.listen()).url;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-tokenize-once-'));
  tiny = await createTinyModel({ dir, seed: 5, maxPositions: 128 });
  const load = (overflow: 'error' | 'truncate') => Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd', workers: { threads: 1 }, overflow });
  [served, cut, reference] = await Promise.all([load('error'), load('truncate'), load('error')]);
  countCalls(served);
  countCalls(cut);
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all([served, cut, reference].map((p) => p?.close()));
  rmSync(dir, { recursive: true, force: true });
});

describe('one tokenization per chain per request', () => {
  it('/v1/prm/score: each chain is tokenized once, and scored right', async () => {
    const url = await serve(prmServerModel(served));
    const items = chainsFor('score', 5);
    const since = encoded.length;
    const r = await postJson(url, '/v1/prm/score', { items, aggregate: 'min' });
    expect(r.status).toBe(200);
    expect(timesTokenized(items, since)).toEqual([1, 1, 1, 1, 1]);
    const direct = await reference.score(items, { aggregate: 'min' });
    r.body.results.forEach((res: any, i: number) => {
      expect(res.tokens).toBe(direct[i]!.tokens);
      res.stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(direct[i]!.stepProbs[k]!, 6));
      expect(res.score).toBeCloseTo(direct[i]!.score, 6);
    });
  });

  it('/v1/prm/rerank: each candidate is tokenized once', async () => {
    const url = await serve(prmServerModel(served));
    const problem = 'rerank: what is 6 times 7?';
    const candidates = [['6 times 7 is 42.'], ['6 times 7 is 41.', 'So 41.'], ['7 sixes make 42.', 'The answer is 42.'], ['It is 48.']];
    const since = encoded.length;
    const r = await postJson(url, '/v1/prm/rerank', { problem, candidates, aggregate: 'prod' });
    expect(r.status).toBe(200);
    expect(timesTokenized(candidates.map((steps) => ({ problem, steps })), since)).toEqual([1, 1, 1, 1]);
    const direct = await reference.rerank(problem, candidates, { aggregate: 'prod' });
    expect(r.body.results.map((x: any) => x.index)).toEqual(direct.map((d) => d.index));
  });

  it('concurrent requests share batches built from their own encodings', async () => {
    // the batch closes once it holds all 12 chains (its timer outlives the test): one batch
    // whatever the arrival order and timing
    const url = await serve(prmServerModel(served), { batching: { maxWaitMs: 600_000, maxBatchItems: 12 }, requestTimeoutMs: 600_000 });
    const requests = Array.from({ length: 6 }, (_, i) => chainsFor(`batch ${i}`, 2));
    const since = encoded.length;
    const replies = await Promise.all(requests.map((items) => postJson(url, '/v1/prm/score', { items })));
    expect(replies.map((r) => r.status)).toEqual(Array(6).fill(200));
    expect(timesTokenized(requests.flat(), since)).toEqual(Array(12).fill(1));
    // one batch held the rows of all six requests' encodings
    expect(metricValue((await get(url, '/metrics')).text, 'prmkit_batch_size_count')).toBe(1);
    const direct = await reference.score(requests.flat());
    replies.forEach((r, q) =>
      r.body.results.forEach((res: any, i: number) => {
        const d = direct[q * 2 + i]!;
        res.stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(d.stepProbs[k]!, 6));
      }),
    );
  });

  it('the count can tell: counting, then scoring the same chains from text, tokenizes each twice', async () => {
    const items = chainsFor('twice', 3);
    const since = encoded.length;
    served.countTokens(items);
    await served.score(items);
    expect(timesTokenized(items, since)).toEqual([2, 2, 2]);
  });

  it('a chain over the limits is refused (413) after one tokenization, before any backbone work', async () => {
    const url = await serve(prmServerModel(served));
    expect(served.maxContext).toBe(128);
    const long = { problem: 'too long', steps: Array.from({ length: 12 }, (_, k) => `step ${k} says quite a lot of words here`) };
    const chunks = served.stats.calls;
    const since = encoded.length;
    const r = await postJson(url, '/v1/prm/score', { items: [chainsFor('ok', 1)[0], long] });
    expect(r.status).toBe(413);
    expect(r.body.error.param).toBe('items[1]');
    expect(r.body.error.message).toMatch(/items\[1\] is \d+ tokens long; the limit is 128 tokens per chain/);
    expect(timesTokenized([long], since)).toEqual([1]);
    expect(served.stats.calls).toBe(chunks);
  });

  it('text too long for the limits by its length alone is refused without tokenizing it; text under that bound is tokenized and counted', async () => {
    const url = await serve(prmServerModel(served));
    const perToken = served.tokenizer.maxTokenChars!;
    // byte-level BPE: a bound exists, and it is the vocabulary's longest piece
    expect(perToken).toBeGreaterThanOrEqual(1);
    const bound = 2 * perToken * 128; // characters that cannot be under 128 tokens
    const huge = { problem: 'huge', steps: ['z'.repeat(4_000_000)] };
    let since = encoded.length;
    const r = await postJson(url, '/v1/prm/score', { items: [huge] });
    expect(r.status).toBe(413);
    expect(r.body.error.message).toMatch(/^items\[0\] is 4000004 characters, at least \d+ tokens; the limit is 128 tokens per chain/);
    expect(encoded.length).toBe(since);
    // just under the length bound: only the tokenizer can tell, and it does
    const near = { problem: 'near', steps: ['z '.repeat(Math.floor((bound - 8) / 2))] };
    since = encoded.length;
    const n = await postJson(url, '/v1/prm/score', { items: [near] });
    expect(n.status).toBe(413);
    expect(n.body.error.message).toMatch(/^items\[0\] is \d+ tokens long; the limit is 128 tokens per chain/);
    expect(timesTokenized([near], since)).toEqual([1]);
  });

  it("with overflow 'truncate', the one encoding is cut when scored, as Prm.score cuts it", async () => {
    const url = await serve(prmServerModel(cut));
    const long = { problem: 'cut me', steps: Array.from({ length: 12 }, (_, k) => `step ${k} says quite a lot of words here`) };
    const items = [chainsFor('short', 1)[0]!, long];
    const since = encoded.length;
    const r = await postJson(url, '/v1/prm/score', { items });
    expect(r.status).toBe(200);
    expect(timesTokenized(items, since)).toEqual([1, 1]);
    const direct = await cut.score(items);
    expect(direct[1]!.truncated).toBe(true);
    expect(r.body.results.map((x: any) => [x.truncated, x.tokens])).toEqual([
      [false, direct[0]!.tokens],
      [true, 128],
    ]);
    expect(r.body.results[1].stepProbs).toHaveLength(direct[1]!.stepProbs.length);
    r.body.results[1].stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(direct[1]!.stepProbs[k]!, 6));
  });
});

describe('the model contract', () => {
  it('takes a model that is only a chain scorer; refuses one without encode and score', async () => {
    const model: ServerModel = {
      chains: {
        encode: (items) => items.map((item) => ({ tokens: item.steps.length + 1 })),
        score: async (chains) => chains.map((c) => ({ stepLogProbs: [Math.log(0.5)], tokens: c.tokens, truncated: false })),
      },
    };
    const url = await serve(model);
    const r = await postJson(url, '/v1/prm/score', { items: [{ problem: 'p', steps: ['a', 'b'] }] });
    expect(r.status).toBe(200);
    expect(r.body.results[0].tokens).toBe(3);
    expect(r.body.results[0].stepProbs[0]).toBeCloseTo(0.5, 6);
    // the parts it lacks answer 501
    expect((await postJson(url, '/tokenize', { prompt: 'x' })).status).toBe(501);
    expect((await postJson(url, '/pooling', { input: [1, 2] })).status).toBe(501);
    expect(() => createServer({ model: {} as ServerModel })).toThrow(/options.model.chains must be a chain scorer/);
    expect(() => createServer({ model: { chains: { encode: model.chains.encode } } as ServerModel })).toThrow(/encode\(items\) and score\(chains, options\)/);
    const fake = new FakeModel();
    expect(() => createServer({ model: { ...fake, chains: fake.chains, tokenClassifier: {} } as unknown as ServerModel })).toThrow(/tokenClassifier must have a classify/);
  });

  it('answers 500 (not a crash) when a model encodes the wrong number of chains', async () => {
    const model: ServerModel = {
      chains: {
        encode: (items) => items.slice(1).map(() => ({ tokens: 3 })),
        score: async (chains) => chains.map(() => ({ stepLogProbs: [], tokens: 3, truncated: false })),
      },
    };
    const url = await serve(model);
    const r = await postJson(url, '/v1/prm/score', { items: chainsFor('x', 2) });
    expect(r.status).toBe(500);
    expect(r.body.error.message).toMatch(/encoded 1 chains for 2 items/);
  });
});
