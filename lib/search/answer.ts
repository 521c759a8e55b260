// Final-answer extraction and equivalence: what majority and weighted voting group by, and
// how a task decides whether a chain reached the right result.
import { string } from '../is.js';

/** Turns a solution's text into its final answer, or undefined when it states none. */
export interface AnswerExtractor {
  readonly name: string;
  extract(text: string): string | undefined;
}

const BOX_COMMANDS = ['\\boxed', '\\fbox'];

/** The content of the last `\boxed{...}` (or `\fbox{...}`), braces balanced; undefined if none closes. */
export function extractBoxed(text: string): string | undefined {
  string(text, 'text');
  let found: string | undefined;
  let from = 0;
  for (;;) {
    let at = -1;
    let len = 0;
    for (const cmd of BOX_COMMANDS) {
      const i = text.indexOf(cmd, from);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        len = cmd.length;
      }
    }
    if (at < 0) return found;
    let i = at + len;
    while (text[i] === ' ') i++;
    if (text[i] !== '{') {
      from = at + len;
      continue;
    }
    let depth = 0;
    let end = -1;
    for (let j = i; j < text.length; j++) {
      const ch = text[j];
      if (ch === '\\') {
        j++; // an escaped brace (\{) does not open or close the box
        continue;
      }
      if (ch === '{') depth++;
      else if (ch === '}' && --depth === 0) {
        end = j;
        break;
      }
    }
    if (end < 0) return found;
    found = text.slice(i + 1, end).trim();
    from = end + 1;
  }
}

// A number as people write it in solutions: sign, thousands groups, decimals, a fraction.
const NUMBER = /(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?(?:\/\d+(?:\.\d+)?)?|(?<![\w.])-?\.\d+/g;

/** The last number in the text (`1,000`, `-2.5` and `3/4` count as one number each). */
export function extractLastNumber(text: string): string | undefined {
  string(text, 'text');
  const all = text.match(NUMBER);
  return all ? all[all.length - 1].replace(/\s+/g, '') : undefined;
}

/** `\boxed{}` first (the last box, nested braces allowed), else the last number. */
export function extractAnswer(text: string): string | undefined {
  const boxed = extractBoxed(text);
  if (boxed !== undefined && boxed !== '') return boxed;
  return extractLastNumber(text);
}

export const boxedAnswerExtractor: AnswerExtractor = { name: 'boxed', extract: extractBoxed };
export const lastNumberExtractor: AnswerExtractor = { name: 'last-number', extract: extractLastNumber };
export const defaultAnswerExtractor: AnswerExtractor = { name: 'boxed-or-last-number', extract: extractAnswer };

/** An exact rational n/d with d > 0 and gcd(n, d) = 1. */
interface Rational {
  n: bigint;
  d: bigint;
}

function gcd(a: bigint, b: bigint): bigint {
  if (a < 0n) a = -a;
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function reduce(n: bigint, d: bigint): Rational | undefined {
  if (d === 0n) return undefined;
  if (d < 0n) [n, d] = [-n, -d];
  const g = gcd(n, d) || 1n;
  return { n: n / g, d: d / g };
}

function decimal(s: string): Rational | undefined {
  const m = /^(-?)(\d*)(?:\.(\d+))?$/.exec(s);
  if (!m || (m[2] === '' && m[3] === undefined)) return undefined;
  const frac = m[3] ?? '';
  const n = BigInt((m[2] || '0') + frac) * (m[1] ? -1n : 1n);
  return reduce(n, 10n ** BigInt(frac.length));
}

// LaTeX and prose wrappers that do not change an answer's value.
function stripMarkup(s: string): string {
  let t = s.trim();
  t = t.replace(/^\$+|\$+$/g, '');
  t = t.replace(/\\(?:left|right|displaystyle|!|,|;|:)/g, '');
  t = t.replace(/\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}/g, '$1');
  t = t.replace(/\^\{?\\circ\}?|°/g, '');
  t = t.replace(/\\%|%/g, '');
  t = t.replace(/\\\$|\$/g, '');
  t = t.replace(/^[a-zA-Z]\s*=\s*/, ''); // "x = 5"
  t = t.replace(/\.$/, '');
  return t.trim();
}

/** The exact value of a numeric answer (`1/2`, `0.5`, `\frac{1}{2}`, `1,000`), or undefined. */
export function parseNumericAnswer(text: string): Rational | undefined {
  let t = stripMarkup(text).replace(/\s+/g, '');
  const frac = /^(-?)\\d?frac\{(-?[\d.]+)\}\{(-?[\d.]+)\}$/.exec(t) ?? /^(-?)\\d?frac(\d)(\d)$/.exec(t);
  if (frac) t = `${frac[1]}${frac[2]}/${frac[3]}`;
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(t)) t = t.replace(/,/g, '');
  const parts = t.split('/');
  if (parts.length > 2) return undefined;
  const num = decimal(parts[0]);
  if (!num) return undefined;
  if (parts.length === 1) return num;
  const den = decimal(parts[1]);
  if (!den || den.n === 0n) return undefined;
  return reduce(num.n * den.d, num.d * den.n);
}

/**
 * A key such that two answers share it exactly when `answersEqual` holds for exact values:
 * numbers become their reduced fraction, anything else its normalized text. Voting groups
 * by this key.
 */
export function canonicalAnswer(text: string): string {
  string(text, 'answer');
  const r = parseNumericAnswer(text);
  if (r) return r.d === 1n ? `${r.n}` : `${r.n}/${r.d}`;
  return stripMarkup(text).replace(/\s+/g, '').replace(/\\dfrac|\\tfrac/g, '\\frac').toLowerCase();
}

/** Numeric equivalence (1/2 = 0.5, 1,000 = 1000, \frac{1}{2} = 0.5), else normalized string equality. */
export function answersEqual(a: string, b: string): boolean {
  string(a, 'answersEqual: a');
  string(b, 'answersEqual: b');
  return canonicalAnswer(a) === canonicalAnswer(b);
}
