// Skywork-o1-Open-PRM: `bos + problem + "\n"` tokenized, then each step tokenized alone and
// followed by the "\n" token (198 in Qwen2.5); the value head (sigmoid) reads that token.
// Because each step is tokenized alone, a newline inside a step cannot be mistaken for a
// boundary: positions are recorded as the ids are built, then checked.
import type { ChainItem } from '../interfaces.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import { lastTokenId, rejectInChain } from './errors.js';
import type { EncodedChain, PrmFormat } from './types.js';

export const skywork: PrmFormat = {
  name: 'skywork',
  separator: '\\n (token appended after each step)',
  stepMark: '\n',
  head: { activation: 'sigmoid', positive: 0, outputs: 1 },
  // the authors document no aggregation; mean is a neutral default (override per call)
  aggregation: 'mean',
  encode(item: ChainItem, tok: PrmTokenizer, index: number): EncodedChain {
    const nl = lastTokenId(tok, '\n', 'skywork step token');
    rejectInChain(item, tok.specialTokens, index, this.name);
    const ids = tok.encode(`${tok.bosToken ?? ''}${item.problem}\n`, true);
    const positions: number[] = [];
    for (const step of item.steps) {
      for (const id of tok.encode(step, true)) ids.push(id);
      positions.push(ids.length);
      ids.push(nl);
    }
    return { ids, positions };
  },
};
