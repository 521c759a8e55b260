// A format's LM-head labels ('+', '-') as token ids of the model's tokenizer: the converter
// keeps those rows of lm_head, and a loader reads those columns of the logits.
import type { FormatHead } from '../formats/types.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';

/** Each label's last token id (a label that encodes to several tokens is read at its end). */
export function labelIds(head: FormatHead, tok: PrmTokenizer): Int32Array | undefined {
  if (!head.labels) return undefined;
  return Int32Array.from(head.labels, (l) => {
    const ids = tok.encode(l, false);
    if (ids.length === 0) throw new TypeError(`head label ${JSON.stringify(l)} encodes to no tokens`);
    return ids[ids.length - 1];
  });
}
