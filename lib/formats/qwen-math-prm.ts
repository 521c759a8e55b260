// Qwen2.5-Math-PRM-7B/72B: the chat template with the authors' system prompt; the assistant
// turn is the steps, each ended by `<extra_0>`; the in-graph score head gives 2 classes,
// softmax, index 1 = correct; the authors multiply step probabilities.
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { findBoundaries, rejectInChain } from './errors.js';
import type { EncodedChain, PrmFormat } from './types.js';

export const QWEN_PRM_SYSTEM = 'Please reason step by step, and put your final answer within \\boxed{}.';
export const QWEN_PRM_SEPARATOR = '<extra_0>';
/** `<extra_0>`'s id in the Qwen2.5-Math-PRM tokenizer. */
export const QWEN_PRM_SEPARATOR_ID = 151651;

export const qwenMathPrm: PrmFormat = {
  name: 'qwen2.5-math-prm',
  separator: QWEN_PRM_SEPARATOR,
  stepMark: QWEN_PRM_SEPARATOR,
  head: { activation: 'softmax', positive: 1, outputs: 2 },
  aggregation: 'prod',
  encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
    const sepId = tok.tokenToId(QWEN_PRM_SEPARATOR);
    if (sepId === undefined)
      throw new TypeError(`qwen2.5-math-prm: the tokenizer has no ${QWEN_PRM_SEPARATOR} token (the Qwen PRM has it at ${QWEN_PRM_SEPARATOR_ID}; add it with addedTokens)`);
    const forbidden = [QWEN_PRM_SEPARATOR, ...tok.specialTokens];
    rejectInChain(item, forbidden, index, this.name);
    const assistant = item.steps.map((s) => s + QWEN_PRM_SEPARATOR).join('');
    const text = tok.applyChatTemplate([
      { role: 'system', content: QWEN_PRM_SYSTEM },
      { role: 'user', content: item.problem },
      { role: 'assistant', content: assistant },
    ]);
    const ids = tok.encode(text, false);
    return { ids, positions: findBoundaries(ids, sepId, item.steps, index, this.name, QWEN_PRM_SEPARATOR) };
  },
};
