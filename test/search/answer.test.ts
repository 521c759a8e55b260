import { describe, expect, it } from 'vitest';
import {
  answersEqual,
  canonicalAnswer,
  extractAnswer,
  extractBoxed,
  extractLastNumber,
  parseNumericAnswer,
} from '../../lib/search/answer.js';

describe('extractAnswer', () => {
  it('prefers the last \\boxed{} and keeps nested braces', () => {
    expect(extractAnswer('so 3 + 4 = 7, answer \\boxed{7}. Check: 12')).toBe('7');
    expect(extractAnswer('first \\boxed{1} then \\boxed{\\frac{1}{2}} and 9')).toBe('\\frac{1}{2}');
    expect(extractBoxed('\\boxed{ {a}{b} }')).toBe('{a}{b}');
    expect(extractBoxed('\\fbox{42}')).toBe('42');
  });

  it('falls back to the last number when nothing is boxed or the box is broken', () => {
    expect(extractAnswer('We get 12, then 1,000 apples')).toBe('1,000');
    expect(extractAnswer('half is 3/4 of -2.5')).toBe('-2.5');
    expect(extractAnswer('ratio 3/4')).toBe('3/4');
    expect(extractAnswer('unclosed \\boxed{12 and 5')).toBe('5');
    expect(extractAnswer('no numbers here')).toBeUndefined();
    expect(extractLastNumber('12-5')).toBe('5');
  });

  it('rejects non-strings', () => {
    expect(() => extractAnswer(3 as unknown as string)).toThrow(TypeError);
  });
});

describe('answersEqual', () => {
  it('compares numbers exactly across notations', () => {
    expect(answersEqual('1/2', '0.5')).toBe(true);
    expect(answersEqual('\\frac{1}{2}', '0.50')).toBe(true);
    expect(answersEqual('\\dfrac{3}{6}', '1/2')).toBe(true);
    expect(answersEqual('1,000', '1000')).toBe(true);
    expect(answersEqual('$1000', '1000.0')).toBe(true);
    expect(answersEqual('x = 5', '5')).toBe(true);
    expect(answersEqual('50\\%', '50')).toBe(true);
    expect(answersEqual('-3', '3')).toBe(false);
    expect(answersEqual('0.333', '1/3')).toBe(false);
  });

  it('normalizes non-numeric answers as strings', () => {
    expect(answersEqual('\\text{East}', 'east')).toBe(true);
    expect(answersEqual('(1, 2)', '(1,2)')).toBe(true);
    expect(answersEqual('A', 'B')).toBe(false);
  });

  it('gives voting keys that group equal answers', () => {
    expect(canonicalAnswer('2/4')).toBe('1/2');
    expect(canonicalAnswer('12.0')).toBe('12');
    expect(parseNumericAnswer('1/0')).toBeUndefined();
    expect(() => answersEqual('1', null as unknown as string)).toThrow(/b must be a string/);
  });
});
