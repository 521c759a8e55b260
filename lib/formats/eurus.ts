// EurusPRM (PRIME's implicit PRM): the conversation [user: problem, assistant: the steps joined
// by "\n\n"] through the tokenizer's chat template, no system message of its own. There is
// no head: the reward is a log-likelihood ratio of two causal LMs summed over the response
// tokens, read at each step's last token. That token is found as the model card finds it:
// the prompt and the response up to the end of step k tokenized together, its last index
// (BPE may merge a step's last characters with the "\n\n" after them, so the full text's own
// split is not searched for a separator). The response starts where the prompt with the
// generation prompt ends. The card ranks by the minimum step reward (EurusPRM-Stage1).
import { PrmInputError } from '../errors.js';
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { rejectInChain } from './errors.js';
import type { EncodedChain, PrmFormat } from './types.js';

export const EURUS_JOIN = '\n\n';

export const eurusPrm: PrmFormat = {
  name: 'eurus-prm',
  separator: '\\n\\n (steps joined in the assistant turn)',
  stepMark: '\n\n',
  // no classes are read: an implicit PRM's step reward is not a head's output
  head: { activation: 'softmax', positive: 0, outputs: 1 },
  aggregation: 'min',
  implicit: true,
  encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
    rejectInChain(item, tok.specialTokens, index, this.name);
    const user = [{ role: 'user' as const, content: item.problem }];
    const prompt = tok.applyChatTemplate(user, { addGenerationPrompt: true });
    const response = item.steps.join(EURUS_JOIN);
    const full = tok.applyChatTemplate([...user, { role: 'assistant', content: response }]);
    if (!full.startsWith(prompt + response))
      throw new TypeError(`${this.name}: the chat template does not write the assistant turn right after its generation prompt; this format needs one that does`);
    const ids = tok.encode(full, false);
    const start = tok.encode(prompt, false).length;
    const positions: number[] = [];
    let text = prompt;
    item.steps.forEach((step, k) => {
      text += (k === 0 ? '' : EURUS_JOIN) + step;
      const end = tok.encode(text, false).length - 1;
      if (end < start || end <= (positions[k - 1] ?? -1))
        throw new PrmInputError(`items[${index}].steps[${k}]`, 'adds no token to the response (an implicit PRM reads each step at its last token)');
      positions.push(end);
    });
    return { ids, positions, start };
  },
};
