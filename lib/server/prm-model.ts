// A loaded Prm as the service's model. Chains are tokenized once per request (`encode`, with
// the context limit deferred so the limits see full lengths) and a batch scores those very
// rows, picked from the encodings of the requests it serves.
import { integer } from '../is.js';
import { pickRows } from '../prm/encoding.js';
import type { PrmEncoding } from '../prm/encoding.js';
import type { Prm } from '../prm/index.js';
import type { PrmTokenizer } from '../tokenize/tokenizer.js';
import type { ModelEncodedChain, ServerModel, ServerTokenizer } from './types.js';
import { stepTagOf } from './vllm/tokenizer.js';

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

/** The tokenizer's chat template (tokenizer_config may hold a list of named ones; 'default' is the chat one). */
function chatTemplate(tokenizer: PrmTokenizer): string | undefined {
  const t = tokenizer.config['chat_template'];
  if (typeof t === 'string') return t;
  if (Array.isArray(t)) {
    const d = (t as Array<{ name?: string; template?: string }>).find((x) => x.name === 'default');
    if (d && typeof d.template === 'string') return d.template;
  }
  return undefined;
}

/** A model's tokenizer as the service's (/tokenize, /detokenize, chat rendering). */
export function serverTokenizer(tok: PrmTokenizer): ServerTokenizer {
  const template = chatTemplate(tok);
  return {
    maxTokenChars: tok.maxTokenChars,
    tokenize: (texts, options) => texts.map((t) => tok.encode(t, options?.addSpecialTokens ?? true)),
    detokenize: (ids) => tok.decode(ids),
    tokenStrings: (ids) => ids.map((id) => tok.idToToken(id) ?? ''),
    isTokenId: (id) => tok.idToToken(id) !== undefined,
    chat: { ...(template !== undefined ? { template } : {}), bosToken: tok.bosToken ?? '', eosToken: tok.eosToken ?? '' },
  };
}

/** Default bytes of keys/values the service's prefix cache keeps. */
export const DEFAULT_PREFIX_CACHE_BYTES = 256 * 2 ** 20;

export interface PrmServerModelOptions {
  /**
   * Keys/values of scored chains kept across requests, in bytes (default 256 MiB; 0: none), so
   * that a request continues the prefix of chains scored before (a beam-search round or an RL
   * group sent as separate requests). Needs a model with a KV cache; ignored otherwise.
   */
  prefixCacheBytes?: number;
}

export function prmServerModel(prm: Prm, options: PrmServerModelOptions = {}): ServerModel {
  const tok = prm.tokenizer;
  const bytes = options.prefixCacheBytes === undefined ? DEFAULT_PREFIX_CACHE_BYTES : integer(options.prefixCacheBytes, 'prefixCacheBytes', 0);
  // chains in one batch share prefixes by themselves; the cache carries them across batches
  const prefixCache = bytes > 0 && prm.backend.kvCache && !prm.implicit ? prm.prefixCache({ maxBytes: bytes }) : undefined;
  return {
    name: prm.name,
    kind: 'prm',
    format: prm.format.name,
    backend: prm.backend.kind === 'onnx' ? `onnx/${prm.backend.provider}` : prm.backend.kind,
    // with overflow 'truncate' the Prm scores what fits, so longer chains are fine
    maxContext: prm.overflow === 'truncate' ? undefined : prm.maxContext,
    stepSeparator: prm.format.stepMark,
    ...(prm.implicit ? { rewards: { ...prm.implicit } } : {}),
    chains: {
      maxTokenChars: tok.maxTokenChars,
      encode: (items) => {
        const encoding = prm.encode(items, { deferContext: true });
        return encoding.inputIds.map((_, row) => new PrmChain(prm, encoding, row));
      },
      score: async (chains, options) => {
        const rows = chains.map((c, i) => {
          if (!(c instanceof PrmChain) || c.prm !== prm) throw new TypeError(`chains[${i}] was not encoded by this model's encode`);
          return c;
        });
        // the backbone's numbers only: each request reduces them with its own aggregate,
        // threshold (and an implicit PRM's beta) after the batch (summarize.ts)
        const scored = await prm.stepLogsEncoded(pickRows(rows, prm.format), { ...(options?.signal ? { signal: options.signal } : {}), ...(prefixCache ? { prefixCache } : {}) });
        return scored.map((s) => ({ stepLogProbs: s.stepLogProbs, ...(s.stepLogRatios ? { stepLogRatios: s.stepLogRatios } : {}), tokens: s.tokens, truncated: s.truncated }));
      },
    },
    tokenizer: serverTokenizer(tok),
    tokenClassifier: {
      stepTagId: stepTagOf(prm.format, tok),
      classify: (inputs, options) => prm.classifyTokens(inputs, options),
    },
    ...(prefixCache ? { prefixCache } : {}),
    close: () => prm.close(),
  };
}
