// A loaded Orm as the service's model: chains (or whole solution texts, as one-step chains)
// tokenized once per request with the context limit deferred, scored in batches that mix
// requests; each chain's score carries the outcome (reward, probability) and no step scores.
import type { Orm } from '../orm/index.js';
import type { OrmEncoding } from '../orm/index.js';
import { serverTokenizer } from './prm-model.js';
import type { ModelEncodedChain, ServerModel } from './types.js';

/** One row of a request's encoding. */
class OrmChain implements ModelEncodedChain {
  constructor(
    readonly orm: Orm,
    readonly encoding: OrmEncoding,
    readonly row: number,
  ) {}

  get tokens(): number {
    return this.encoding.inputIds[this.row]!.length;
  }
}

export function ormServerModel(orm: Orm): ServerModel {
  const tok = orm.tokenizer;
  return {
    name: orm.name,
    kind: 'orm',
    format: orm.format.name,
    backend: orm.backend.kind === 'onnx' ? `onnx/${orm.backend.provider}` : orm.backend.kind,
    maxContext: orm.overflow === 'truncate' ? undefined : orm.maxContext,
    chains: {
      maxTokenChars: tok.maxTokenChars,
      encode: (items) => {
        const encoding = orm.encode(items, { deferContext: true });
        return encoding.inputIds.map((_, row) => new OrmChain(orm, encoding, row));
      },
      score: async (chains, options) => {
        const rows = chains.map((c, i) => {
          if (!(c instanceof OrmChain) || c.orm !== orm) throw new TypeError(`chains[${i}] was not encoded by this model's encode`);
          return c;
        });
        const picked: OrmEncoding = {
          inputIds: rows.map((c) => c.encoding.inputIds[c.row]!),
          truncated: rows.map((c) => c.encoding.truncated[c.row]!),
          ids: rows.map((c) => c.encoding.ids[c.row]),
        };
        const scored = await orm.scoreEncoded(picked, options?.signal ? { signal: options.signal } : {});
        return scored.map((s) => ({
          stepLogProbs: [],
          outcome: { reward: s.reward, ...(s.probability !== undefined ? { probability: s.probability } : {}) },
          tokens: s.tokens,
          truncated: s.truncated,
        }));
      },
    },
    tokenizer: serverTokenizer(tok),
    close: () => orm.close(),
  };
}
