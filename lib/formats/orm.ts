// Outcome reward models (ORMs): one score per (problem, solution), read at the last token of
// the family's text. A family fixes three things: how the steps join into one solution text,
// the text around it (each model card's recipe: a chat template, no generation prompt), and
// what the head's value means: a raw reward (models trained on preference pairs, where only
// differences between solutions mean anything) or the logit of P(solution correct) (a
// sigmoid head trained with binary cross-entropy on outcomes).
import { invalidRange, invalidType } from '../is.js';
import type { ChatMessage, PrmTokenizer } from '../tokenize/tokenizer.js';
import { QWEN_PRM_SYSTEM } from './qwen-math-prm.js';
import { TRL_SEPARATOR } from './trl.js';

export type OrmFormatName = 'qwen2.5-math-rm' | 'skywork-reward' | 'plain-orm';

/** What the head's value at the last token is. */
export type OrmValue = 'reward' | 'logit';

export interface OrmFormat {
  readonly name: string;
  /** 'logit': the value is the logit of P(solution correct), so a probability is defined; 'reward': a raw reward only. */
  readonly value: OrmValue;
  /** How steps are joined into the solution, in words (for messages and docs). */
  readonly joiner: string;
  /** The solution text a list of steps makes. */
  solution(steps: readonly string[]): string;
  /** The whole input's token ids; the head is read at the last one. */
  encode(problem: string, solution: string, tokenizer: PrmTokenizer): number[];
}

/** Chat families write the steps as one assistant turn, separated by a blank line. */
const BLANK_LINE = '\n\n';

/**
 * A chat family read as its model card does: [system?, user problem, assistant solution]
 * through the tokenizer's own chat template, no generation prompt, steps joined by a blank
 * line; the head's raw output at the last token.
 */
function chatOrm(name: OrmFormatName, system?: string): OrmFormat {
  return {
    name,
    value: 'reward',
    joiner: 'a blank line ("\\n\\n")',
    solution: (steps) => steps.join(BLANK_LINE),
    encode(problem, solution, tok) {
      const turns: ChatMessage[] = [{ role: 'user', content: problem }, { role: 'assistant', content: solution }];
      if (system !== undefined) turns.unshift({ role: 'system', content: system });
      return tok.encode(tok.applyChatTemplate(turns), false);
    },
  };
}

/** Qwen2.5-Math-RM-72B: the Qwen math system prompt, then the problem and the solution; the score MLP's output. */
export const qwenMathRm: OrmFormat = chatOrm('qwen2.5-math-rm', QWEN_PRM_SYSTEM);

/** Skywork-Reward-Llama-3.1-8B: the Llama 3.1 template; `logits[0][0]` of the one-label sequence classifier. */
export const skyworkReward: OrmFormat = chatOrm('skywork-reward');

// one cache per tokenizer: a tokenizer's ids for a text never change
const newlineIds = new WeakMap<PrmTokenizer, number[]>();

/**
 * A model trained on the text TRL's PRMTrainer builds (the layout of prmkit's `trl` format):
 * the problem's ids, then each step's ids followed by the ids of "\n", every piece tokenized
 * alone without special tokens (the tokenizer's BOS first, when it has one); a one-label
 * sequence classifier with a sigmoid head, trained with BCE on the outcome and read at the
 * last token. A solution given as text is cut at each "\n", every line one step ended by
 * "\n" (a final "\n" is optional).
 */
export const plainOrm: OrmFormat = {
  name: 'plain-orm',
  value: 'logit',
  joiner: 'a newline after every step ("\\n")',
  solution: (steps) => steps.map((s) => s + TRL_SEPARATOR).join(''),
  encode(problem, solution, tok) {
    let sep = newlineIds.get(tok);
    if (!sep) newlineIds.set(tok, (sep = tok.encode(TRL_SEPARATOR, false)));
    const bos = tok.bosToken === undefined ? undefined : tok.tokenToId(tok.bosToken);
    const ids = bos === undefined ? [] : [bos];
    for (const id of tok.encode(problem, false)) ids.push(id);
    // every line is a step ended by "\n": "a\nb" and "a\nb\n" are the same two steps
    const lines = solution.split(TRL_SEPARATOR);
    if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
    for (const line of lines) {
      for (const id of tok.encode(line, false)) ids.push(id);
      for (const id of sep) ids.push(id);
    }
    return ids;
  },
};

export const ORM_FORMATS: Readonly<Record<OrmFormatName, OrmFormat>> = {
  'qwen2.5-math-rm': qwenMathRm,
  'skywork-reward': skyworkReward,
  'plain-orm': plainOrm,
};

/** The built-in ORM format names, in one place (CLI flags, messages, the converter). */
export const ORM_FORMAT_NAMES = Object.keys(ORM_FORMATS) as readonly OrmFormatName[];

export type OrmFormatSpec = OrmFormatName | OrmFormat;

export function isOrmFormatName(v: unknown): v is OrmFormatName {
  return typeof v === 'string' && Object.hasOwn(ORM_FORMATS, v);
}

export function resolveOrmFormat(spec: unknown, what = 'format'): OrmFormat {
  if (typeof spec === 'string') {
    if (!isOrmFormatName(spec)) throw invalidRange(what, `an ORM format, one of ${ORM_FORMAT_NAMES.join(', ')}`, spec);
    return ORM_FORMATS[spec];
  }
  const f = spec as Partial<OrmFormat> | null;
  if (f && typeof f === 'object' && typeof f.name === 'string' && typeof f.encode === 'function' && typeof f.solution === 'function' && (f.value === 'reward' || f.value === 'logit'))
    return f as OrmFormat;
  throw invalidType(what, `one of ${ORM_FORMAT_NAMES.join(', ')} or an OrmFormat { name, value, joiner, solution, encode }`, spec);
}
