// RLHFlow Llama3.1-8B-PRM: a multi-turn chat where each user turn is a step (the first one
// prefixed by the problem) and each assistant turn is "+". The LM head's logits of '+'/'-'
// at the token just before each "+" answer are the classes (the authors read logits[-3]
// for the last step: the position whose next-token prediction is the answer); index 0 =
// correct; the authors average.
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { PrmInputError } from '../errors.js';
import { lastTokenId, rejectInChain } from './errors.js';
import type { EncodedChain, PrmFormat } from './types.js';
import type { ChatMessage } from '../tokenize/tokenizer.js';

const headerCache = new WeakMap<PrmTokenizer, number[]>();

/** Token ids the template puts before an assistant turn's content (e.g. Llama 3's header + "\n\n"). */
export function assistantHeader(tok: PrmTokenizer, format = 'rlhflow'): number[] {
  let h = headerCache.get(tok);
  if (h) return h;
  const probe: ChatMessage[] = [{ role: 'user', content: 'x' }];
  const without = tok.applyChatTemplate(probe, { addGenerationPrompt: false });
  const withPrompt = tok.applyChatTemplate(probe, { addGenerationPrompt: true });
  if (!withPrompt.startsWith(without) || withPrompt.length === without.length)
    throw new TypeError(`${format}: cannot derive the assistant header from this chat template (add_generation_prompt adds nothing)`);
  h = tok.encode(withPrompt.slice(without.length), false);
  headerCache.set(tok, h);
  return h;
}

export const rlhflow: PrmFormat = {
  name: 'rlhflow',
  separator: '+ (assistant turn)',
  head: { activation: 'softmax', positive: 0, outputs: 2, labels: ['+', '-'] },
  aggregation: 'mean',
  encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
    const plus = lastTokenId(tok, '+', 'rlhflow answer');
    const header = assistantHeader(tok);
    rejectInChain(item, tok.specialTokens, index, this.name);
    const messages: ChatMessage[] = [];
    item.steps.forEach((s, k) => {
      messages.push({ role: 'user', content: k === 0 ? `${item.problem} ${s}` : s });
      messages.push({ role: 'assistant', content: '+' });
    });
    const ids = tok.encode(tok.applyChatTemplate(messages), false);
    // an answer is a '+' right after a full assistant header; user text cannot contain the
    // header (its special tokens are refused above)
    const positions = answerPositions(ids, header, plus);
    if (positions.length !== item.steps.length)
      throw new PrmInputError(`items[${index}]`, `has ${positions.length} assistant '+' answers for ${item.steps.length} steps in the rlhflow encoding`);
    return { ids, positions };
  },
};

/** The token before each `answer` id that follows a whole assistant header: where the answer is predicted. */
export function answerPositions(ids: readonly number[], header: readonly number[], answer: number): number[] {
  const positions: number[] = [];
  for (let t = header.length; t < ids.length; t++) {
    if (ids[t] !== answer) continue;
    let match = true;
    for (let j = 0; j < header.length && match; j++) match = ids[t - header.length + j] === header[j];
    if (match) positions.push(t - 1);
  }
  return positions;
}
