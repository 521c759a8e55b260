// Search with a real `Prm` (a tiny ONNX model generated here, with a KV cache): the search
// scores through the Prm's prefix cache, running only each new step, with all live beams of
// a round in one batched session call, and the scores match scoring whole chains.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Prm, PrmSession } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import { beamSearch, dvts, mcts } from '../../lib/search/index.js';
import { ArithmeticGenerator, createArithmeticProblems } from '../../lib/search/arithmetic.js';
import type { ScorerSession, SearchEvent, SearchResult, SessionScorer } from '../../lib/search/index.js';
import type { ChainItem } from '../../lib/interfaces.js';

describe('search over a Prm with a prefix cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prmkit-search-'));
  let prm: Prm;
  const problems = createArithmeticProblems(2, { seed: 4, steps: 3 });
  const generator = new ArithmeticGenerator({ problems, slipRate: 0.3 });
  const beam = { generator, beamWidth: 2, expansions: 3, seed: 7 } as const;
  let full: SearchResult;

  beforeAll(async () => {
    // plain attention: a round's rows of several prefixes go in one backbone call
    const m = await createTinyModel({ dir, kvCache: true, layers: 2, hidden: 32, seed: 3, attention: 'plain' });
    prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
    full = await beamSearch(problems[0].problem, { ...beam, scorer: prm, incremental: false });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await prm?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function scoresById(r: SearchResult): Map<number, number[]> {
    return new Map(r.tree.nodes.filter((n) => n.stepProbs).map((n) => [n.id, n.stepProbs!]));
  }

  /** Same tree, same answer, and every node's step scores within 1e-4 of whole-chain scoring. */
  function expectSameAsFull(inc: SearchResult): void {
    expect(inc.tree.nodes.map((n) => n.step)).toEqual(full.tree.nodes.map((n) => n.step));
    const a = scoresById(inc);
    const b = scoresById(full);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [id, probs] of a) {
      expect(probs).toHaveLength(b.get(id)!.length);
      probs.forEach((p, k) => expect(Math.abs(p - b.get(id)![k])).toBeLessThan(1e-4));
    }
    expect(inc.answer).toBe(full.answer);
    expect(inc.usage.newSteps).toBe(inc.usage.scoredChains); // one new step per scored chain
  }

  /** Distinct parents of the nodes scored in each round, from the finished tree. */
  function parentsPerScoredRound(r: SearchResult): number[] {
    const byRound = new Map<number, Set<number>>();
    for (const n of r.tree.nodes.slice(1))
      if (n.stepProbs) (byRound.get(n.round) ?? byRound.set(n.round, new Set()).get(n.round)!).add(n.parent);
    return [...byRound.keys()].sort((x, y) => x - y).map((k) => byRound.get(k)!.size);
  }

  it('beam search scores all live beams of a round in one batched session call and matches whole-chain scoring', async () => {
    const sessionSpy = vi.spyOn(prm, 'session');
    const scoreSpy = vi.spyOn(prm, 'score');
    const manySpy = vi.spyOn(PrmSession, 'scoreMany');
    const perSessionSpy = vi.spyOn(PrmSession.prototype, 'score');
    const before = prm.stats;
    // batched calls made by the time each round's 'score' event fires
    const callsAtScore: number[] = [];
    const onProgress = (e: SearchEvent) => {
      if (e.type === 'score') callsAtScore.push(manySpy.mock.calls.length);
    };
    let inc: SearchResult;
    try {
      inc = await beamSearch(problems[0].problem, { ...beam, scorer: prm, onProgress });
      expect(sessionSpy).toHaveBeenCalledTimes(1); // the root, once
      expect(scoreSpy).not.toHaveBeenCalled(); // never whole chains
      expect(perSessionSpy).not.toHaveBeenCalled(); // never one call per beam
      // exactly one batched call per scoring round, holding every parent of that round
      expect(inc.usage.scorerCalls).toBeGreaterThan(1);
      expect(callsAtScore).toEqual(Array.from({ length: inc.usage.scorerCalls }, (_, k) => k + 1));
      const entriesPerCall = manySpy.mock.calls.map(([entries]) => entries.length);
      expect(entriesPerCall).toEqual(parentsPerScoredRound(inc));
      expect(Math.max(...entriesPerCall)).toBe(beam.beamWidth); // a round really had several beams
      for (const [entries] of manySpy.mock.calls) expect(entries.every((e) => e.continuations.every((c) => c.length === 1))).toBe(true); // the new step only
      // caches are kept while beams go on (a last round with no live child keeps none)
      expect(manySpy.mock.calls.slice(0, -1).map(([, o]) => o?.keep)).toEqual(Array(inc.usage.scorerCalls - 1).fill(true));
      // one backbone pass for the root chain, then one per round (a round's few short new
      // steps fit one memory-bounded chunk), instead of one per beam
      const after = prm.stats;
      expect(after.calls - before.calls).toBe(1 + inc.usage.scorerCalls);
      // on top of cached keys/values: far fewer tokens than the scored chains hold
      const { problem, prefix, nodes } = inc.tree;
      const chainOf = (id: number): string[] => (id <= 0 ? [...prefix] : [...chainOf(nodes[id].parent), nodes[id].step]);
      const scored = nodes.filter((n) => n.id > 0 && n.stepProbs);
      const whole = prm.countTokens(scored.map((n) => ({ problem, steps: chainOf(n.id) }))).reduce((a, b) => a + b, 0);
      const root = prm.countTokens([{ problem, steps: chainOf(0) }])[0];
      expect(after.tokens - before.tokens - root).toBeLessThan(whole / 2);
    } finally {
      for (const s of [sessionSpy, scoreSpy, manySpy, perSessionSpy]) s.mockRestore();
    }
    expectSameAsFull(inc);
  });

  /** A scorer over the same Prm whose sessions are plain objects (no class-level batching). */
  function wrapped(extra: Partial<SessionScorer> = {}): SessionScorer & { perSession: number } {
    const counter = { perSession: 0 };
    const wrap = (s: PrmSession): ScorerSession & { inner: PrmSession } => ({
      inner: s,
      async score(continuations, options) {
        counter.perSession++;
        const res = await s.score(continuations, options);
        return res.map((r) => ({ stepProbs: r.stepProbs, ...(r.session ? { session: wrap(r.session) } : {}) }));
      },
    });
    return Object.assign(counter, {
      name: 'wrapped-prm',
      backend: prm.backend,
      score: (items: readonly ChainItem[], o?: { signal?: AbortSignal }) => prm.score(items, o),
      session: async (item: ChainItem, o?: { signal?: AbortSignal }) => wrap(await prm.session(item, o)),
      ...extra,
    });
  }

  it('falls back to one session call per parent (all in flight) when the sessions offer no batched call', async () => {
    const scorer = wrapped();
    const inc = await beamSearch(problems[0].problem, { ...beam, scorer });
    expect(scorer.perSession).toBe(parentsPerScoredRound(inc).reduce((a, b) => a + b, 0));
    expect(scorer.perSession).toBeGreaterThan(inc.usage.scorerCalls);
    expectSameAsFull(inc);
  });

  it("uses the scorer's own scoreSessions once per round when it has one", async () => {
    const batches: number[] = [];
    const scorer = wrapped({
      async scoreSessions(entries, options) {
        batches.push(entries.length);
        const inner = entries.map((e) => ({ session: (e.session as ScorerSession & { inner: PrmSession }).inner, continuations: e.continuations }));
        const res = await PrmSession.scoreMany(inner, options);
        // results carry Prm sessions; the engine only hands them back to this method
        return res.map((rs) => rs.map((r) => ({ stepProbs: r.stepProbs, ...(r.session ? { session: Object.assign(Object.create(null), { inner: r.session, score: () => Promise.reject(new Error('per-session call')) }) } : {}) })));
      },
    });
    const inc = await beamSearch(problems[0].problem, { ...beam, scorer });
    expect(batches).toEqual(parentsPerScoredRound(inc));
    expect(scorer.perSession).toBe(0);
    expectSameAsFull(inc);
  });

  it('a batched session call returning the wrong number of results fails with a clear error', async () => {
    const scorer = wrapped({ scoreSessions: async (entries) => entries.map(() => []) });
    await expect(beamSearch(problems[0].problem, { ...beam, scorer })).rejects.toThrow(/session 0 returned 0 results for \d+ continuations/);
    const short = wrapped({ scoreSessions: async () => [] });
    await expect(beamSearch(problems[0].problem, { ...beam, scorer: short })).rejects.toThrow(/returned 0 result lists for 1 sessions/);
  });

  it('dvts and mcts run on the Prm too', async () => {
    for (const r of [
      await dvts(problems[1].problem, { generator, scorer: prm, subtrees: 2, expansions: 2, seed: 1 }),
      await mcts(problems[1].problem, { generator, scorer: prm, simulations: 4, expansions: 2, seed: 1 }),
    ]) {
      expect(r.best).toBeDefined();
      for (const n of r.tree.nodes.slice(1)) if (n.stepProbs) expect(n.stepProbs).toHaveLength(n.depth);
    }
  });
});
