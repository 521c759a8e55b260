// The remote backbone: a client of vLLM's POST /pooling (task token_classify) against a real
// HTTP server on loopback that answers in vLLM's response shape (base64 float32 when asked,
// JSON rows otherwise), computed by a local Prm. test/server/vllm-pooling.test.ts runs the
// same client against prmkit's own server.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolingRequest, PoolingResponse } from '../../lib/backbones/vllm/protocol.js';
import { Prm } from '../../lib/prm/index.js';
import { chains, cleanup, tiny } from './helpers.js';

type Mode = 'tokens' | 'steps' | 'error' | 'short' | 'json';

describe('vLLM /pooling backbone', () => {
  let local: Prm;
  let server: Server;
  let url: string;
  let mode: Mode = 'tokens';
  const seen: PoolingRequest[] = [];
  let tok: string;

  beforeAll(async () => {
    const m = await tiny({ output: 'logits', format: 'qwen2.5-math-prm', layers: 2, hidden: 32, seed: 5 });
    tok = m.tokenizer;
    local = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm', workers: { threads: 1 } });
    let requests = 0;
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', async () => {
        requests++;
        if (requests > 200 || req.url !== '/pooling' || req.method !== 'POST') {
          res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'not found', type: 'NotFound', code: 404 } }));
          return;
        }
        const r = JSON.parse(body) as PoolingRequest;
        seen.push(r);
        if (mode === 'error') {
          res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'error', message: 'This model does not support token_classify', type: 'BadRequestError', param: null, code: 400 }));
          return;
        }
        const inputs = r.input as number[][];
        const out = await local.classifyTokens(inputs, { activation: r.use_activation ?? true });
        // what vLLM's base64 encoding gives for float32 little-endian: the rows, flattened
        const encode = (rows: number[][]) => {
          if (mode === 'json' || r.encoding_format !== 'base64') return rows;
          const b = Buffer.alloc(rows.length * (rows[0]?.length ?? 0) * 4);
          rows.flat().forEach((v, i) => b.writeFloatLE(v, i * 4));
          return b.toString('base64');
        };
        const sep = local.tokenizer.tokenToId('<extra_0>')!;
        const response: PoolingResponse = {
          id: `pool-${requests}`,
          object: 'list',
          created: Math.floor(Date.now() / 1000),
          model: r.model ?? 'tiny-prm',
          data: out.map((o, index) => ({
            index,
            object: 'pooling',
            // a step pooler (step_tag_id set) returns only the rows of the step tag tokens
            data: encode(mode === 'steps' ? o.probs.filter((_, t) => o.tokens[t] === sep) : mode === 'short' ? o.probs.slice(1) : o.probs),
          })),
          usage: { prompt_tokens: inputs.reduce((a, x) => a + x.length, 0), total_tokens: inputs.reduce((a, x) => a + x.length, 0), completion_tokens: 0 },
        };
        // answer out of order, as a server may
        response.data.reverse();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(response));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await local?.close();
    await new Promise<void>((r) => server?.close(() => r()));
    cleanup();
  });

  it('gives the same step scores as the local backbone, in vLLM request/response shapes', async () => {
    const remote = await Prm.connect({ vllm: { url, model: 'tiny-prm', maxBatch: 3 }, tokenizer: tok, format: 'qwen2.5-math-prm' });
    const items = chains(7, 21);
    mode = 'tokens';
    seen.length = 0;
    const a = await local.score(items, { aggregate: 'prod' });
    const b = await remote.score(items, { aggregate: 'prod' });
    expect(b.map((x) => x.stepProbs.length)).toEqual(items.map((i) => i.steps.length));
    a.forEach((x, i) => {
      x.stepProbs.forEach((p, k) => expect(Math.abs(p - b[i].stepProbs[k])).toBeLessThan(1e-5));
      expect(Math.abs(x.score - b[i].score)).toBeLessThan(1e-5);
      expect(b[i].firstError).toBe(x.firstError);
    });
    expect(seen.length).toBe(3); // 7 items in requests of 3
    for (const r of seen) {
      // vLLM's current request fields: ids, no server-side special tokens, base64 float32 LE answers
      expect(r).toMatchObject({ task: 'token_classify', model: 'tiny-prm', add_special_tokens: false, use_activation: true, encoding_format: 'base64', embed_dtype: 'float32', endianness: 'little' });
      expect(r).not.toHaveProperty('softmax');
      expect(r).not.toHaveProperty('activation');
      expect(Array.isArray(r.input) && Array.isArray((r.input as number[][])[0])).toBe(true);
    }
    expect(remote.backend.kind).toBe('vllm');
  });

  // a step pooler (one row per step), and a server that ignores encoding_format (JSON rows)
  for (const [m, what] of [
    ['steps', 'a step pooler answer (one row per step)'],
    ['json', 'JSON rows from a server that ignores encoding_format'],
  ] as const) {
    it(`reads ${what}`, async () => {
      const remote = await Prm.connect({ vllm: { url }, tokenizer: tok, format: 'qwen2.5-math-prm' });
      const items = chains(4, 8);
      mode = m;
      const b = await remote.score(items);
      mode = 'tokens';
      const a = await local.score(items);
      a.forEach((x, i) => x.stepProbs.forEach((p, k) => expect(Math.abs(p - b[i].stepProbs[k])).toBeLessThan(1e-5)));
    });
  }

  it('sends each set of chains that are token-prefixes of one another as one input: the longest', async () => {
    const remote = await Prm.connect({ vllm: { url }, tokenizer: tok, format: 'qwen2.5-math-prm' });
    const steps = ['one step', 'two steps', 'three steps'];
    // a beam's parent, its children and an unrelated chain
    const items = [
      { problem: 'p', steps: steps.slice(0, 1) },
      { problem: 'p', steps },
      { problem: 'p', steps: steps.slice(0, 2) },
      { problem: 'q', steps: steps.slice(0, 2) },
      { problem: 'p', steps: [steps[0]!, 'another second step'] },
    ];
    for (const m of ['tokens', 'steps'] as const) {
      mode = m;
      seen.length = 0;
      const b = await remote.score(items);
      const sent = seen.flatMap((r) => r.input as number[][]);
      // p/1 and p/2 ride inside p/3; q/2 and p/1+another stand alone
      expect(sent).toHaveLength(3);
      const enc = local.encode(items);
      // each sent up to its last step tag (what follows cannot change a causal model's step scores)
      const cut = (i: number) => enc.boundaries.positions[enc.boundaries.offsets[i + 1]! - 1]! + 1;
      expect(sent.map((x) => x.length).sort((x, y) => x - y)).toEqual([1, 3, 4].map(cut).sort((x, y) => x - y));
      mode = 'tokens';
      const a = await local.score(items);
      a.forEach((x, i) => {
        expect(b[i].stepProbs).toHaveLength(items[i]!.steps.length);
        x.stepProbs.forEach((p, k) => expect(Math.abs(p - b[i].stepProbs[k])).toBeLessThan(1e-5));
      });
    }
  });

  it('server errors and malformed answers become clear errors', async () => {
    const remote = await Prm.connect({ vllm: { url }, tokenizer: tok, format: 'qwen2.5-math-prm' });
    mode = 'error';
    await expect(remote.score(chains(2, 1))).rejects.toThrow(/answered 400: This model does not support token_classify/);
    mode = 'short';
    await expect(remote.score(chains(2, 1))).rejects.toThrow(/rows; expected/);
    mode = 'tokens';
    const dead = await Prm.connect({ vllm: { url: 'http://127.0.0.1:9', timeoutMs: 2000 }, tokenizer: tok, format: 'qwen2.5-math-prm' });
    await expect(dead.score(chains(1, 1))).rejects.toThrow(/POST http:\/\/127\.0\.0\.1:9\/pooling failed/);
    // a string that is no http(s) URL is a bad value (RangeError), not a bad kind; unknown keys name the nearest
    await expect(Prm.connect({ vllm: { url: 'ftp://x' }, tokenizer: tok, format: 'qwen2.5-math-prm' })).rejects.toThrow(/vllm\.url must be an http\(s\) URL, got "ftp:\/\/x"/);
    await expect(Prm.connect({ vllm: { url, maxbatch: 3 } as never, tokenizer: tok, format: 'qwen2.5-math-prm' })).rejects.toThrow(/vllm\.maxbatch is not an option; did you mean 'maxBatch'/);
    await expect(Prm.connect({ vllm: { url, timeoutMs: '5' } as never, tokenizer: tok, format: 'qwen2.5-math-prm' })).rejects.toThrow(TypeError);
  });

  it('classifyTokens returns [T][K] probabilities per input, locally and remotely', async () => {
    const remote = await Prm.connect({ vllm: { url }, tokenizer: tok, format: 'qwen2.5-math-prm' });
    const a = await local.classifyTokens(['hello<extra_0>', [1, 2, 3]]);
    const b = await remote.classifyTokens(['hello<extra_0>', [1, 2, 3]]);
    expect(a[1].tokens).toEqual([1, 2, 3]);
    expect(a[0].probs).toHaveLength(a[0].tokens.length);
    for (const row of a[0].probs) {
      expect(row).toHaveLength(2);
      expect(Math.abs(row[0] + row[1] - 1)).toBeLessThan(1e-6);
    }
    b.forEach((r, i) => r.probs.forEach((row, t) => row.forEach((p, k) => expect(Math.abs(p - a[i].probs[t][k])).toBeLessThan(1e-6))));
    // raw outputs ask the server for use_activation: false
    seen.length = 0;
    const za = await local.classifyTokens(['hello<extra_0>'], { activation: false });
    const zb = await remote.classifyTokens(['hello<extra_0>'], { activation: false });
    expect(seen[0]!.use_activation).toBe(false);
    zb[0]!.probs.forEach((row, t) => row.forEach((z, k) => expect(Math.abs(z - za[0]!.probs[t]![k]!)).toBeLessThan(1e-5)));
  });
});
