// What a caller sees when their input is wrong: the error class that blames the input, a
// path into it (`items[40]`, `candidates[1][0]`, `entries[0].continuations[1]`) that is the
// caller's own (not the slice or the per-candidate item prmkit built), value + type in
// option messages, and unknown option keys refused with the nearest known key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInputError, PrmInputError, PrmInputTypeError } from '../../lib/errors.js';
import { customFormat, SeparatorInStepError } from '../../lib/formats/index.js';
import { Prm, PrmSession } from '../../lib/prm/index.js';
import { encodeChains } from '../../lib/formats/encode.js';
import { chains, cleanup, tiny } from './helpers.js';

let model: Awaited<ReturnType<typeof tiny>>;
let prm: Prm; // math-shepherd, maxContext 256, overflow 'error'
let kv: Prm; // with a KV cache, for sessions
let base: { model: string; tokenizer: string; head?: string; format: 'math-shepherd'; workers: { threads: number } };

const TAG = 'ки';
const long = (k: number) => ({ problem: `long ${k}`, steps: Array.from({ length: 12 }, (_, j) => `step ${j} of a chain long enough to pass the context`) });

/** The error `p` rejects with (or `f` throws), for inspection. */
async function caught(p: Promise<unknown> | (() => unknown)): Promise<Error & { path?: string }> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return e as Error & { path?: string };
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  model = await tiny({ layers: 1, hidden: 16, seed: 5, output: 'hidden', maxPositions: 256 });
  base = { model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { threads: 1 } };
  const kvModel = await tiny({ layers: 1, hidden: 16, seed: 6, kvCache: true, maxPositions: 256 });
  [prm, kv] = await Promise.all([
    Prm.load(base),
    Prm.load({ model: kvModel.model, tokenizer: kvModel.tokenizer, head: kvModel.head, format: 'math-shepherd', workers: { threads: 1 } }),
  ]);
});

afterAll(async () => {
  await prm?.close();
  await kv?.close();
  cleanup();
});

describe('unknown option keys name the nearest known one', () => {
  it('Prm.load and Prm.connect, before any file is opened', async () => {
    const e = await caught(Prm.load({ ...base, model: '/nowhere/model.onnx', modle: 'x' } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toMatch(/^options\.modle is not an option; did you mean 'model'\?/);
    await expect(Prm.load({ ...base, agregate: 'min' } as never)).rejects.toThrow(/options\.agregate is not an option; did you mean 'aggregate'\?/);
    await expect(Prm.connect({ tokenizer: model.tokenizer, format: 'math-shepherd', vllm: { url: 'http://127.0.0.1:9' }, workers: 2 } as never)).rejects.toThrow(
      /options\.workers is not an option/,
    );
  });

  it('score, scoreEncoded, rerank, encode and session calls', async () => {
    const xs = chains(2, 1);
    await expect(prm.score(xs, { agregate: 'min' } as never)).rejects.toThrow(/score options\.agregate is not an option; did you mean 'aggregate'\?/);
    await expect(prm.scoreEncoded(prm.encode(xs), { errorTreshold: 0.4 } as never)).rejects.toThrow(/did you mean 'errorThreshold'\?/);
    await expect(prm.rerank('q', [['a']], { topn: 1 } as never)).rejects.toThrow(/rerank options\.topn is not an option; did you mean 'topN'\?/);
    expect(() => prm.encode(xs, { deferContex: true } as never)).toThrow(/encode options\.deferContex is not an option; did you mean 'deferContext'\?/);
    await expect(kv.session({ problem: 'q', steps: [] }, { signl: undefined } as never)).rejects.toThrow(/did you mean 'signal'\?/);
    const s = await kv.session({ problem: 'q', steps: ['a'] });
    await expect(s.score([['b']], { kep: true } as never)).rejects.toThrow(/session score options\.kep is not an option; did you mean 'keep'\?/);
  });

  it('encodeChains and custom formats', () => {
    expect(() => encodeChains([], { format: 'skywork', tokenizer: prm.tokenizer, overflw: 'truncate' } as never)).toThrow(/did you mean 'overflow'\?/);
    const head = { activation: 'sigmoid', positive: 0, outputs: 1 } as const;
    expect(() => customFormat({ kind: 'custom', separator: { text: '\n' }, head, templte: '' } as never)).toThrow(/format\.templte is not an option; did you mean 'template'\?/);
    expect(() => customFormat({ kind: 'custom', separator: { text: '\n' }, head: { ...head, positve: 0 } } as never)).toThrow(/did you mean 'positive'\?/);
  });
});

describe('option messages show the value and its type', () => {
  it('a string where a number belongs is a TypeError that says so', async () => {
    const e = await caught(Prm.load({ ...base, workers: '2' } as never));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe('options.workers must be an integer in [1, 64], got "2" (string)');
    await expect(Prm.load({ ...base, maxContext: 0 })).rejects.toThrow('options.maxContext must be a positive integer, got 0 (number)');
    await expect(Prm.load({ ...base, overflow: 'cut' as 'error' })).rejects.toThrow(/options\.overflow must be one of 'error', 'truncate', got "cut" \(string\)/);
    await expect(prm.score([], { errorThreshold: '0.5' } as never)).rejects.toThrow('errorThreshold must be a number in (0, 1), got "0.5" (string)');
    await expect(prm.rerank('q', [], { topN: -1 })).rejects.toThrow('topN must be a non-negative integer, got -1 (number)');
  });
});

describe('input errors carry the path in the caller input', () => {
  it('a chain over maxContext is items[i] of the whole batch, also past the first encoding slice', async () => {
    const xs = [...chains(40, 2), long(0)];
    const e = await caught(prm.score(xs));
    expect(isInputError(e)).toBe(true);
    expect(e).toBeInstanceOf(PrmInputError);
    expect(e.path).toBe('items[40]');
    expect(e.message).toMatch(/^items\[40\] is \d+ tokens, over maxContext 256; pass overflow: 'truncate'/);
    // the same refusal from an encoding scored later, and from encodeChains itself
    const deferred = await caught(prm.scoreEncoded(prm.encode([chains(1, 3)[0], long(1)], { deferContext: true })));
    expect(deferred.path).toBe('items[1]');
    const direct = await caught(() => encodeChains([long(2)], { format: 'math-shepherd', tokenizer: prm.tokenizer, maxContext: 64 }));
    expect(direct.path).toBe('items[0]');
    expect(direct.message).toBe(deferred.message.replace('items[1]', 'items[0]').replace('256', '64').replace(/is \d+/, direct.message.match(/is \d+/)![0]));
  });

  it('rerank names the candidate or the problem, not a built item', async () => {
    const c = await caught(prm.rerank('what is 2 + 2?', [['fine'], [`bad ${TAG} step`, 'x']]));
    expect(c).toBeInstanceOf(SeparatorInStepError);
    expect(c.path).toBe('candidates[1][0]');
    expect(c.message).toMatch(/^candidates\[1\]\[0\] contains "ки"/);
    const p = await caught(prm.rerank(`a ${TAG} problem`, [['fine']]));
    expect(p.path).toBe('problem');
    expect(p.message).toMatch(/^problem contains "ки".*remove or replace it in the problem/);
    const t = await caught(prm.rerank(3 as never, []));
    expect(t).toBeInstanceOf(PrmInputTypeError);
    expect(t.message).toBe('problem must be a string, got 3 (number)');
  });

  it('sessions name the entry and continuation', async () => {
    const s = await kv.session({ problem: 'q', steps: ['a'] });
    const e = await caught(PrmSession.scoreMany([{ session: s, continuations: [['ok'], [`not ${TAG} ok`]] }]));
    expect(e).toBeInstanceOf(SeparatorInStepError);
    // the step of the continuation, not of the whole chain the session built
    expect(e.path).toBe('entries[0].continuations[1][0]');
    const o = await caught(kv.session({ problem: `x ${TAG}`, steps: [] }));
    expect(o.path).toBe('item.problem');
  });

  it('classifyTokens and malformed encodings name the input', async () => {
    const ids = await caught(prm.classifyTokens([[1, 2], [3, -1]]));
    expect(ids).toBeInstanceOf(PrmInputError);
    expect(ids.path).toBe('inputs[1]');
    expect(ids.message).toBe('inputs[1] must hold non-negative integer token ids; [1] is -1 (number)');
    const over = await caught(prm.classifyTokens([Array.from({ length: 300 }, () => 5)]));
    expect(over.path).toBe('inputs[0]');
    const good = prm.encode(chains(2, 4));
    const enc = await caught(prm.scoreEncoded({ ...good, inputIds: [good.inputIds[0], Array.from(good.inputIds[1]) as never] }));
    expect(enc).toBeInstanceOf(PrmInputTypeError);
    expect(enc.path).toBe('encoded.inputIds[1]');
  });

  it('a custom template that loses a separator blames the item', async () => {
    const head = { activation: 'sigmoid', positive: 0, outputs: 1 } as const;
    // the template drops the last step, so one id separator is missing
    const format = customFormat({ kind: 'custom', separator: { id: 3 }, head, template: '{{ problem }}{% for s in steps[:-1] %}{{ s }}{{ separator }}{% endfor %}' });
    const err = await caught(() => encodeChains([{ problem: 'p', steps: ['a'] }, { problem: 'p', steps: ['a', 'b'] }], { format, tokenizer: prm.tokenizer }));
    expect(err).toBeInstanceOf(PrmInputError);
    expect(err.path).toBe('items[0]');
    expect(err.message).toBe('items[0] gets 0 separators from the custom template for 1 steps');
  });
});
