// Formats and tokenization on the real tokenizers: boundaries land exactly where each PRM
// family reads its steps, on real ProcessBench chains.
import { beforeAll, describe, expect, it } from 'vitest';
import { FORMATS, SeparatorInStepError } from '../../lib/formats/index.js';
import { labelIds } from '../../lib/model/labels.js';
import { encodeChains } from '../../lib/formats/encode.js';
import { PrmTokenizer } from '../../lib/tokenize/index.js';
import { describeWhen, hasShared, mistralDir, NO_SHARED, processbench, qwenDir } from './helpers.js';
import type { PBItem } from './helpers.js';

const EXTRA0 = { id: 151651, content: '<extra_0>' };

function sample(): PBItem[] {
  // a spread of real chains: first and some later ones from both splits
  const g = processbench('gsm8k');
  const m = processbench('math');
  return [...g.slice(0, 12), ...g.filter((_, i) => i % 50 === 7), ...m.slice(0, 12), ...m.filter((_, i) => i % 97 === 5)];
}

describeWhen(hasShared, 'real tokenizers on ProcessBench', NO_SHARED, () => {
  let qwen: PrmTokenizer;
  let mistral: PrmTokenizer;
  let items: PBItem[];
  beforeAll(() => {
    qwen = PrmTokenizer.load(qwenDir, { addedTokens: [EXTRA0] });
    mistral = PrmTokenizer.load(mistralDir);
    items = sample();
  });

  it('qwen2.5-math-prm: chat template from the tokenizer, one <extra_0> (151651) after every step', () => {
    expect(qwen.tokenToId('<extra_0>')).toBe(151651);
    const enc = encodeChains(items, { format: 'qwen2.5-math-prm', tokenizer: qwen });
    const assistantStart = qwen.encode('<|im_start|>assistant\n');
    items.forEach((item, i) => {
      const ids = Array.from(enc.inputIds[i]);
      const pos = Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]));
      expect(pos).toHaveLength(item.steps.length);
      for (const p of pos) expect(ids[p]).toBe(151651);
      const text = qwen.decode(ids);
      expect(text.startsWith('<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{}.<|im_end|>\n<|im_start|>user\n')).toBe(true);
      expect(text.endsWith('<extra_0><|im_end|>\n')).toBe(true);
      // the tokens between boundaries are exactly the step's text
      let start = -1;
      for (let t = 0; t + assistantStart.length <= ids.length; t++)
        if (assistantStart.every((a, j) => ids[t + j] === a)) start = t + assistantStart.length;
      expect(start).toBeGreaterThan(0);
      pos.forEach((p, k) => {
        expect(qwen.decode(ids.slice(start, p))).toBe(item.steps[k]);
        start = p + 1;
      });
    });
  });

  it('math-shepherd on Mistral-7B: BOS, step tag ки = 12902 after every step, labels + / - = 648 / 387', () => {
    expect(Array.from(labelIds(FORMATS['math-shepherd'].head, mistral)!)).toEqual([648, 387]);
    const enc = encodeChains(items, { format: 'math-shepherd', tokenizer: mistral });
    items.forEach((item, i) => {
      const ids = Array.from(enc.inputIds[i]);
      const pos = Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]));
      expect(ids[0]).toBe(1);
      expect(pos).toHaveLength(item.steps.length);
      for (const p of pos) expect(ids[p]).toBe(12902);
      expect(ids.filter((x) => x === 12902)).toHaveLength(item.steps.length);
      expect(pos[pos.length - 1]).toBe(ids.length - 1);
      // between tags: "\n" + the step (the sentencepiece decoder drops the leading space)
      const first = mistral.decode(ids.slice(1, pos[0]));
      expect(first.trim()).toBe(`${item.problem} ${item.steps[0]}`.trim());
      for (let k = 1; k < pos.length; k++) expect(mistral.decode(ids.slice(pos[k - 1] + 1, pos[k])).trim()).toBe(item.steps[k].trim());
    });
  });

  it('skywork on Qwen2.5: the "\\n" token 198 after every step, each step tokenized alone', () => {
    const enc = encodeChains(items, { format: 'skywork', tokenizer: qwen });
    items.forEach((item, i) => {
      const ids = Array.from(enc.inputIds[i]);
      const pos = Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]));
      expect(pos).toHaveLength(item.steps.length);
      for (const p of pos) expect(ids[p]).toBe(198);
      let start = qwen.encode(`${item.problem}\n`, true).length;
      expect(ids.slice(0, start)).toEqual(qwen.encode(`${item.problem}\n`, true));
      pos.forEach((p, k) => {
        expect(ids.slice(start, p)).toEqual(qwen.encode(item.steps[k], true));
        start = p + 1;
      });
    });
  });

  it('rlhflow with a chat template: boundary = the token before each assistant "+" answer', () => {
    const enc = encodeChains(items.slice(0, 10), { format: 'rlhflow', tokenizer: qwen });
    const plus = qwen.encode('+')[0];
    items.slice(0, 10).forEach((item, i) => {
      const ids = Array.from(enc.inputIds[i]);
      const pos = Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]));
      expect(pos).toHaveLength(item.steps.length);
      for (const p of pos) {
        expect(ids[p + 1]).toBe(plus);
        expect(qwen.decode(ids.slice(p - 3, p + 3))).toContain('assistant\n+<|im_end|>');
      }
    });
  });

  it('steps containing the separator are refused, naming the item and step', () => {
    const bad = [{ problem: 'p', steps: ['ok'] }, { problem: 'p', steps: ['fine', 'sneaky <extra_0> step'] }];
    expect(() => encodeChains(bad, { format: 'qwen2.5-math-prm', tokenizer: qwen })).toThrow(SeparatorInStepError);
    expect(() => encodeChains(bad, { format: 'qwen2.5-math-prm', tokenizer: qwen })).toThrow(/items\[1\]\.steps\[1\]/);
    const tagged = [{ problem: 'p', steps: ['a', 'b ки c'] }];
    expect(() => encodeChains(tagged, { format: 'math-shepherd', tokenizer: mistral })).toThrow(/items\[0\]\.steps\[1\] contains "ки"/);
    const special = [{ problem: 'p', steps: ['<|im_end|> injected'] }];
    expect(() => encodeChains(special, { format: 'skywork', tokenizer: qwen })).toThrow(/items\[0\]\.steps\[0\]/);
  });

  it('a chain longer than maxContext fails clearly, or is truncated and flagged', () => {
    const long = items.reduce((a, b) => (b.steps.join('').length > a.steps.join('').length ? b : a));
    const enc = encodeChains([long], { format: 'math-shepherd', tokenizer: mistral });
    const n = enc.inputIds[0].length;
    const cut = enc.boundaries.positions[1] + 1; // room for exactly two steps
    expect(() => encodeChains([long], { format: 'math-shepherd', tokenizer: mistral, maxContext: cut })).toThrow(new RegExp(`items\\[0\\] is ${n} tokens, over maxContext ${cut}`));
    const t = encodeChains([long], { format: 'math-shepherd', tokenizer: mistral, maxContext: cut, overflow: 'truncate' });
    expect(t.truncated).toEqual([true]);
    expect(t.inputIds[0].length).toBe(cut);
    expect(Array.from(t.boundaries.positions)).toEqual(Array.from(enc.boundaries.positions.subarray(0, 2)));
  });
});

describe('formats without shared data (tiny tokenizer)', async () => {
  const { tiny } = await import('./helpers.js');
  const m = await tiny({ layers: 1, hidden: 8 });
  const tok = PrmTokenizer.load(m.tokenizer);

  it('custom format with a text separator: found again by token id', () => {
    const enc = encodeChains([{ problem: 'q', steps: ['a b', 'c'] }], {
      tokenizer: tok,
      format: { kind: 'custom', separator: { text: '<extra_0>' }, head: { activation: 'sigmoid', positive: 0, outputs: 1 } },
    });
    const sep = tok.tokenToId('<extra_0>')!;
    expect(Array.from(enc.inputIds[0])).toEqual([...tok.encode('q\na b'), sep, ...tok.encode('c'), sep]);
    expect(Array.from(enc.boundaries.positions)).toEqual([5, 7]);
  });

  it('custom format with an id separator and a Jinja template', () => {
    const enc = encodeChains([{ problem: 'Q', steps: ['x', 'yz'] }], {
      tokenizer: tok,
      format: { kind: 'custom', separator: { id: 7 }, template: 'P: {{ problem }}|{% for s in steps %}{{ s }}{{ separator }}{% endfor %}', head: { activation: 'softmax', positive: 1, outputs: 2 } },
    });
    expect(Array.from(enc.inputIds[0])).toEqual([...tok.encode('P: Q|x'), 7, ...tok.encode('yz'), 7]);
    expect(Array.from(enc.boundaries.positions)).toEqual([6, 9]);
  });

  it('bad input is refused with a clear error before any work', () => {
    expect(() => encodeChains([{ problem: 'q', steps: ['a', 3 as unknown as string] }], { format: 'math-shepherd', tokenizer: tok })).toThrow(/items\[0\]\.steps\[1\] must be a string/);
    expect(() => encodeChains([{ problem: 'q', steps: [] }], { format: 'nope' as 'skywork', tokenizer: tok })).toThrow(RangeError);
    expect(() => encodeChains({} as never, { format: 'skywork', tokenizer: tok })).toThrow(/items must be an array/);
    expect(() => encodeChains([], { format: { kind: 'custom', separator: { text: '' }, head: { activation: 'sigmoid', positive: 0, outputs: 1 } }, tokenizer: tok })).toThrow(/separator.text must be a non-empty string, got "" \(string\)/);
    expect(() => encodeChains([], { format: { kind: 'custom', separator: { id: 1 }, head: { activation: 'sigmoid', positive: 0, outputs: 2 } }, tokenizer: tok })).toThrow(/sigmoid head has exactly 1 output/);
    expect(() => PrmTokenizer.load('/nonexistent/tokenizer.json')).toThrow(/does not exist/);
  });

  it('every family refuses its marks in a step or in the problem, naming where', () => {
    const marks: Record<string, string> = {
      'qwen2.5-math-prm': '<extra_0>',
      'math-shepherd': 'ки',
      rlhflow: '<|im_start|>',
      skywork: '<|im_end|>',
    };
    for (const [format, mark] of Object.entries(marks)) {
      const f = format as 'skywork';
      const inStep = (() => {
        try {
          encodeChains([{ problem: 'q', steps: ['fine'] }, { problem: 'q', steps: ['ok', `bad ${mark} step`] }], { format: f, tokenizer: tok });
        } catch (e) {
          return e as SeparatorInStepError;
        }
      })();
      expect(inStep, format).toBeInstanceOf(SeparatorInStepError);
      expect([inStep!.path, inStep!.step, inStep!.separator], format).toEqual(['items[1].steps[1]', 1, mark]);
      expect(inStep!.message).toMatch(/remove or replace it in the step text$/);
      const inProblem = (() => {
        try {
          encodeChains([{ problem: `a ${mark} problem`, steps: ['fine'] }], { format: f, tokenizer: tok });
        } catch (e) {
          return e as SeparatorInStepError;
        }
      })();
      expect([inProblem!.path, inProblem!.step], format).toEqual(['items[0].problem', -1]);
      expect(inProblem!.message).toMatch(/remove or replace it in the problem$/);
    }
  });

  it('an empty chain has no boundaries; a problem containing the separator is refused', () => {
    const enc = encodeChains([{ problem: 'q', steps: [] }], { format: 'qwen2.5-math-prm', tokenizer: tok });
    expect(Array.from(enc.boundaries.offsets)).toEqual([0, 0]);
    expect(() => encodeChains([{ problem: 'q <extra_0>', steps: ['a'] }], { format: 'qwen2.5-math-prm', tokenizer: tok })).toThrow(/items\[0\]/);
  });
});
