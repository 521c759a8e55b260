// The service's prefix cache across requests: a best-of-N group and a beam-search round sent
// one candidate per request continue the chains scored by earlier requests (fewer backbone
// tokens, the same scores as the Prm scoring each chain alone), /metrics counts hits,
// misses, evictions and bytes, and a size of 0 turns the cache off.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { get, metricValue, postJson } from './http.js';

const PROBLEM = 'A train leaves at 3 pm and travels 60 km per hour. How far has it gone by 6 pm? Explain each step.';
const CANDIDATES = [
  ['From 3 pm to 6 pm is 3 hours.', '3 * 60 = 180 km.'],
  ['From 3 pm to 6 pm is 3 hours.', '3 * 60 = 120 km.'],
  ['It travels for 3 hours.', 'So 180 km.'],
  ['6 - 3 = 3 hours.', '60 * 3 = 180.', 'The answer is 180 km.'],
];

let dir: string;
let tiny: TinyModel;
let prm: Prm;
let served: Prm;
let server: PrmServer;
let url: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'prmkit-prefix-cache-'));
  tiny = await createTinyModel({ dir, seed: 8, kvCache: true, layers: 2, hidden: 32 });
  const load = () => Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd', workers: { threads: 1 } });
  [prm, served] = await Promise.all([load(), load()]);
  server = createServer({ model: prmServerModel(served, { prefixCacheBytes: 64 * 2 ** 20 }), batching: { maxWaitMs: 1 } });
  ({ url } = await server.listen({ port: 0 }));
});

afterAll(async () => {
  await server?.close();
  await prm?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function metrics(): Promise<string> {
  return (await get(url, '/metrics')).text;
}

describe('the prefix cache across requests', () => {
  it('a group sent one candidate per request runs each shared problem once, with the same scores', async () => {
    const items = CANDIDATES.map((steps) => ({ problem: PROBLEM, steps }));
    const alone = await prm.score(items, { aggregate: 'min', sharePrefixes: false });
    const before = served.stats.tokens;
    for (let i = 0; i < items.length; i++) {
      const r = await postJson(url, '/v1/prm/score', { items: [items[i]], aggregate: 'min' });
      expect(r.status).toBe(200);
      r.body.results[0].stepProbs.forEach((p: number, k: number) => expect(Math.abs(p - alone[i].stepProbs[k])).toBeLessThanOrEqual(1e-5));
      expect(r.body.results[0].tokens).toBe(alone[i].tokens);
    }
    const ran = served.stats.tokens - before;
    expect(ran).toBeLessThan(alone.reduce((a, s) => a + s.tokens, 0) * 0.6);
    const text = await metrics();
    expect(metricValue(text, 'prmkit_prefix_cache_misses_total')).toBe(1);
    expect(metricValue(text, 'prmkit_prefix_cache_hits_total')).toBe(items.length - 1);
    expect(metricValue(text, 'prmkit_prefix_cache_entries')).toBeGreaterThan(0);
    expect(metricValue(text, 'prmkit_prefix_cache_bytes')).toBeGreaterThan(0);
    expect(metricValue(text, 'prmkit_prefix_cache_max_bytes')).toBe(64 * 2 ** 20);
    expect(metricValue(text, 'prmkit_prefix_cache_reused_tokens_total')).toBeGreaterThan(0);
  });

  it('a beam-search round sent as separate requests continues each parent chain', async () => {
    const parent = CANDIDATES[3];
    const children = ['Check: 180 / 60 = 3.', 'Check: 180 / 3 = 60.'];
    const before = served.stats.tokens;
    const hits = metricValue(await metrics(), 'prmkit_prefix_cache_hits_total')!;
    for (const step of children) {
      const item = { problem: PROBLEM, steps: [...parent, step] };
      const r = await postJson(url, '/v1/prm/score', { items: [item] });
      const [ref] = await prm.score([item], { sharePrefixes: false });
      r.body.results[0].stepProbs.forEach((p: number, k: number) => expect(Math.abs(p - ref.stepProbs[k])).toBeLessThanOrEqual(1e-5));
    }
    expect(metricValue(await metrics(), 'prmkit_prefix_cache_hits_total')).toBe(hits + children.length);
    // only the new steps ran (plus the boundary token each step's score is read at)
    expect(served.stats.tokens - before).toBeLessThan(prm.countTokens([{ problem: PROBLEM, steps: parent }])[0]);
  });

  it('prefixCacheBytes 0 turns it off; a bad size is refused', async () => {
    const m = prmServerModel(prm, { prefixCacheBytes: 0 });
    expect(m.prefixCache).toBeUndefined();
    const s = createServer({ model: m });
    try {
      const text = await s.app.inject({ method: 'GET', url: '/metrics' }).then((r) => r.body);
      expect(text).toContain('prmkit_prefix_cache_max_bytes 0\n');
      expect(text).toContain('prmkit_prefix_cache_hits_total 0\n');
    } finally {
      await s.close();
    }
    expect(() => prmServerModel(prm, { prefixCacheBytes: -5 })).toThrow(/prefixCacheBytes must be a non-negative integer/);
  });
});
