// Shared prefixes run once: the prefix tree and the plan (which prefix is split off, which
// runs again), then on models: prm.score / rerank / denseRewards with sharing give what each
// chain alone gives (|Δp| <= 1e-5) while running only the unique tokens, on both KV graph
// kinds of the tiny model and on the shared reference checkpoints (where the scores are also
// the PyTorch recipe's); the prefix cache carries prefixes across calls, bounded and LRU.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import { prefixTree } from '../../lib/prm/prefix-tree.js';
import { planRuns } from '../../lib/prm/shared-plan.js';
import { checkpointsDir, describeWhen } from '../helpers/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { cleanup, tempDir, tiny } from './helpers.js';

afterAll(() => cleanup());

const row = (ids: number[], at: number[] = [ids.length - 1]) => ({ ids: Int32Array.from(ids), at: Int32Array.from(at) });
const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

function maxDiff(a: ReadonlyArray<{ stepProbs: number[] }>, b: ReadonlyArray<{ stepProbs: number[] }>): number {
  let m = 0;
  a.forEach((x, i) => {
    expect(x.stepProbs.length).toBe(b[i].stepProbs.length);
    x.stepProbs.forEach((p, j) => (m = Math.max(m, Math.abs(p - b[i].stepProbs[j]))));
  });
  return m;
}

/** Distinct token prefixes over the chains: the tokens a run that shares every prefix needs. */
function uniqueTokens(rows: readonly Int32Array[]): number {
  const seen = new Set<string>();
  for (const r of rows) for (let k = 1; k <= r.length; k++) seen.add(r.subarray(0, k).join(','));
  return seen.size;
}

describe('the prefix tree and the plan', () => {
  it('best-of-8 over one problem: the problem once, then each candidate', () => {
    const rows = range(0, 8).map((c) => row([...range(100, 40), ...range(1000 * (c + 1), 10 + c)]));
    const tree = prefixTree(rows);
    expect(tree).toHaveLength(1);
    expect(tree[0]).toMatchObject({ start: 0, end: 40 });
    expect(tree[0].children).toHaveLength(8);
    const { jobs, shared } = planRuns(tree, { minSaved: 64 });
    expect(shared).toBe(true);
    expect(jobs[0]).toMatchObject({ start: 0, end: 40, keep: true, depth: 0, parent: undefined });
    expect(jobs.slice(1).every((j) => j.parent === 0 && j.start === 40 && j.depth === 1 && !j.keep)).toBe(true);
    expect(jobs.reduce((a, j) => a + j.end - j.start, 0)).toBe(uniqueTokens(rows.map((r) => r.ids)));
  });

  it('a prefix that saves fewer than minSaved tokens runs again in each chain', () => {
    const rows = range(0, 4).map((c) => row([...range(100, 10), ...range(1000 * (c + 1), 20)]));
    // 3 x 10 = 30 tokens saved
    expect(planRuns(prefixTree(rows), { minSaved: 31 })).toMatchObject({ shared: false });
    expect(planRuns(prefixTree(rows), { minSaved: 31 }).jobs.every((j) => j.start === 0 && j.end === 30)).toBe(true);
    expect(planRuns(prefixTree(rows), { minSaved: 30 }).shared).toBe(true);
  });

  it('a search tree: nested branches, a chain that is a prefix of others, identical chains', () => {
    const p = range(10, 30);
    const a = [...p, ...range(200, 30)];
    const rows = [row(a), row([...a, ...range(300, 5)]), row([...a, ...range(400, 6)]), row([...p, ...range(500, 30)]), row([...p, ...range(500, 30)])];
    const { jobs } = planRuns(prefixTree(rows), { minSaved: 1 });
    // p once; a's step once (it ends a chain and two go on); the identical chains run once
    expect(jobs.map((j) => [j.start, j.end, j.depth, j.keep])).toEqual([
      [0, 30, 0, true],
      [30, 60, 1, true],
      [60, 65, 2, false],
      [60, 66, 2, false],
      [30, 60, 1, false],
    ]);
    expect(jobs[1].ending).toEqual([0]);
    expect(jobs[4].ending.sort()).toEqual([3, 4]);
    expect(jobs.reduce((s, j) => s + j.end - j.start, 0)).toBe(uniqueTokens(rows.map((r) => r.ids)));
  });

  it('a cached prefix starts the runs from its end', () => {
    const rows = [row([...range(0, 50), 7, 8]), row([...range(0, 50), 9])];
    const { jobs } = planRuns(prefixTree(rows), { minSaved: 64, cover: [45, 50] });
    // the second row's own cached prefix covers 50 of its tokens
    expect(jobs.map((j) => [j.parent, j.start, j.end])).toEqual([[-1, 45, 52], [-1, 50, 51]]);
    const covered = planRuns(prefixTree([row(range(0, 40), [10, 39])]), { minSaved: 64, cover: [40] });
    expect(covered.jobs).toEqual([]);
  });
});

const PROBLEM = 'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether?';
const CANDIDATES = [
  ['In May she sold 48 / 2 = 24 clips.', 'Altogether 48 + 24 = 72.'],
  ['In May she sold 48 / 2 = 24 clips.', 'Altogether 48 + 24 = 74.'],
  ['Half of 48 is 24.', 'So 72 in all.'],
  ['In May she sold 48 * 2 = 96 clips.', 'Altogether 144.'],
  ['In May she sold 48 / 2 = 24 clips.'],
  ['She sold 48 in April.', 'And 24 in May.', 'That is 72.'],
  ['Half of 48 is 24.', 'So 72 in all.'],
  ['24', '72'],
];

for (const attention of ['gqa', 'plain'] as const) {
  describe(`shared prefixes on the tiny model, ${attention} attention`, () => {
    let prm: Prm;
    beforeAll(async () => {
      const m = await tiny({ kvCache: true, layers: 2, hidden: 32, heads: attention === 'gqa' ? 2 : 4, kvHeads: attention === 'gqa' ? 2 : 2, seed: 11 });
      prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
      expect(prm.backend.kind === 'onnx' && prm.backend.kv?.attention).toBe(attention);
    });
    afterAll(() => prm?.close());

    it('best-of-8 and a second problem in one call: each chain alone, running only the unique tokens', async () => {
      const items = [...CANDIDATES.map((steps) => ({ problem: PROBLEM, steps })), { problem: 'What is 2 + 2?', steps: ['2 + 2 = 4'] }];
      const before = prm.stats;
      const alone = await prm.score(items, { sharePrefixes: false });
      const mid = prm.stats;
      const shared = await prm.score(items, { sharePrefixes: { minSaved: 1 } });
      const after = prm.stats;
      expect(maxDiff(shared, alone)).toBeLessThanOrEqual(1e-5);
      const enc = prm.encode(items);
      const live = enc.inputIds.map((ids, i) => ids.subarray(0, enc.boundaries.positions[enc.boundaries.offsets[i + 1] - 1] + 1));
      expect(mid.tokens - before.tokens).toBe(live.reduce((a, r) => a + r.length, 0));
      expect(after.tokens - mid.tokens).toBe(uniqueTokens(live));
      // the stats say which calls shared and what it saved
      expect(mid.prefixes.plainCalls - before.prefixes.plainCalls).toBe(1);
      expect(after.prefixes.sharedCalls - mid.prefixes.sharedCalls).toBe(1);
      expect(after.prefixes.tokensRun - mid.prefixes.tokensRun).toBe(uniqueTokens(live));
      expect(after.prefixes.chainTokens - mid.prefixes.chainTokens).toBe(mid.tokens - before.tokens);
      expect(after.prefixes.unavailable).toBeUndefined();
      // the default threshold shares the problem too, and the scores stay those of each chain alone
      const dflt = await prm.score(items);
      expect(maxDiff(dflt, alone)).toBeLessThanOrEqual(1e-5);
      expect(prm.stats.tokens - after.tokens).toBeLessThan(mid.tokens - before.tokens);
    });

    it('rerank and dense rewards share prefixes with the same results', async () => {
      const a = await prm.rerank(PROBLEM, CANDIDATES, { aggregate: 'min' });
      const b = await prm.rerank(PROBLEM, CANDIDATES, { aggregate: 'min', sharePrefixes: false });
      expect(a.map((r) => r.index)).toEqual(b.map((r) => r.index));
      a.forEach((r, i) => expect(Math.abs(r.score - b[i].score)).toBeLessThanOrEqual(1e-5));
      const before = prm.stats.tokens;
      const dense = await prm.denseRewards(CANDIDATES.map((steps) => ({ problem: PROBLEM, steps })));
      const ran = prm.stats.tokens - before;
      const alone = await prm.score(CANDIDATES.map((steps) => ({ problem: PROBLEM, steps })), { sharePrefixes: false });
      expect(ran).toBeLessThan(prm.stats.tokens - before - ran);
      dense.forEach((d, i) => d.stepProbs.forEach((p, j) => expect(Math.abs(p - alone[i].stepProbs[j])).toBeLessThanOrEqual(1e-5)));
      // the service's path: the step log-probabilities alone, shared and not
      const enc = prm.encode(CANDIDATES.map((steps) => ({ problem: PROBLEM, steps })));
      const mid = prm.stats.prefixes.sharedCalls;
      const logs = await prm.stepLogsEncoded(enc, { sharePrefixes: { minSaved: 1 } });
      expect(prm.stats.prefixes.sharedCalls).toBe(mid + 1);
      const plain = await prm.stepLogsEncoded(enc, { sharePrefixes: false });
      logs.forEach((l, i) => l.stepLogProbs.forEach((lp, j) => expect(Math.abs(Math.exp(lp) - Math.exp(plain[i].stepLogProbs[j]))).toBeLessThanOrEqual(1e-5)));
    });

    it('a prefix cache carries prefixes across calls: one candidate per call reuses the problem', async () => {
      const cache = prm.prefixCache({ maxBytes: 1 << 24, minTokens: 16 });
      const alone = await prm.score(CANDIDATES.map((steps) => ({ problem: PROBLEM, steps })), { sharePrefixes: false });
      const before = prm.stats.tokens;
      const one = [];
      for (const steps of CANDIDATES) one.push(...(await prm.score([{ problem: PROBLEM, steps }], { prefixCache: cache })));
      expect(maxDiff(one, alone)).toBeLessThanOrEqual(1e-5);
      const s = cache.stats();
      expect(s.misses).toBe(1);
      expect(s.hits).toBe(CANDIDATES.length - 1);
      expect(s.entries).toBeGreaterThan(0);
      expect(prm.stats.tokens - before).toBeLessThan(alone.reduce((a, r) => a + r.tokens, 0) / 2);
      // the same chains again: every step read from the cache, nothing run
      const t = prm.stats.tokens;
      const again = await prm.score(CANDIDATES.map((steps) => ({ problem: PROBLEM, steps })), { prefixCache: cache });
      expect(maxDiff(again, alone)).toBeLessThanOrEqual(1e-5);
      expect(prm.stats.tokens).toBe(t);
      // a search round sent one branch per call continues its parent's chain
      const [deeper] = await prm.score([{ problem: PROBLEM, steps: [...CANDIDATES[0], 'So the answer is 72.'] }], { prefixCache: cache });
      const [ref] = await prm.score([{ problem: PROBLEM, steps: [...CANDIDATES[0], 'So the answer is 72.'] }], { sharePrefixes: false });
      expect(maxDiff([deeper], [ref])).toBeLessThanOrEqual(1e-5);
      cache.clear();
      expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0 });
    });

    it('the prefix cache stays within its bytes, least recently used out', async () => {
      const perToken = (prm as unknown as { source: { cache: { bytesPerToken: number } } }).source.cache.bytesPerToken;
      const cache = prm.prefixCache({ maxBytes: 200 * perToken, minTokens: 8 });
      const items = range(0, 6).map((i) => ({ problem: `(${i}) ${PROBLEM}`, steps: CANDIDATES[i] }));
      const alone = await prm.score(items, { sharePrefixes: false });
      for (const it of items) {
        const r = await prm.score([it], { prefixCache: cache });
        expect(cache.stats().bytes).toBeLessThanOrEqual(200 * perToken);
        expect(maxDiff(r, [alone[items.indexOf(it)]])).toBeLessThanOrEqual(1e-5);
      }
      expect(cache.stats().evictions).toBeGreaterThan(0);
    });

    it('bad sharing options are refused before any work, naming the option', async () => {
      const items = [{ problem: PROBLEM, steps: ['a'] }];
      await expect(prm.score(items, { sharePrefixes: 'yes' as never })).rejects.toThrow(/sharePrefixes must be true, false or \{ minSaved \}/);
      await expect(prm.score(items, { sharePrefixes: { minSaved: 0 } })).rejects.toThrow(/sharePrefixes\.minSaved must be a positive integer/);
      await expect(prm.score(items, { sharePrefixes: { minSave: 3 } as never })).rejects.toThrow(/did you mean 'minSaved'/);
      await expect(prm.score(items, { prefixCache: {} as never })).rejects.toThrow(/prefixCache must be a PrefixCache/);
      expect(() => prm.prefixCache({ maxBytes: -1 })).toThrow(/maxBytes must be a non-negative integer/);
      const other = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 12 });
      const p2 = await Prm.load({ model: other.model, tokenizer: other.tokenizer, head: other.head, format: 'math-shepherd', workers: { threads: 1 } });
      try {
        await expect(prm.score(items, { prefixCache: p2.prefixCache({ maxBytes: 1 << 20 }) })).rejects.toThrow(/prefixCache belongs to another model/);
      } finally {
        await p2.close();
      }
    });
  });
}

describe('a model without a KV cache scores each chain alone', () => {
  it('sharing asked for changes nothing; a prefix cache is refused', async () => {
    const m = await tiny({ layers: 2, hidden: 32, seed: 11 });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      const items = CANDIDATES.map((steps) => ({ problem: PROBLEM, steps }));
      expect(maxDiff(await prm.score(items), await prm.score(items, { sharePrefixes: false }))).toBe(0);
      // the fallback is said in the stats
      expect(prm.stats.prefixes).toMatchObject({ sharedCalls: 0, plainCalls: 2, unavailable: expect.stringMatching(/keeps no keys\/values.*--kv-cache/) });
      expect(() => prm.prefixCache({ maxBytes: 1 })).toThrow(/a prefix cache needs an ONNX model with past_key_values/);
    } finally {
      await prm.close();
    }
  });
});

// the reference checkpoints: GroupQueryAttention (head size 16) and plain (head size 8)
for (const family of ['qwen2.5-math-prm', 'skywork-prm'] as const) {
  const dir = join(checkpointsDir, family);
  describeWhen(existsSync(join(dir, 'reference.json')), `shared prefixes on the ${family} reference checkpoint`, `${dir} is absent`, () => {
    it('best-of-N groups (each chain with its own step prefixes) score as each chain alone and as PyTorch', async () => {
      const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as { chains: Array<{ problem: string; steps: string[] }>; reference: Array<{ stepProbs: number[] }> };
      const out = tempDir();
      await convert({ input: dir, output: out, kvCache: true, overwrite: true });
      const prm = await Prm.load({ model: out, workers: { threads: 1 } });
      try {
        const chains = ref.chains.slice(0, 6);
        // each chain, and its prefixes of 1 and 2 steps: groups that share a problem and steps
        const items = chains.flatMap((c) => [c, { problem: c.problem, steps: c.steps.slice(0, 1) }, { problem: c.problem, steps: c.steps.slice(0, 2) }]);
        const alone = await prm.score(items, { sharePrefixes: false });
        const before = prm.stats.tokens;
        const shared = await prm.score(items, { sharePrefixes: { minSaved: 1 } });
        expect(maxDiff(shared, alone)).toBeLessThanOrEqual(1e-5);
        const enc = prm.encode(items);
        const live = enc.inputIds.map((ids, i) => ids.subarray(0, enc.boundaries.positions[enc.boundaries.offsets[i + 1] - 1] + 1));
        expect(prm.stats.tokens - before).toBe(uniqueTokens(live));
        chains.forEach((_, i) => ref.reference[i].stepProbs.forEach((p, j) => expect(Math.abs(shared[3 * i].stepProbs[j] - p)).toBeLessThan(1e-3)));
        const cache = prm.prefixCache({ maxBytes: 1 << 26 });
        const one = [];
        for (const it of items) one.push(...(await prm.score([it], { prefixCache: cache })));
        expect(maxDiff(one, alone)).toBeLessThanOrEqual(1e-5);
        expect(cache.stats().hits).toBeGreaterThan(0);
      } finally {
        await prm.close();
      }
    });
  });
}
