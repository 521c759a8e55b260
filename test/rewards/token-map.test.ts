// Step rewards onto the policy's tokens, with real tokenizers of three kinds: Qwen2.5 and
// Llama 3.1 (byte-level BPE, different vocabularies and pre-tokenizers) and Mistral
// (SentencePiece-style pieces with byte fallback; from the shared data, skipped without it).
// Token spans are checked against the tokenizer's own decoder, independently of how
// PolicyTokenizer derives them.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { denseRewards, PolicyTokenizer, stepEndTokens } from '../../lib/rewards/index.js';
import type { StepScoringModel } from '../../lib/rewards/index.js';
import { PrmTokenizer } from '../../lib/tokenize/tokenizer.js';
import { describeWhen, mistralDir, qwenDir, repoRoot } from '../helpers/index.js';

const llamaDir = join(repoRoot, 'node_modules', '@lenml', 'tokenizer-llama3_1', 'models');
const hasMistral = existsSync(join(mistralDir, 'tokenizer.json'));

const texts = [
  'We add 12 and 30.\n\nSo 12 + 30 = 42.\n\nThe answer is 42.',
  '  leading and trailing whitespace \n\n second step\t ',
  'Unicode: naïve café, 数学很有趣, emoji 🙂👍🏽 and ∑ₖ k² = n(n+1)(2n+1)/6.\n\nΔx → 0.',
  'mixed\r\nline endings\n\n\n\nand   many    spaces',
];

/** Deterministic P(step correct) in (0.05, 0.95) from the step text. */
function probOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return 0.05 + ((h >>> 0) % 9000) / 10000;
}

const fakePrm: StepScoringModel = {
  format: { separator: 'ки' },
  async score(items) {
    return items.map((it) => {
      const stepProbs = it.steps.map(probOf);
      return { stepProbs, score: stepProbs.reduce((a, b) => Math.min(a, b), 1), firstError: stepProbs.findIndex((p) => p < 0.5) };
    });
  },
};

function spansAgreeWithDecoder(name: string, dir: string, leadingSpaceStripped: boolean) {
  // loaded by the first test, not at collection: a skipped suite is still collected
  let tokenizers: { policy: PolicyTokenizer; plain: PrmTokenizer } | undefined;
  const load = () => (tokenizers ??= { policy: PolicyTokenizer.load(dir), plain: PrmTokenizer.load(dir) });
  for (const text of texts)
    it(`${name}: token spans tile the text and agree with the decoder (${JSON.stringify(text.slice(0, 20))}…)`, () => {
      const { policy, plain } = load();
      const { ids, starts, ends } = policy.spans(text);
      expect(Array.from(ids)).toEqual(plain.encode(text, false));
      expect(starts[0]).toBe(0);
      expect(ends[ids.length - 1]).toBe(text.length);
      for (let t = 0; t < ids.length; t++) {
        expect(ends[t]).toBeGreaterThan(starts[t]);
        if (t > 0) {
          // next token starts where this one ends, or inside the same (split) character
          expect(starts[t] === ends[t - 1] || starts[t] === starts[t - 1] || starts[t] < ends[t - 1]).toBe(true);
        }
        const decoded = plain.decode(Array.from(ids.subarray(0, t + 1)));
        if (decoded.endsWith('\uFFFD')) continue; // the token ends inside a character
        const prefix = text.slice(0, ends[t]);
        expect(decoded, `prefix through token ${t}`).toBe(leadingSpaceStripped ? prefix.replace(/^ /, '') : prefix);
      }
    });
}

describe('policy token spans: Qwen2.5', () => spansAgreeWithDecoder('qwen2.5', qwenDir, false));
describe('policy token spans: Llama 3.1', () => spansAgreeWithDecoder('llama3.1', llamaDir, false));
describeWhen(hasMistral, 'policy token spans: Mistral', `no Mistral tokenizer at ${mistralDir}`, () => spansAgreeWithDecoder('mistral', mistralDir, true));

function mappingSuite(name: string, dir: () => string) {
  let loaded: PolicyTokenizer | undefined;
  const load = () => (loaded ??= PolicyTokenizer.load(dir()));
  it(`${name}: a step that ends mid-token gives its reward to the token holding its last character`, async () => {
    const policy = load();
    const response = 'Therefore x equals twelve, because twelve is right.';
    const steps = ['Therefore x equ', 'als twelve, because twelve is right.'];
    const { starts, ends } = policy.spans(response);
    const cut = response.indexOf('equ') + 3; // one past the 'u'
    const holder = Array.from(starts).findIndex((s, t) => s <= cut - 1 && cut - 1 < ends[t]);
    expect(starts[holder] < cut - 1 || ends[holder] > cut, 'the cut falls inside a token').toBe(true);
    const [r] = await denseRewards(fakePrm, [{ problem: 'p', response, steps }], { policyTokenizer: policy });
    expect(r.stepEnds[0]).toBe(holder);
    expect(r.stepEnds[1]).toBe(starts.length - 1);
    expect(r.tokenRewards![holder]).toBeCloseTo(probOf(steps[0]), 6);
    expect(r.tokenRewards![starts.length - 1]).toBeCloseTo(probOf(steps[1].trim()), 6);
    expect(Array.from(r.tokenRewards!).filter((v) => v !== 0)).toHaveLength(2);
  });

  it(`${name}: a step ending in a character split over tokens credits the token that completes it`, async () => {
    const policy = load();
    const response = 'First we melt 🫠\n\nthen we write ∑ and stop';
    const { starts, ends } = policy.spans(response);
    const at = response.indexOf('🫠');
    const holders = Array.from(starts).map((s, t) => t).filter((t) => starts[t] <= at && at < ends[t]);
    expect(holders.length, 'the emoji is split over several policy tokens').toBeGreaterThan(1);
    const [r] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: policy });
    expect(r.steps.map((s) => s.text)).toEqual(['First we melt 🫠', 'then we write ∑ and stop']);
    expect(r.stepEnds[0]).toBe(holders[holders.length - 1]);
    expect(r.tokenRewards![holders[0]]).toBe(0);
  });

  it(`${name}: leading and trailing whitespace stays out of the steps and off the rewarded tokens`, async () => {
    const policy = load();
    const response = '\n\n   Step one.   \n\n\tStep two.\n\n   ';
    const [r] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: policy });
    expect(r.steps.map((s) => response.slice(s.start, s.end))).toEqual(['Step one.', 'Step two.']);
    const { starts, ends } = policy.spans(response);
    r.steps.forEach((s, k) => {
      const t = r.stepEnds[k];
      expect(starts[t] <= s.end - 1 && s.end - 1 < ends[t], `step ${k} ends in token ${t}`).toBe(true);
    });
    expect(r.tokens).toBe(starts.length);
    expect(r.tokenRewards!.length).toBe(starts.length);
  });
}

describe('step to token mapping: Qwen2.5', () => mappingSuite('qwen2.5', () => qwenDir));
describe('step to token mapping: Llama 3.1', () => mappingSuite('llama3.1', () => llamaDir));
describeWhen(hasMistral, 'step to token mapping: Mistral', `no Mistral tokenizer at ${mistralDir}`, () => mappingSuite('mistral', () => mistralDir));

describe('dense rewards', () => {
  const qwen = PolicyTokenizer.load(qwenDir);
  const llama = PolicyTokenizer.load(llamaDir);
  const response = texts[0];

  it('the same steps land on different token indices for different policies, each on its own step end', async () => {
    const [a] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: qwen });
    const [b] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: llama });
    expect(a.stepRewards).toEqual(b.stepRewards);
    expect(a.tokens).not.toBe(b.tokens);
    for (const [r, p] of [[a, qwen], [b, llama]] as const) {
      const { starts, ends } = p.spans(response);
      r.steps.forEach((s, k) => expect(starts[r.stepEnds[k]] <= s.end - 1 && s.end - 1 < ends[r.stepEnds[k]]).toBe(true));
    }
  });

  it('caller token offsets give the same rewards as the tokenizer they came from', async () => {
    const { starts, ends } = llama.spans(response);
    const tokenOffsets = Array.from(starts, (s, t) => [s, ends[t]] as [number, number]);
    const [a] = await denseRewards(fakePrm, [{ problem: 'p', response, tokenOffsets }]);
    const [b] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: llama });
    expect(a.stepEnds).toEqual(b.stepEnds);
    expect(Array.from(a.tokenRewards!)).toEqual(Array.from(b.tokenRewards!));
  });

  it('step reward kinds: prob, logprob, and deltas that add up to the last probability', async () => {
    const items = [{ problem: 'p', response }];
    const [p] = await denseRewards(fakePrm, items, { policyTokenizer: qwen });
    const [l] = await denseRewards(fakePrm, items, { policyTokenizer: qwen, stepReward: 'logprob' });
    const [d] = await denseRewards(fakePrm, items, { policyTokenizer: qwen, stepReward: 'delta' });
    expect(p.stepRewards).toEqual(p.stepProbs);
    l.stepRewards.forEach((v, k) => expect(v).toBeCloseTo(Math.log(p.stepProbs[k]), 12));
    expect(d.stepRewards.reduce((a, b) => a + b, 0)).toBeCloseTo(p.stepProbs[p.stepProbs.length - 1], 12);
    expect(Array.from(d.tokenRewards!).reduce((a, b) => a + b, 0)).toBeCloseTo(p.stepProbs[p.stepProbs.length - 1], 5);
  });

  it("'spread' shares each step's reward over its own tokens", async () => {
    const [r] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: qwen, placement: 'spread' });
    const { starts } = qwen.spans(response);
    let prev = -1;
    r.steps.forEach((s, k) => {
      const first = Math.max(Array.from(starts).findLastIndex((x) => x <= s.start), prev + 1);
      const share = r.stepRewards[k] / (r.stepEnds[k] - first + 1);
      for (let t = first; t <= r.stepEnds[k]; t++) expect(r.tokenRewards![t]).toBeCloseTo(share, 6);
      prev = r.stepEnds[k];
    });
    expect(Array.from(r.tokenRewards!).reduce((a, b) => a + b, 0)).toBeCloseTo(r.stepRewards.reduce((a, b) => a + b, 0), 5);
  });

  it('without policy tokens it still gives step rewards', async () => {
    const [r] = await denseRewards(fakePrm, [{ problem: 'p', steps: ['a = 1', 'b = 2'] }]);
    expect(r.steps.map((s) => s.text)).toEqual(['a = 1', 'b = 2']);
    expect(r.stepEnds).toEqual([]);
    expect(r.tokenRewards).toBeUndefined();
  });

  it('names what is wrong in the input', async () => {
    await expect(denseRewards(fakePrm, [{ problem: 'p', response: 'abc', steps: ['abd'] }])).rejects.toThrow(/items\[0\]\.steps\[0\] is not in items\[0\]\.response/);
    await expect(denseRewards(fakePrm, [{ problem: 'p' } as never])).rejects.toThrow(/items\[0\] needs a response/);
    await expect(denseRewards(fakePrm, [{ problem: 'p', response: 'abc', tokenOffsets: [[0, 2], [1, 9]] }])).rejects.toThrow(/items\[0\]\.tokenOffsets\[1\] = \[1, 9\]/);
    await expect(denseRewards(fakePrm, [{ problem: 'p', response: 'abc' }], { stepReward: 'log' as never })).rejects.toThrow(/options.stepReward must be one of/);
    await expect(denseRewards(fakePrm, [{ problem: 'p', response: 'abc' }], { policyTokeniser: qwenDir } as never)).rejects.toThrow(/did you mean 'policyTokenizer'/);
  });

  it('a text the policy normalizer would change is refused with a pointer to tokenOffsets', async () => {
    // Qwen2.5 normalizes to NFC: a decomposed é does not tokenize back to its own bytes
    const response = 'caf\u0065\u0301 au lait';
    await expect(denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: qwen })).rejects.toThrow(/items\[0\]\.response does not tokenize back to itself.*tokenOffsets/);
    const [ok] = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: llama });
    expect(ok.stepEnds).toEqual([ok.tokens - 1]);
  });

  it('a tokenizer path is loaded once and reused', async () => {
    const a = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: llamaDir });
    const b = await denseRewards(fakePrm, [{ problem: 'p', response }], { policyTokenizer: llamaDir });
    expect(a[0].stepEnds).toEqual(b[0].stepEnds);
    expect(a[0].tokens).toBe(llama.spans(response).ids.length);
  });

  it('stepEndTokens picks the last token starting at or before the character', () => {
    const spans = { starts: Int32Array.of(0, 3, 3, 5), ends: Int32Array.of(3, 5, 5, 9) };
    expect(Array.from(stepEndTokens([{ text: 'x', start: 0, end: 3 }, { text: 'y', start: 3, end: 4 }, { text: 'z', start: 5, end: 9 }], spans, 'r'))).toEqual([0, 2, 3]);
  });
});
