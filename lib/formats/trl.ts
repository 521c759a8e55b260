// PRMs trained with TRL's PRMTrainer (a `*ForTokenClassification` model): the problem's ids,
// then each step's ids followed by the step separator's ids, every piece tokenized alone
// without special tokens (the tokenizer's BOS first, when it has one, as TRL prepends it);
// the label sits on the last token of each step's separator. The head is K ≥ 2 classes,
// softmax; TRL's labels make class 1 "correct". Because each step is tokenized alone, a
// separator inside a step cannot be mistaken for a boundary: positions are recorded as the
// ids are built.
import { integer, keysOf, knownKeys, object, string } from '../is.js';
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { rejectInChain } from './errors.js';
import type { EncodedChain, PrmFormat, TrlFormatSpec } from './types.js';

/** TRL's default `step_separator`. */
export const TRL_SEPARATOR = '\n';

const KEYS = keysOf<TrlFormatSpec>()({ kind: true, separator: true, positive: true, classes: true });

/** A TRL format with its separator (default "\n"), class count K ≥ 2 (default 2) and correct class (default 1). */
export function trlFormat(spec: TrlFormatSpec = { kind: 'trl' }): PrmFormat {
  knownKeys(object(spec, 'format') as Record<string, unknown>, KEYS, 'format');
  const separator = spec.separator === undefined ? TRL_SEPARATOR : string(spec.separator, 'format.separator', { nonEmpty: true });
  const classes = spec.classes === undefined ? 2 : integer(spec.classes, 'format.classes', 2, 64);
  const positive = spec.positive === undefined ? 1 : integer(spec.positive, 'format.positive', 0, classes - 1);
  // one cache per tokenizer: a tokenizer's ids for the separator never change
  const sepIds = new WeakMap<PrmTokenizer, number[]>();
  return {
    name: 'trl',
    separator: JSON.stringify(separator),
    stepMark: separator,
    head: { activation: 'softmax', positive, outputs: classes },
    // TRL trains per-step labels and defines no aggregation; prod, as for custom formats
    aggregation: 'prod',
    encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
      let sep = sepIds.get(tok);
      if (!sep) {
        sep = tok.encode(separator, false);
        if (sep.length === 0) throw new TypeError(`trl separator ${JSON.stringify(separator)} encodes to no tokens with this tokenizer`);
        sepIds.set(tok, sep);
      }
      rejectInChain(item, tok.specialTokens, index, this.name);
      const bos = tok.bosToken === undefined ? undefined : tok.tokenToId(tok.bosToken);
      const ids = bos === undefined ? [] : [bos];
      for (const id of tok.encode(item.problem, false)) ids.push(id);
      const positions: number[] = [];
      for (const step of item.steps) {
        for (const id of tok.encode(step, false)) ids.push(id);
        for (const id of sep) ids.push(id);
        positions.push(ids.length - 1);
      }
      return { ids, positions };
    },
  };
}

export const trl: PrmFormat = trlFormat();
