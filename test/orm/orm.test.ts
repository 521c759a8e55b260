// Orm on tiny converted ORM folders of each family: what it reads (the family's text, the last
// token), what it gives (a raw reward; a probability only where the head defines one), the
// same score however the solution is given or batched, ranking, and the refusals that keep
// PRMs and ORMs apart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orm } from '../../lib/orm/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { ChainRanker } from '../../lib/interfaces.js';
import { cleanup, SOLUTIONS, tempDir, tinyFolder } from './helpers.js';

let plain: Orm; // plain-orm: a sigmoid head
let skywork: Orm; // skywork-reward: a raw reward, Llama trunk
let qwen: Orm; // qwen2.5-math-rm: the score MLP
let folders: Record<string, string> = {};

beforeAll(async () => {
  const [p, s, q] = await Promise.all([tinyFolder('plain-orm'), tinyFolder('skywork-reward'), tinyFolder('qwen2.5-math-rm')]);
  folders = { plain: p.folder, skywork: s.folder, qwen: q.folder };
  [plain, skywork, qwen] = await Promise.all([p, s, q].map((f) => Orm.load({ model: f.folder, workers: { threads: 1 } })));
});

afterAll(async () => {
  await Promise.all([plain, skywork, qwen].map((o) => o?.close()));
  cleanup();
});

describe('what an ORM reads', () => {
  it('plain-orm: the problem, then each step and "\\n", every piece tokenized alone; the last token', () => {
    const tok = plain.tokenizer;
    const nl = tok.encode('\n', false);
    const [row] = plain.encode([SOLUTIONS[0]]).inputIds;
    const want = [...tok.encode(SOLUTIONS[0].problem, false), ...SOLUTIONS[0].steps.flatMap((s) => [...tok.encode(s, false), ...nl])];
    expect(Array.from(row)).toEqual(want);
    // as text, every line is a step ended by "\n", the last one's optional
    const asText = plain.encode([{ problem: SOLUTIONS[0].problem, solution: SOLUTIONS[0].steps.join('\n') }]).inputIds[0];
    expect(Array.from(asText)).toEqual(want);
  });

  it('chat families: the chat template over [user problem, assistant steps joined by a blank line]', () => {
    const tok = skywork.tokenizer;
    const text = tok.applyChatTemplate([{ role: 'user', content: SOLUTIONS[3].problem }, { role: 'assistant', content: SOLUTIONS[3].steps.join('\n\n') }]);
    expect(Array.from(skywork.encode([SOLUTIONS[3]]).inputIds[0])).toEqual(tok.encode(text, false));
    const qwenText = qwen.tokenizer.applyChatTemplate([
      { role: 'system', content: 'Please reason step by step, and put your final answer within \\boxed{}.' },
      { role: 'user', content: SOLUTIONS[3].problem },
      { role: 'assistant', content: SOLUTIONS[3].steps.join('\n\n') },
    ]);
    expect(Array.from(qwen.encode([SOLUTIONS[3]]).inputIds[0])).toEqual(qwen.tokenizer.encode(qwenText, false));
  });

  it('a solution given as text scores as the steps it joins', async () => {
    for (const orm of [plain, skywork, qwen]) {
      const bySteps = await orm.score(SOLUTIONS);
      const byText = await orm.score(SOLUTIONS.map((s) => ({ problem: s.problem, solution: orm.format.solution(s.steps) })));
      expect(byText).toEqual(bySteps);
    }
  });
});

describe('what an ORM gives', () => {
  it('one reward per solution and tokens; a probability only from a sigmoid head', async () => {
    const [p, s, q] = await Promise.all([plain, skywork, qwen].map((o) => o.score(SOLUTIONS.map((x, i) => ({ ...x, id: `s${i}` })))));
    for (const r of p) expect(r.probability).toBeCloseTo(1 / (1 + Math.exp(-r.reward)), 6);
    for (const r of [...s, ...q]) expect(r).not.toHaveProperty('probability');
    for (const rs of [p, s, q]) {
      expect(rs.map((r) => r.id)).toEqual(['s0', 's1', 's2', 's3']);
      for (const r of rs) {
        expect(Number.isFinite(r.reward)).toBe(true);
        expect(r).not.toHaveProperty('stepProbs');
        expect(r.truncated).toBe(false);
      }
      // different solutions, different rewards: the value is read from each input
      expect(new Set(rs.map((r) => r.reward)).size).toBe(4);
    }
    expect(p.map((r) => r.tokens)).toEqual(plain.countTokens(SOLUTIONS));
    expect(plain.chainScale).toBe('probability');
    expect(skywork.chainScale).toBe('reward');
  });

  it('the in-graph head equals the kernels\' linear head on the hidden states of the same checkpoint', async () => {
    // same seed and shape as the folder: createTinyModel writes last_hidden_state and the head's tensors
    const m = await createTinyModel({ dir: tempDir(), format: 'plain-orm', layers: 1, hidden: 16, seed: 3, output: 'hidden' });
    const outside = await Orm.load({ model: m.model, tokenizer: m.tokenizer, format: 'plain-orm', head: m.head, workers: { threads: 1 } });
    try {
      expect(outside.backend.kind === 'onnx' && outside.backend.head).toBe('linear');
      const a = await outside.score(SOLUTIONS);
      const b = await plain.score(SOLUTIONS);
      a.forEach((r, i) => expect(Math.abs(r.reward - b[i].reward)).toBeLessThan(1e-5));
    } finally {
      await outside.close();
    }
  });

  it('batched with padding, a solution scores as it does alone', async () => {
    // one attention call per layer: a graph in causal chunks takes one row per call
    const oneCall = await tinyFolder('skywork-reward', {}, undefined, { attentionChunks: 1 });
    const batched = await Orm.load({ model: oneCall.folder, workers: { threads: 1 }, chunking: { maxBatch: 8, padding: 'right' } });
    try {
      const together = await batched.score(SOLUTIONS);
      for (let i = 0; i < SOLUTIONS.length; i++) {
        const [alone] = await skywork.score([SOLUTIONS[i]]);
        expect(Math.abs(alone.reward - together[i].reward)).toBeLessThan(1e-5);
      }
    } finally {
      await batched.close();
    }
  });

  it('overflow truncate reads the last token that fits and flags it', async () => {
    const full = plain.countTokens([SOLUTIONS[3]])[0];
    const cut = await Orm.load({ model: folders.plain, maxContext: full - 4, overflow: 'truncate', workers: { threads: 1 } });
    try {
      const [r] = await cut.score([SOLUTIONS[3]]);
      expect(r).toMatchObject({ tokens: full - 4, truncated: true });
      // the same as scoring exactly the tokens kept, as a text that ends there
      const ids = plain.encode([SOLUTIONS[3]]).inputIds[0].subarray(0, full - 4);
      const [direct] = await plain.scoreEncoded({ inputIds: [ids], truncated: [false], ids: [undefined] });
      expect(r.reward).toBeCloseTo(direct.reward, 6);
    } finally {
      await cut.close();
    }
  });
});

describe('ranking', () => {
  it('rerank orders by the score (probability where defined, else reward), best first, with topN', async () => {
    for (const orm of [plain, skywork]) {
      const problem = 'What is 2 + 3?';
      const cands = [['2 + 3 = 5'], '2 + 3 = 6\n', ['it is 5', 'so 5'], 'five'];
      const ranked = await orm.rerank(problem, cands);
      const scores = await orm.score(cands.map((c) => (typeof c === 'string' ? { problem, solution: c } : { problem, steps: c })));
      expect(ranked.map((r) => r.index).sort()).toEqual([0, 1, 2, 3]);
      for (let k = 1; k < ranked.length; k++) expect(ranked[k - 1].score).toBeGreaterThanOrEqual(ranked[k].score);
      for (const r of ranked) {
        expect(r.reward).toBe(scores[r.index].reward);
        expect(r.score).toBe(scores[r.index].probability ?? scores[r.index].reward);
      }
      expect(await orm.rerank(problem, cands, { topN: 2 })).toEqual(ranked.slice(0, 2));
    }
  });

  it('Prm and Orm rank chains through one interface', async () => {
    const prmFolder = (await tinyFolder('trl')).folder;
    const prm = await Prm.load({ model: prmFolder, workers: { threads: 1 } });
    try {
      const rankers: ChainRanker[] = [prm, plain, skywork];
      for (const r of rankers) {
        const scores = await r.chainScores(SOLUTIONS);
        expect(scores).toHaveLength(SOLUTIONS.length);
        const ranked = await r.rerank(SOLUTIONS[0].problem, SOLUTIONS.map((s) => s.steps));
        expect(ranked[0].score).toBe(Math.max(...ranked.map((x) => x.score)));
      }
      expect(rankers.map((r) => [r.kind, r.chainScale])).toEqual([['prm', 'probability'], ['orm', 'probability'], ['orm', 'reward']]);
      expect(await plain.chainScores(SOLUTIONS)).toEqual((await plain.score(SOLUTIONS)).map((s) => s.probability));
      expect(await skywork.chainScores(SOLUTIONS)).toEqual((await skywork.score(SOLUTIONS)).map((s) => s.reward));
    } finally {
      await prm.close();
    }
  });
});

describe('a PRM folder and an ORM folder are opened by their own class', () => {
  it('Prm.load refuses an ORM folder and names Orm.load; Orm.load refuses a PRM folder and names Prm.load', async () => {
    await expect(Prm.load({ model: folders.plain })).rejects.toThrow(/is an outcome reward model \(format plain-orm: one score per solution, no step scores\); open it with Orm\.load/);
    const prmFolder = (await tinyFolder('skywork')).folder;
    await expect(Orm.load({ model: prmFolder })).rejects.toThrow(/is a process reward model \(format skywork: a score per step\); open it with Prm\.load/);
    await expect(Orm.load({ model: prmFolder })).rejects.toBeInstanceOf(TypeError);
  });

  it('a closed Orm refuses calls', async () => {
    const o = await Orm.load({ model: folders.plain, workers: { threads: 1 } });
    await o.close();
    await expect(o.score(SOLUTIONS)).rejects.toThrow(/is closed/);
  });
});
