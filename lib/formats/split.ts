// How a whole solution text becomes steps, for the callers that send text rather than steps
// (rerank documents, RL responses). One rule everywhere, so a response rewarded by
// /v1/rewards is split exactly as the same text reranked by /rerank.
import { invalidType } from '../is.js';

/**
 * - `'auto'` (default): the format's separator text if the text contains it, else blank lines.
 * - `'blank-lines'`: one step per paragraph (runs of lines separated by an empty line).
 * - `'lines'`: one step per non-empty line.
 * - a string: split on that literal text; a RegExp: split on its matches.
 */
export type StepSplitter = 'auto' | 'blank-lines' | 'lines' | string | RegExp;

/** A step of a split text and where it lies in that text (UTF-16 offsets, end exclusive). */
export interface SplitStep {
  text: string;
  start: number;
  end: number;
}

const BLANK = /\n[ \t]*\n+/g;
const LINE = /\n+/g;

function pieces(text: string, re: RegExp): SplitStep[] {
  const out: SplitStep[] = [];
  let from = 0;
  const push = (a: number, b: number) => {
    // each step is trimmed, and its offsets follow the trimmed text
    while (a < b && /\s/.test(text[a])) a++;
    while (b > a && /\s/.test(text[b - 1])) b--;
    if (b > a) out.push({ text: text.slice(a, b), start: a, end: b });
  };
  const g = new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
  for (let m = g.exec(text); m; m = g.exec(text)) {
    if (m[0].length === 0) {
      g.lastIndex++;
      continue;
    }
    push(from, m.index);
    from = m.index + m[0].length;
  }
  push(from, text.length);
  return out;
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Steps of `text` with their character spans. Empty pieces are dropped and each step is
 * trimmed of surrounding whitespace; `separator` is the format's step mark for `'auto'`.
 */
export function splitSteps(text: string, splitter: StepSplitter = 'auto', separator?: string): SplitStep[] {
  if (typeof text !== 'string') throw invalidType('text', 'a string', text);
  if (splitter === 'auto')
    // a whitespace mark counts too: TRL's default separator is "\n", one step per line
    return separator && text.includes(separator) ? pieces(text, new RegExp(escape(separator))) : pieces(text, BLANK);
  if (splitter === 'blank-lines') return pieces(text, BLANK);
  if (splitter === 'lines') return pieces(text, LINE);
  if (splitter instanceof RegExp) return pieces(text, splitter);
  if (typeof splitter === 'string' && splitter.length > 0) return pieces(text, new RegExp(escape(splitter)));
  throw invalidType('splitter', "'auto', 'blank-lines', 'lines', a non-empty string or a RegExp", splitter);
}
