// What a caller of Orm sees when the input is wrong: the input errors of lib/errors.ts with a
// path into their own data (`items[1].steps[0]`, `candidates[2]`, `problem`), TypeError for a
// wrong kind of value and RangeError for a bad one, and PRM-only options named as such.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isInputError, PrmInputError, PrmInputTypeError } from '../../lib/errors.js';
import { Orm } from '../../lib/orm/index.js';
import { caught, cleanup, SOLUTIONS, tinyFolder } from './helpers.js';

let orm: Orm; // skywork-reward, maxContext 96, overflow 'error'
let folder = '';
const LONG = { problem: 'long', steps: Array.from({ length: 12 }, (_, j) => `step ${j} of a solution long enough to pass the context`) };

beforeAll(async () => {
  folder = (await tinyFolder('skywork-reward')).folder;
  orm = await Orm.load({ model: folder, maxContext: 96, workers: { threads: 1 } });
});

afterAll(async () => {
  await orm?.close();
  cleanup();
});

describe('bad items name the field', () => {
  it('a wrong kind of value is a PrmInputTypeError at its path', async () => {
    const cases: Array<[unknown, string]> = [
      [[SOLUTIONS[0], 'text'], 'items[1]'],
      [[SOLUTIONS[0], { problem: 3, steps: [] }], 'items[1].problem'],
      [[{ problem: 'p', steps: ['a', 7] }], 'items[0].steps[1]'],
      [[{ problem: 'p', steps: 'a' }], 'items[0].steps'],
      [[{ problem: 'p', solution: ['a'] }], 'items[0].solution'],
      [[{ problem: 'p', steps: ['a'], solution: 'a' }], 'items[0]'],
      [[{ problem: 'p', steps: ['a'], id: 3 }], 'items[0].id'],
    ];
    for (const [items, path] of cases) {
      const e = await caught(orm.score(items as never));
      expect(e).toBeInstanceOf(PrmInputTypeError);
      expect(e.path).toBe(path);
      expect(isInputError(e)).toBe(true);
    }
    expect((await caught(orm.score('x' as never))).message).toMatch(/^items must be an array/);
  });

  it('special-token text in the input is refused where it is, before any tokenizing of a later item', async () => {
    const e = await caught(orm.score([SOLUTIONS[0], { problem: 'p', steps: ['fine', 'then <|im_end|> here'] }]));
    expect(e).toBeInstanceOf(PrmInputError);
    expect(e.path).toBe('items[1].steps[1]');
    expect(e.message).toMatch(/contains "<\|im_end\|>", a special token of the skywork-reward tokenizer/);
    expect((await caught(orm.score([{ problem: '<|im_start|>', solution: 's' }]))).path).toBe('items[0].problem');
    expect((await caught(orm.score([{ problem: 'p', solution: 'a <|endoftext|>' }]))).path).toBe('items[0].solution');
  });

  it('an input over the context names the item and says how to read it anyway', async () => {
    const e = await caught(orm.score([SOLUTIONS[0], SOLUTIONS[1], LONG]));
    expect(e).toBeInstanceOf(PrmInputError);
    expect(e.path).toBe('items[2]');
    expect(e.message).toMatch(/over maxContext 96; pass overflow: 'truncate'/);
    // rows from encode({ deferContext }) meet the same policy when scored
    const enc = orm.encode([LONG], { deferContext: true });
    expect((await caught(orm.scoreEncoded(enc))).path).toBe('items[0]');
  });

  it('rerank re-roots paths to candidates and problem', async () => {
    const e = await caught(orm.rerank('p', [['ok'], 'fine', ['a', 'b <|im_start|>']]));
    expect(e.path).toBe('candidates[2][1]');
    expect((await caught(orm.rerank('p', ['ok', 'x <|im_end|>']))).path).toBe('candidates[1]');
    expect((await caught(orm.rerank('p <|im_end|>', ['ok']))).path).toBe('problem');
    expect((await caught(orm.rerank('p', ['ok', 3] as never))).path).toBe('candidates[1]');
    expect(await caught(orm.rerank(3 as never, ['ok']))).toBeInstanceOf(PrmInputTypeError);
  });
});

describe('bad options', () => {
  it('unknown keys name the nearest one; PRM-only options say why they do not apply', async () => {
    await expect(Orm.load({ model: folder, modle: 'x' } as never)).rejects.toThrow(/options\.modle is not an option; did you mean 'model'\?/);
    await expect(Orm.load({ model: folder, aggregate: 'min' } as never)).rejects.toThrow(/aggregate is not an option of Orm\.load: an outcome reward model gives one score per solution/);
    await expect(orm.score(SOLUTIONS, { aggregate: 'min' } as never)).rejects.toThrow(TypeError);
    await expect(orm.score(SOLUTIONS, { errorThreshold: 0.5 } as never)).rejects.toThrow(/errorThreshold is not an option of an outcome reward model/);
    await expect(orm.score(SOLUTIONS, { signl: undefined } as never)).rejects.toThrow(/did you mean 'signal'\?/);
    await expect(orm.rerank('p', ['a'], { topn: 1 } as never)).rejects.toThrow(/rerank options\.topn is not an option; did you mean 'topN'\?/);
  });

  it('a wrong kind is a TypeError, a bad value a RangeError', async () => {
    await expect(Orm.load({ model: folder, workers: '2' } as never)).rejects.toThrow(TypeError);
    await expect(Orm.load({ model: folder, overflow: 'cut' } as never)).rejects.toThrow(RangeError);
    await expect(Orm.load({ model: folder, snapshot: 'no' } as never)).rejects.toThrow(/options\.snapshot must be true or false, got "no" \(string\)/);
    await expect(Orm.load({ model: folder, format: 'skywork' } as never)).rejects.toThrow(/options\.format must be an ORM format, one of qwen2\.5-math-rm, skywork-reward, plain-orm/);
    await expect(Orm.load({ model: 3 } as never)).rejects.toThrow(TypeError);
    await expect(orm.rerank('p', ['a'], { topN: -1 })).rejects.toThrow(RangeError);
  });

  it('an .onnx model needs its tokenizer and format', async () => {
    await expect(Orm.load({ model: `${folder}/model.onnx` })).rejects.toThrow(/options\.tokenizer is required with an \.onnx model/);
    await expect(Orm.load({ model: `${folder}/model.onnx`, tokenizer: folder })).rejects.toThrow(/options\.format is required with an \.onnx model/);
  });

  it('an aborted signal rejects with its reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(orm.score(SOLUTIONS, { signal: ac.signal })).rejects.toThrow('stop now');
  });
});
