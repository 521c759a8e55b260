// The scoring invariants on the tiny model: one pass = prefixes alone, padding and
// batching do not change scores, order does not matter, a KV-cached prefix + new steps =
// the whole chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prm, PrmSession } from '../../lib/prm/index.js';
import { chains, cleanup, describeWhen, hasShared, NO_SHARED, processbench, tiny } from './helpers.js';

function close(a: number[], b: number[], tol = 1e-5) {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i]), `index ${i}: ${a[i]} vs ${b[i]}`).toBeLessThan(tol);
}

const CASES = [
  ['hidden', 'math-shepherd'],
  ['logits', 'math-shepherd'],
  ['hidden', 'qwen2.5-math-prm'],
  ['logits', 'rlhflow'],
  ['hidden', 'skywork'],
] as const;

for (const [output, format] of CASES) {
  describe(`invariants, tiny model with ${output} output, ${format} format`, () => {
    let prm: Prm;
    let left: Prm;
    /** The same weights as a GroupQueryAttention graph with past keys/values (one row per call). */
    let gqa: Prm;
    beforeAll(async () => {
      // plain attention: rows of any padding and prefix lengths in one call
      const m = await tiny({ output, kvCache: true, layers: 2, hidden: 32, seed: 7, format, attention: 'plain' });
      prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format, workers: { threads: 1 } });
      left = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format, workers: { threads: 1 }, chunking: { padding: 'left', maxBatch: 3 } });
      const g = await tiny({ output, kvCache: true, layers: 2, hidden: 32, seed: 7, format });
      gqa = await Prm.load({ model: g.model, tokenizer: g.tokenizer, head: g.head, format, workers: { threads: 1 } });
    });
    afterAll(async () => {
      await prm?.close();
      await left?.close();
      await gqa?.close();
      cleanup();
    });
    const plainPrm = () => prm;

    it('scores are probabilities that depend on the text', async () => {
      const [a, b] = await prm.score([
        { problem: 'What is 2+2?', steps: ['2+2 = 4', 'so the answer is 4'] },
        { problem: 'What is 2+2?', steps: ['2+2 = 5!', 'so the answer is 5'] },
      ]);
      expect(a.stepProbs).toHaveLength(2);
      for (const p of [...a.stepProbs, ...b.stepProbs]) expect(p > 0 && p < 1).toBe(true);
      expect(a.stepProbs[0]).not.toBeCloseTo(b.stepProbs[0], 6);
    });

    it('1. one pass over a chain = scoring each prefix alone', async () => {
      const item = { problem: 'Solve 3x = 12.', steps: ['divide both sides by 3', 'x = 4', 'check: 3 * 4 = 12'] };
      const [whole] = await prm.score([item]);
      const prefixes = await prm.score(item.steps.map((_, k) => ({ problem: item.problem, steps: item.steps.slice(0, k + 1) })));
      close(whole.stepProbs, prefixes.map((p) => p.stepProbs[p.stepProbs.length - 1]));
    });

    it('2. a padded batch of mixed lengths = each chain alone; left and right padding agree', async () => {
      const items = chains(9, 3);
      const batch = await prm.score(items);
      const leftBatch = await left.score(items);
      for (let i = 0; i < items.length; i++) {
        const [alone] = await prm.score([items[i]]);
        close(batch[i].stepProbs, alone.stepProbs);
        close(leftBatch[i].stepProbs, alone.stepProbs);
      }
    });

    it('3. the order of candidates does not change any score', async () => {
      const items = chains(7, 11);
      const fwd = await prm.score(items);
      const perm = [3, 0, 6, 1, 5, 2, 4];
      const shuffled = await prm.score(perm.map((i) => items[i]));
      perm.forEach((i, k) => close(shuffled[k].stepProbs, fwd[i].stepProbs));
      const ranked = await prm.rerank('P', items.map((it) => it.steps), { aggregate: 'prod' });
      const ranked2 = await prm.rerank('P', perm.map((i) => items[i].steps), { aggregate: 'prod' });
      expect(ranked2.map((r) => perm[r.index])).toEqual(ranked.map((r) => r.index));
    });

    it.for(['plain', 'gqa'])('4. KV cache (%s attention): new steps on a cached prefix = the whole chain', async (kind) => {
      const prm = kind === 'gqa' ? gqa : plainPrm();
      const problem = 'A farmer has 12 cows and buys 3 more.';
      const prefix = ['He starts with 12 cows.', 'He buys 3 more.'];
      const conts = [['12 + 3 = 15', 'The answer is 15.'], ['12 - 3 = 9'], ['12 * 3 = 36', 'so 36', 'done']];
      const session = await prm.session({ problem, steps: prefix });
      const whole = await prm.score(conts.map((c) => ({ problem, steps: [...prefix, ...c] })), { aggregate: 'min' });
      close(session.stepProbs, whole[0].stepProbs.slice(0, 2));
      const inc = await session.score(conts, { aggregate: 'min', keep: true });
      inc.forEach((r, i) => {
        close(r.stepProbs, whole[i].stepProbs);
        expect(Math.abs(r.score - whole[i].score)).toBeLessThan(1e-5);
        expect(r.firstError).toBe(whole[i].firstError);
      });
      // going one level deeper from a kept session
      const deeper = await inc[1].session!.score([['9 cows', 'answer 9']]);
      const [full] = await prm.score([{ problem, steps: [...prefix, ...conts[1], '9 cows', 'answer 9'] }]);
      close(deeper[0].stepProbs, full.stepProbs);
      const extended = await session.extend(['12 + 3 = 15']);
      expect(extended.tokens).toBeGreaterThan(session.tokens);
      const [viaExtend] = await extended.score([['The answer is 15.']]);
      close(viaExtend.stepProbs, whole[0].stepProbs);
    });

    it.for(['plain', 'gqa'])('4b. many sessions with different prefix lengths in one call (%s attention) = whole chains', async (kind) => {
      const prm = kind === 'gqa' ? gqa : plainPrm();
      const problem = 'Compute 7 * 8.';
      const a = await prm.session({ problem, steps: [] });
      const b = await prm.session({ problem, steps: ['7 * 8 means seven eights.'] });
      const c = await prm.session({ problem, steps: ['7 * 8', '= 56', 'double-check: 8 * 7 = 56'] });
      const conts = [[['56']], [['that is 56', 'answer 56'], ['it is 54']], [['so 56.']]];
      const many = await PrmSession.scoreMany(
        [a, b, c].map((session, i) => ({ session, continuations: conts[i] })),
        { aggregate: 'prod', keep: true },
      );
      const sessions = [a, b, c];
      for (let i = 0; i < 3; i++) {
        const whole = await prm.score(conts[i].map((k) => ({ problem, steps: [...sessions[i].item.steps, ...k] })), { aggregate: 'prod' });
        expect(many[i]).toHaveLength(conts[i].length);
        many[i].forEach((r, j) => {
          close(r.stepProbs, whole[j].stepProbs);
          expect(Math.abs(r.score - whole[j].score)).toBeLessThan(1e-5);
        });
      }
      // kept sessions from a mixed call carry on correctly
      const [next] = await many[1][1].session!.score([['no, 56']]);
      const [ref] = await prm.score([{ problem, steps: [...b.item.steps, 'it is 54', 'no, 56'] }]);
      close(next.stepProbs, ref.stepProbs);
      await expect(PrmSession.scoreMany([{ session: 'x' as never, continuations: [] }])).rejects.toThrow(/must be a PrmSession/);
    });
  });
}

describe('KV cache when a prefix does not tokenize as the start of the longer chain', () => {
  it('falls back to the common token prefix and still matches the whole chain', async () => {
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 2 });
    // the step count is written before the problem, so every appended step changes early tokens
    const format = {
      kind: 'custom' as const,
      separator: { text: '<extra_0>' },
      template: '[{{ steps|length }}] {{ problem }}\n{% for s in steps %}{{ s }}{{ separator }}{% endfor %}',
      head: { activation: 'softmax' as const, positive: 0, outputs: 2, labels: ['+', '-'] },
      aggregation: 'min' as const,
    };
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format, workers: { threads: 1 } });
    try {
      const session = await prm.session({ problem: 'count to three', steps: ['one', 'two'] });
      const [inc] = await session.score([['three']]);
      const [whole] = await prm.score([{ problem: 'count to three', steps: ['one', 'two', 'three'] }]);
      close(inc.stepProbs, whole.stepProbs);
      // the cached scores were for a different token sequence: they must not have been reused
      expect(Math.abs(session.stepProbs[0] - whole.stepProbs[0])).toBeGreaterThan(1e-7);
    } finally {
      await prm.close();
    }
  });

  it('a model without a KV cache refuses sessions clearly', async () => {
    const m = await tiny({ layers: 1, hidden: 16 });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      expect(prm.backend.kvCache).toBe(false);
      await expect(prm.session({ problem: 'q', steps: [] })).rejects.toThrow(/needs an ONNX model with past_key_values/);
    } finally {
      await prm.close();
    }
  });
});

describeWhen(hasShared, 'invariants on real ProcessBench chains', NO_SHARED, () => {
  it('one pass = prefixes alone, batch = alone, for real step texts', async () => {
    const pb = processbench('gsm8k')
      .map((x) => ({ problem: x.problem, steps: x.steps, len: x.problem.length + x.steps.join('').length }))
      .sort((a, b) => a.len - b.len)
      .slice(0, 6)
      .map(({ problem, steps }) => ({ problem, steps }));
    const m = await tiny({ kvCache: true, layers: 2, hidden: 32, seed: 13, maxPositions: 2048 });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: m.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      const batch = await prm.score(pb);
      for (let i = 0; i < pb.length; i++) {
        const [alone] = await prm.score([pb[i]]);
        close(batch[i].stepProbs, alone.stepProbs);
        const prefixes = await prm.score(pb[i].steps.map((_, k) => ({ problem: pb[i].problem, steps: pb[i].steps.slice(0, k + 1) })));
        close(alone.stepProbs, prefixes.map((p) => p.stepProbs[p.stepProbs.length - 1]));
      }
      const session = await prm.session({ problem: pb[0].problem, steps: pb[0].steps.slice(0, 1) });
      const [inc] = await session.score([pb[0].steps.slice(1)]);
      close(inc.stepProbs, batch[0].stepProbs);
    } finally {
      await prm.close();
    }
  });
});
