// Keys/values that stay in the worker that computed them: the cached forward of both KV
// graphs (GroupQueryAttention with past keys/values, one row per call, in one chunk or in
// causal chunks; plain attention with rows of several prefixes packed in one call) gives
// what scoring the whole chain gives; a handle continues on its own worker; released handles
// are refused and their blocks freed; collected handles free theirs; a worker over its memory
// budget evicts, and an evicted handle recomputes to the same results.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CachedForward, KvHandle } from '../../lib/backbones/cached-forward.js';
import type { OnnxKvCache } from '../../lib/backbones/onnx/kv-cache.js';
import { convert } from '../../lib/convert/index.js';
import { Prm, PrmSession } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import { cleanup, tempDir, tiny } from './helpers.js';

function close(a: readonly number[], b: readonly number[], tol = 1e-5) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(tol);
}

/** The source's cached forward (not public API: the tests drive it directly). */
function cacheOf(prm: Prm): OnnxKvCache {
  return (prm as unknown as { source: { cache: OnnxKvCache } }).source.cache;
}

const PROBLEM = 'A farmer has 12 cows and buys 3 more. How many cows?';
const STEPS = ['He starts with 12 cows.', 'He buys 3 more.', '12 + 3 = 15', 'The answer is 15.'];

afterAll(() => cleanup());

// each KV graph kind: how it is made, and what the backend should say about it
const GRAPHS: Array<[string, () => Promise<Prm>, 'gqa' | 'plain']> = [
  ['GroupQueryAttention with past keys/values (head size 16)', async () => {
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 3 });
    return Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
  }, 'gqa'],
  ['GroupQueryAttention with past keys/values in 3 causal chunks (a converted folder)', async () => {
    const ck = createTinyCheckpoint({ dir: tempDir(), layers: 2, hidden: 32, heads: 2, kvHeads: 1, seed: 3, format: 'math-shepherd' });
    const out = tempDir();
    const r = await convert({ input: ck.dir, output: out, kvCache: true, attentionChunks: 3, overwrite: true });
    expect(r.manifest.kvCache?.attention).toBe('gqa');
    return Prm.load({ model: out, workers: { threads: 1 } });
  }, 'gqa'],
  ['plain attention (head size 8), rows packed in one call', async () => {
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, heads: 4, kvHeads: 2, seed: 3 });
    return Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 }, chunking: { maxBatch: 8 } });
  }, 'plain'],
];

for (const [name, open, attention] of GRAPHS) {
  describe(`KV in the worker: ${name}`, () => {
    let prm: Prm;
    beforeAll(async () => {
      prm = await open();
    });
    afterAll(() => prm?.close());

    it('the backend says how the graph attends; continuations of a session = whole chains', async () => {
      expect(prm.backend.kind === 'onnx' && prm.backend.kv?.attention).toBe(attention);
      const conts = [STEPS.slice(2), STEPS.slice(2, 3), ['12 - 3 = 9', 'so 9']];
      const whole = await prm.score(conts.map((c) => ({ problem: PROBLEM, steps: [...STEPS.slice(0, 2), ...c] })));
      const s = await prm.session({ problem: PROBLEM, steps: STEPS.slice(0, 2) });
      const inc = await s.score(conts, { keep: true });
      inc.forEach((r, i) => close(r.stepProbs, whole[i].stepProbs));
      // two levels deeper, from kept sessions
      const [deeper] = await inc[2].session!.score([['9 cows', 'answer 9']]);
      const [full] = await prm.score([{ problem: PROBLEM, steps: [...STEPS.slice(0, 2), ...conts[2], '9 cows', 'answer 9'] }]);
      close(deeper.stepProbs, full.stepProbs);
    });

    it('a handle continued from any first tokens of it, several prefixes in one call', async () => {
      const cache = cacheOf(prm);
      const ids = prm.encode([{ problem: PROBLEM, steps: STEPS }]).inputIds[0];
      const [whole] = await prm.score([{ problem: PROBLEM, steps: STEPS }]);
      const enc = prm.encode([{ problem: PROBLEM, steps: STEPS }]);
      const bounds = Array.from(enc.boundaries.positions);
      const first = await cache.extend([{ ids: ids.subarray(0, bounds[1] + 1), at: Int32Array.of(bounds[0], bounds[1]) }], { keep: true });
      const h = first.handles![0];
      expect(h.tokens).toBe(bounds[1] + 1);
      // continue from 3 cut points of the same handle at once: the whole, the first step, a token in between
      const cuts = [bounds[1] + 1, bounds[0] + 1, bounds[0] - 2];
      const res = await cache.extend(cuts.map((c) => ({ past: { handle: h, length: c }, ids: ids.subarray(c), at: Int32Array.from(bounds.filter((b) => b >= c), (b) => b - c) })));
      const wholeLp = whole.stepLogProbs;
      cuts.forEach((c, k) => close(Array.from(res.stepLogProbs[k]), wholeLp.slice(bounds.filter((b) => b < c).length)));
      close(Array.from(first.stepLogProbs[0]), wholeLp.slice(0, 2));
      cache.release([h]);
    });

    it('a released handle is refused, and its keys/values are freed in the worker', async () => {
      const cache = cacheOf(prm);
      const before = cache.memory();
      const ids = prm.encode([{ problem: PROBLEM, steps: STEPS.slice(0, 1) }]).inputIds[0];
      const { handles } = await cache.extend([{ ids, at: Int32Array.of(ids.length - 1) }, { ids: ids.subarray(0, 5), at: Int32Array.of(4) }], { keep: true });
      expect(cache.memory().blocks).toBeGreaterThan(before.blocks);
      expect(cache.memory().bytes[0]).toBeGreaterThan(before.bytes[0]);
      cache.release(handles!);
      cache.release(handles!); // twice is fine
      expect(cache.memory().blocks).toBe(before.blocks);
      expect(cache.memory().bytes).toEqual(before.bytes);
      await expect(cache.extend([{ past: { handle: handles![0], length: 3 }, ids: Int32Array.of(1), at: Int32Array.of(0) }])).rejects.toThrow(/rows\[0\]\.past\.handle was released/);
      await expect(cache.extend([{ past: { handle: { tokens: 3 } as KvHandle, length: 3 }, ids: Int32Array.of(1), at: Int32Array.of(0) }])).rejects.toThrow(/rows\[0\]\.past\.handle must be a handle from this model/);
    });
  });
}

describe('KV memory per worker', () => {
  it('over its budget a worker evicts the least recently used blocks; an evicted handle recomputes to the same scores', async () => {
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 5 });
    // about two chains' keys/values per worker
    const perToken = 2 * 2 * 2 * 16 * 4;
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1, kvMemory: 140 * perToken } });
    try {
      const cache = cacheOf(prm);
      expect(cache.bytesPerToken).toBe(perToken);
      const sessions: PrmSession[] = [];
      for (let i = 0; i < 4; i++) sessions.push(await prm.session({ problem: `${PROBLEM} (${i})`, steps: STEPS.slice(0, 2) }));
      const mem = cache.memory();
      expect(mem.evictions).toBeGreaterThan(0);
      expect(mem.bytes[0]).toBeLessThanOrEqual(140 * perToken);
      const many = await PrmSession.scoreMany(sessions.map((session) => ({ session, continuations: [STEPS.slice(2)] })));
      expect(cache.memory().recomputedTokens).toBeGreaterThan(0);
      const whole = await prm.score(sessions.map((s) => ({ problem: s.item.problem, steps: STEPS })));
      many.forEach(([r], i) => close(r.stepProbs, whole[i].stepProbs));
      expect(cache.memory().bytes[0]).toBeLessThanOrEqual(140 * perToken);
    } finally {
      await prm.close();
    }
  });

  it('kvMemory 0 keeps nothing: sessions still score right, by recomputing', async () => {
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 5 });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1, kvMemory: 0 } });
    try {
      const s = await prm.session({ problem: PROBLEM, steps: STEPS.slice(0, 2) });
      const [inc] = await s.score([STEPS.slice(2)]);
      const [whole] = await prm.score([{ problem: PROBLEM, steps: STEPS }]);
      close(inc.stepProbs, whole.stepProbs);
      expect(cacheOf(prm).memory().blocks).toBe(0);
    } finally {
      await prm.close();
    }
    await expect(Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { kvMemory: -1 } })).rejects.toThrow(/options\.workers\.kvMemory must be a non-negative integer/);
  });

  it('handles that are garbage collected free their keys/values', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 5 });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      const cache: CachedForward & OnnxKvCache = cacheOf(prm);
      await (async () => {
        for (let i = 0; i < 3; i++) await prm.session({ problem: `${PROBLEM} ${i}`, steps: STEPS });
      })();
      expect(cache.memory().blocks).toBe(3);
      for (let k = 0; k < 20 && cache.memory().blocks > 0; k++) {
        gc();
        await new Promise((r) => setTimeout(r, 10));
      }
      expect(cache.memory().blocks).toBe(0);
      expect(cache.memory().bytes).toEqual([0]);
    } finally {
      await prm.close();
    }
  });
});

describe('KV on two workers', () => {
  it('each session continues on the worker that holds its keys/values; one call over sessions of both', async () => {
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 6 });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { count: 2, threads: 1 } });
    try {
      const sessions = await Promise.all([0, 1, 2, 3].map((i) => prm.session({ problem: `${PROBLEM} #${i}`, steps: STEPS.slice(0, 1 + (i % 2)) })));
      const mem = cacheOf(prm).memory();
      expect(mem.bytes.every((b) => b > 0)).toBe(true);
      const many = await PrmSession.scoreMany(sessions.map((session) => ({ session, continuations: [['one more step'], ['and another', 'done']] })));
      for (let i = 0; i < 4; i++) {
        const whole = await prm.score([['one more step'], ['and another', 'done']].map((c) => ({ problem: sessions[i].item.problem, steps: [...sessions[i].item.steps, ...c] })));
        many[i].forEach((r, j) => close(r.stepProbs, whole[j].stepProbs));
      }
    } finally {
      await prm.close();
    }
  });
});
