// IBM Granite's generative math PRMs (granite-3.3-8b-lora-math-prm, granite-3.3-8b-math-prm-v2),
// as IBM's own inference code runs them: a multi-turn chat where the first user turn is the
// problem, a space, the first step, a space and "Is this response correct so far (Y/N)?",
// each later user turn a step and the same question, and every assistant turn "Y"; the chat
// template's own tokens (Granite's adds a system message with today's date, so encodings
// change with the day, as they do for IBM's code). P(step correct) is P("Y") under a softmax
// over the whole vocabulary at the token before each assistant "Y" (not "Y" against "N"):
// the LM head's every row, which the native LM-head kernel reads without host logits. The
// authors average the step probabilities.
import { PrmInputError } from '../errors.js';
import type { ChainItem } from '../interfaces.js';
import type { ChatMessage, PrmTokenizer } from '../tokenize/tokenizer.js';
import { rejectInChain } from './errors.js';
import { answerPositions, assistantHeader } from './rlhflow.js';
import type { EncodedChain, PrmFormat } from './types.js';

export const GRANITE_QUESTION = 'Is this response correct so far (Y/N)?';
export const GRANITE_ANSWER = 'Y';

export const granitePrm: PrmFormat = {
  name: 'granite-prm',
  separator: `" ${GRANITE_QUESTION}" (user turn per step, assistant "${GRANITE_ANSWER}")`,
  head: { activation: 'softmax', positive: 0, outputs: 1, labels: [GRANITE_ANSWER], vocabulary: true },
  aggregation: 'mean',
  encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
    // IBM's code takes the first id of "Y"
    const answer = tok.encode(GRANITE_ANSWER, false)[0];
    if (answer === undefined) throw new TypeError(`${this.name}: "${GRANITE_ANSWER}" encodes to no tokens with this tokenizer`);
    const header = assistantHeader(tok, this.name);
    rejectInChain(item, tok.specialTokens, index, this.name);
    const messages: ChatMessage[] = [];
    item.steps.forEach((s, k) => {
      messages.push({ role: 'user', content: k === 0 ? `${item.problem} ${s} ${GRANITE_QUESTION}` : `${s} ${GRANITE_QUESTION}` });
      messages.push({ role: 'assistant', content: GRANITE_ANSWER });
    });
    const ids = tok.encode(tok.applyChatTemplate(messages), false);
    const positions = answerPositions(ids, header, answer);
    if (positions.length !== item.steps.length)
      throw new PrmInputError(`items[${index}]`, `has ${positions.length} assistant "${GRANITE_ANSWER}" answers for ${item.steps.length} steps in the ${this.name} encoding`);
    return { ids, positions };
  },
};
