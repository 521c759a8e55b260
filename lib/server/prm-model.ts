// A loaded Prm as the service's model: the Prm already fits ServerModel; this adds the
// tokenizer-based counts /pooling needs for text inputs.
import type { Prm } from '../prm.js';
import type { ServerModel } from './types.js';

export function prmServerModel(prm: Prm): ServerModel {
  return {
    name: prm.name,
    // with overflow 'truncate' the Prm scores what fits, so longer chains are fine
    maxContext: prm.overflow === 'truncate' ? undefined : prm.maxContext,
    score: (items, options) => prm.score(items, options),
    classifyTokens: (inputs, options) => prm.classifyTokens(inputs, options),
    countTokens: (items) => prm.countTokens(items),
    countTextTokens: (texts) => texts.map((t) => prm.tokenizer.encode(t, true).length),
    isTokenId: (id) => prm.tokenizer.idToToken(id) !== undefined,
    tokenize: (texts, options) => texts.map((t) => prm.tokenizer.encode(t, options?.addSpecialTokens ?? true)),
    close: () => prm.close(),
  };
}
