// A loaded Prm as the service's model. Chains are tokenized once per request (`encodeChains`,
// with the context limit deferred so the limits see full lengths) and a batch scores those
// very rows, picked from the encodings of the requests it serves (`scoreEncodedChains`).
import { pickRows } from '../prm/encoding.js';
import type { PrmEncoding } from '../prm/encoding.js';
import type { Prm } from '../prm/index.js';
import type { ModelEncodedChain, ServerModel } from './types.js';
import { renderChat, stepTagOf } from './vllm/tokenizer.js';

/** One row of a request's encoding; the encoding is shared by the request's chains. */
class PrmChain implements ModelEncodedChain {
  constructor(
    readonly prm: Prm,
    readonly encoding: PrmEncoding,
    readonly row: number,
  ) {}

  get tokens(): number {
    return this.encoding.inputIds[this.row]!.length;
  }
}

export function prmServerModel(prm: Prm): ServerModel {
  return {
    name: prm.name,
    // with overflow 'truncate' the Prm scores what fits, so longer chains are fine
    maxContext: prm.overflow === 'truncate' ? undefined : prm.maxContext,
    maxTokenChars: prm.tokenizer.maxTokenChars,
    score: (items, options) => prm.score(items, options),
    encodeChains: (items) => {
      const encoding = prm.encode(items, { deferContext: true });
      return encoding.inputIds.map((_, row) => new PrmChain(prm, encoding, row));
    },
    scoreEncodedChains: (chains, options) => {
      const rows = chains.map((c, i) => {
        if (!(c instanceof PrmChain) || c.prm !== prm) throw new TypeError(`chains[${i}] was not encoded by this model's encodeChains`);
        return c;
      });
      return prm.scoreEncoded(pickRows(rows, prm.format), options);
    },
    classifyTokens: (inputs, options) => prm.classifyTokens(inputs, options),
    countTokens: (items) => prm.countTokens(items),
    countTextTokens: (texts) => texts.map((t) => prm.tokenizer.encode(t, true).length),
    isTokenId: (id) => prm.tokenizer.idToToken(id) !== undefined,
    tokenize: (texts, options) => texts.map((t) => prm.tokenizer.encode(t, options?.addSpecialTokens ?? true)),
    detokenize: (ids) => prm.tokenizer.decode(ids),
    tokenStrings: (ids) => ids.map((id) => prm.tokenizer.idToToken(id) ?? ''),
    renderChat: (messages, options) => renderChat(prm.tokenizer, messages, options),
    stepTagId: stepTagOf(prm.format, prm.tokenizer),
    stepSeparator: prm.format.separator,
    close: () => prm.close(),
  };
}
