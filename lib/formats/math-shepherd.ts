// Math-Shepherd (Mistral-7B): `problem + " " + steps joined by "\n", each ending " ки"`,
// read at the step tag `ки`; the LM head's logits of '+' and '-' are the classes (softmax,
// index 0 = correct); the authors take the min.
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { findBoundaries, lastTokenId, rejectInChain } from './errors.js';
import type { EncodedChain, PrmFormat } from './types.js';

export const SHEPHERD_TAG = 'ки';

export const mathShepherd: PrmFormat = {
  name: 'math-shepherd',
  separator: ` ${SHEPHERD_TAG}`,
  stepMark: ` ${SHEPHERD_TAG}`,
  head: { activation: 'softmax', positive: 0, outputs: 2, labels: ['+', '-'] },
  aggregation: 'min',
  encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
    const tagId = lastTokenId(tok, ` ${SHEPHERD_TAG}`, 'math-shepherd step tag');
    // any occurrence of the tag could tokenize to the tag id; refuse rather than guess
    const forbidden = [SHEPHERD_TAG, ...tok.specialTokens];
    rejectInChain(item, forbidden, index, this.name);
    const text = `${item.problem} ${item.steps.map((s) => `${s} ${SHEPHERD_TAG}`).join('\n')}`;
    const ids = tok.encode(text, true);
    return { ids, positions: findBoundaries(ids, tagId, item.steps, index, this.name, SHEPHERD_TAG) };
  },
};
