// The argument vocabulary and the input errors every layer uses: what each check accepts,
// which class it throws (TypeError: wrong kind of value; RangeError: bad value), and that
// every message names the argument and shows the value with its type.
import { describe, expect, it } from 'vitest';
import { connectionFailure, isInputError, PrmInputError, PrmInputTypeError, reroot } from '../lib/errors.js';
import * as is from '../lib/is.js';

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a throw');
}

describe('show', () => {
  it('gives the value and its type', () => {
    expect(is.show('2')).toBe('"2" (string)');
    expect(is.show(2)).toBe('2 (number)');
    expect(is.show(NaN)).toBe('NaN (number)');
    expect(is.show(true)).toBe('true (boolean)');
    expect(is.show(null)).toBe('null');
    expect(is.show(undefined)).toBe('undefined');
    expect(is.show([1, 2])).toBe('an array of length 2');
    expect(is.show(new Int32Array(3))).toBe('a Int32Array');
    expect(is.show(new Map())).toBe('an object (Map)');
    expect(is.show(Object.create(null))).toBe('an object (null prototype)');
    expect(is.show(() => 1)).toBe('a function');
    // long strings are cut, so a message stays one readable line
    expect(is.show('x'.repeat(100))).toBe(`"${'x'.repeat(57)}..." (string)`);
  });
});

describe('integer and number', () => {
  it('a wrong kind is a TypeError, a bad value a RangeError', () => {
    const t = thrown(() => is.positiveInt('2', 'options.workers'));
    expect(t).toBeInstanceOf(TypeError);
    expect(t).not.toBeInstanceOf(RangeError);
    expect(t.message).toBe('options.workers must be a positive integer, got "2" (string)');
    const r = thrown(() => is.positiveInt(1.5, 'n'));
    expect(r).toBeInstanceOf(RangeError);
    expect(r.message).toBe('n must be a positive integer, got 1.5 (number)');
  });

  it('says the range it wants', () => {
    expect(() => is.nonNegativeInt(-1, 'topN')).toThrow('topN must be a non-negative integer, got -1 (number)');
    expect(() => is.integer(0, 'k', 2)).toThrow('k must be an integer >= 2, got 0 (number)');
    expect(() => is.integer(65, 'workers', 1, 64)).toThrow('workers must be an integer in [1, 64], got 65 (number)');
    expect(is.integer(64, 'workers', 1, 64)).toBe(64);
    expect(() => is.number(Infinity, 'x')).toThrow('x must be a finite number, got Infinity (number)');
    expect(() => is.number(-1, 'temperature', 0)).toThrow('temperature must be a number >= 0, got -1 (number)');
    expect(() => is.number(0, 'tau', 0, Infinity, { openMin: true })).toThrow('tau must be a number > 0, got 0 (number)');
    expect(() => is.number(2, 'p', -Infinity, 1)).toThrow('p must be a number <= 1, got 2 (number)');
    expect(() => is.number(0, 'ratio', 0, 1, { openMin: true })).toThrow('ratio must be a number in (0, 1], got 0 (number)');
    expect(() => is.number(NaN, 'ratio', 0, 1)).toThrow(RangeError);
    expect(is.number(1, 'ratio', 0, 1, { openMin: true })).toBe(1);
  });

  it('threshold is open at both ends', () => {
    for (const bad of [0, 1, -0.1, 1.5, NaN]) expect(() => is.threshold(bad)).toThrow(RangeError);
    expect(() => is.threshold('0.5')).toThrow(TypeError);
    expect(is.threshold(0.25)).toBe(0.25);
  });
});

describe('oneOf, knownKeys and nearest', () => {
  it('suggests the nearest allowed value', () => {
    expect(() => is.oneOf('trunc', 'overflow', ['error', 'truncate'])).toThrow(
      `overflow must be one of 'error', 'truncate' (did you mean 'truncate'?), got "trunc" (string)`,
    );
    expect(() => is.oneOf('zzzzzz', 'overflow', ['error', 'truncate'])).toThrow(`overflow must be one of 'error', 'truncate', got "zzzzzz" (string)`);
    expect(() => is.aggregation('max')).toThrow(/aggregate must be one of 'prod', 'min', 'last', 'mean', 'geomean'/);
    expect(() => is.oneOf(3, 'padding', ['left', 'right'])).toThrow(TypeError);
  });

  it('refuses unknown keys, with the nearest known one when it is close', () => {
    const e = thrown(() => is.knownKeys({ model: 'm', agregate: 'min' }, ['model', 'aggregate', 'format']));
    expect(e).toBeInstanceOf(TypeError);
    expect(e.message).toBe("options.agregate is not an option; did you mean 'aggregate'? (known: model, aggregate, format)");
    expect(() => is.knownKeys({ colour: 1 }, ['model'], 'score options')).toThrow('score options.colour is not an option (known: model)');
    expect(() => is.knownKeys({ model: 1 }, ['model'])).not.toThrow();
  });

  it('keysOf lists the keys of an options type', () => {
    interface O {
      a?: number;
      b: string;
    }
    expect(is.keysOf<O>()({ a: true, b: true })).toEqual(['a', 'b']);
  });

  it('nearest ignores case, takes abbreviations, and refuses far-off keys', () => {
    expect(is.nearest('TOPN', ['topN', 'aggregate'])).toBe('topN');
    expect(is.nearest('maxsteps', ['maxSteps', 'maxStepTokens'])).toBe('maxSteps');
    expect(is.nearest('trunc', ['error', 'truncate'])).toBe('truncate');
    expect(is.nearest('q', ['aggregate'])).toBeUndefined();
  });
});

describe('object, string, boolean, signal, optionalFunction', () => {
  it('check kind and say what they got', () => {
    expect(() => is.object([], 'options')).toThrow('options must be an object, got an array of length 0');
    expect(() => is.object(null, 'options', 'an object { model }')).toThrow('options must be an object { model }, got null');
    expect(() => is.string('', 'name', { nonEmpty: true })).toThrow(RangeError);
    expect(() => is.string(1, 'name')).toThrow('name must be a string, got 1 (number)');
    expect(() => is.boolean('yes', 'keep')).toThrow('keep must be true or false, got "yes" (string)');
    expect(() => is.signal({}, 'options.signal')).toThrow('options.signal must be an AbortSignal, got an object (Object)');
    expect(is.signal(undefined)).toBeUndefined();
    expect(() => is.optionalFunction(1, 'onProgress')).toThrow('onProgress must be a function, got 1 (number)');
  });
});

describe('input errors', () => {
  it('carry their path, and isInputError knows both classes and nothing else', () => {
    const r = new PrmInputError('items[3].steps[1]', 'contains "ки"');
    const t = new PrmInputTypeError('items[0].problem', 'must be a string, got 1 (number)');
    expect(r).toBeInstanceOf(RangeError);
    expect(t).toBeInstanceOf(TypeError);
    expect(r.message).toBe('items[3].steps[1] contains "ки"');
    expect([r.itemIndex, t.itemIndex, new PrmInputError('problem', 'x').itemIndex]).toEqual([3, 0, undefined]);
    expect(isInputError(r) && isInputError(t)).toBe(true);
    expect(isInputError(new RangeError('items[3] x'))).toBe(false);
    expect(isInputError(null)).toBe(false);
  });

  it('reroot renames the start of the path and keeps the error itself', () => {
    const e = new PrmInputError('items[1].steps[0]', 'is bad');
    const stack = e.stack;
    const same = reroot(e, 'items[1].steps', 'candidates[1]');
    expect(same).toBe(e);
    expect(same.path).toBe('candidates[1][0]');
    expect(same.message).toBe('candidates[1][0] is bad');
    expect(same.stack).toBe(stack);
    expect(reroot(new PrmInputError('items[2]', 'x'), 'items[1]', 'y').path).toBe('items[2]');
  });

  it('connectionFailure keeps the cause a fetch error hides', () => {
    const cause = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(connectionFailure(new TypeError('fetch failed', { cause }))).toBe('fetch failed: connect ECONNREFUSED 127.0.0.1:9');
    expect(connectionFailure(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }))).toBe('socket hang up (ECONNRESET)');
  });
});
