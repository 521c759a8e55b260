// The remote backbone: a client of vLLM's POST /pooling (task token_classify) against a real
// HTTP server on loopback that answers in vLLM's response shape, computed by a local Prm.
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolingRequest, PoolingResponse } from '../../lib/backbones/vllm/protocol.js';
import { Prm } from '../../lib/prm/index.js';
import { chains, cleanup, tiny } from './helpers.js';

type Mode = 'tokens' | 'steps' | 'error' | 'short';

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
    local = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm', threads: 1 });
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
        const out = await local.classifyTokens(inputs);
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
            data: mode === 'steps' ? o.probs.filter((_, t) => o.tokens[t] === sep) : mode === 'short' ? o.probs.slice(1) : o.probs,
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
      expect(r.task).toBe('token_classify');
      expect(r.model).toBe('tiny-prm');
      expect(Array.isArray(r.input) && Array.isArray((r.input as number[][])[0])).toBe(true);
    }
    expect(remote.backend.kind).toBe('vllm');
  });

  it('accepts a step pooler answer (one row per step)', async () => {
    const remote = await Prm.connect({ vllm: { url }, tokenizer: tok, format: 'qwen2.5-math-prm' });
    const items = chains(4, 8);
    mode = 'steps';
    const b = await remote.score(items);
    mode = 'tokens';
    const a = await local.score(items);
    a.forEach((x, i) => x.stepProbs.forEach((p, k) => expect(Math.abs(p - b[i].stepProbs[k])).toBeLessThan(1e-5)));
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
    await expect(Prm.connect({ vllm: { url: 'ftp://x' }, tokenizer: tok, format: 'qwen2.5-math-prm' })).rejects.toThrow(TypeError);
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
  });
});
