// How a request's chains reach the model. A model with `encodeChains` is asked once per request:
// the limits are checked on that encoding, and the batch scores the very same encoding. A
// model that only counts gets the fallback: its chains carry their text and their count,
// and `score` tokenizes them (again) in the batch.
import { ApiError } from './errors.js';
import type { ChainItem } from '../interfaces.js';
import type { ModelCallOptions, ModelChainScore, ModelEncodedChain, ServerModel } from './types.js';

export interface ChainPath {
  /** The most text one token covers (from the model), for refusing text by its length. */
  readonly maxTokenChars: number | undefined;
  /** Tokenizes (or counts) a request's chains; throws whatever the model throws. */
  encode(items: ChainItem[]): ModelEncodedChain[];
  /** Scores chains from `encode`, of one or several requests. */
  score(chains: ModelEncodedChain[], options: ModelCallOptions): Promise<ModelChainScore[]>;
}

/** A chain of a model without `encodeChains`: the text goes to `score`, the count to the limits. */
class CountedChain implements ModelEncodedChain {
  constructor(
    readonly item: ChainItem,
    readonly tokens: number,
  ) {}
}

export function chainPath(model: ServerModel): ChainPath {
  const { encodeChains, scoreEncodedChains, countTokens } = model;
  const m = model.maxTokenChars;
  const maxTokenChars = typeof m === 'number' && Number.isFinite(m) && m >= 1 ? m : undefined;
  if (encodeChains && scoreEncodedChains) {
    return {
      maxTokenChars,
      encode: (items) => encodeChains.call(model, items),
      score: (chains, options) => scoreEncodedChains.call(model, chains, options),
    };
  }
  if (!countTokens) throw new TypeError('the model needs countTokens, or encodeChains and scoreEncodedChains');
  return {
    maxTokenChars,
    encode(items) {
      const costs = countTokens.call(model, items);
      if (!Array.isArray(costs) || costs.length !== items.length)
        throw new ApiError(500, 'server_error', 'model.countTokens returned the wrong number of counts', null);
      return items.map((item, i) => new CountedChain(item, costs[i]!));
    },
    score: (chains, options) =>
      model.score(
        chains.map((c, i) => {
          if (!(c instanceof CountedChain)) throw new TypeError(`chains[${i}] did not come from this path's encode`);
          return c.item;
        }),
        options,
      ),
  };
}
