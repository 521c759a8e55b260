// A scripted ServerModel for the service's own mechanics (batching, queue, timeouts,
// disconnects, shutdown): its answers are a pure function of the text, and a test can hold
// its batches open to create queues on purpose. The real tiny PRM is used in real.test.ts.
import type { ChainItem } from '../../lib/interfaces.js';
import type { ChainScorer, ModelChainScore, ModelEncodedChain, ModelTokenClassification, ServerModel, ServerTokenizer, TokenClassifier } from '../../lib/server/types.js';

/** Deterministic probability in (0.05, 0.95) from a string. */
export function probOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return 0.05 + ((h >>> 0) % 9000) / 10000;
}

/** Token cost the fake charges: one per 4 characters of problem and steps, plus one per step. */
export function fakeTokens(item: ChainItem): number {
  let chars = item.problem.length;
  for (const s of item.steps) chars += s.length;
  return Math.ceil(chars / 4) + item.steps.length + 1;
}

/** A chain as the fake "encodes" it: its text, and its cost from `countTokens`. */
export class FakeChain implements ModelEncodedChain {
  constructor(
    readonly item: ChainItem,
    readonly tokens: number,
  ) {}
}

/**
 * Its parts call the class's own methods, so a subclass changes a part by overriding one
 * (`countTokens`, `tokenize`, ...).
 */
export class FakeModel implements ServerModel {
  readonly name = 'fake-prm';
  /** The most characters one token covers; undefined: no bound. */
  readonly maxTokenChars: number | undefined = undefined;
  readonly chains: ChainScorer = ((model: FakeModel): ChainScorer => ({
    get maxTokenChars() {
      return model.maxTokenChars;
    },
    encode: (items) => model.countTokens(items).map((t, i) => new FakeChain(items[i]!, t)),
    score: (chains, options) => model.score(chains.map((c) => (c as FakeChain).item), options),
  }))(this);
  readonly tokenizer: ServerTokenizer = ((model: FakeModel): ServerTokenizer => ({
    get maxTokenChars() {
      return model.maxTokenChars;
    },
    tokenize: (texts, options) => model.tokenize(texts, options),
    detokenize: (ids) => String.fromCharCode(...ids),
    tokenStrings: (ids) => ids.map((id) => String.fromCharCode(id)),
    isTokenId: (id) => id >= 0 && id < 65536,
  }))(this);
  readonly tokenClassifier: TokenClassifier = { classify: (inputs) => this.classifyTokens(inputs) };
  /** Every batch the model was asked to run, in order. */
  readonly batches: ChainItem[][] = [];
  readonly poolBatches: Array<Array<string | number[]>> = [];
  /** Signals of the batches, to check that abandoned batches are aborted. */
  readonly signals: AbortSignal[] = [];
  running = 0;
  maxRunning = 0;
  closed = false;
  /** While set, batches wait for it before answering. */
  hold: Promise<void> | null = null;
  #release: (() => void) | null = null;
  failNext: Error | null = null;

  holdBatches(): void {
    this.hold = new Promise((r) => (this.#release = r));
  }

  releaseBatches(): void {
    this.#release?.();
    this.hold = null;
  }

  async score(items: ChainItem[], options?: { signal?: AbortSignal }): Promise<ModelChainScore[]> {
    this.batches.push(items);
    if (options?.signal) this.signals.push(options.signal);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      if (this.hold) await this.hold;
      await new Promise((r) => setTimeout(r, 1));
      if (this.failNext) {
        const e = this.failNext;
        this.failNext = null;
        throw e;
      }
      return items.map((it) => ({
        stepLogProbs: it.steps.map((s, i) => Math.log(probOf(`${it.problem}|${i}|${s}`))),
        tokens: fakeTokens(it),
        truncated: false,
      }));
    } finally {
      this.running--;
    }
  }

  async classifyTokens(inputs: Array<string | number[]>): Promise<ModelTokenClassification[]> {
    this.poolBatches.push(inputs);
    if (this.hold) await this.hold;
    return inputs.map((x) => {
      const tokens = typeof x === 'string' ? Array.from(x, (c) => c.charCodeAt(0)) : x;
      return { tokens, probs: tokens.map((t) => [1 - probOf(String(t)), probOf(String(t))]) };
    });
  }

  /** Chains tokenized (counted) so far: shows which requests got as far as the tokenizer. */
  counted = 0;

  countTokens(items: ChainItem[]): number[] {
    this.counted += items.length;
    return items.map(fakeTokens);
  }

  tokenize(texts: string[], options?: { addSpecialTokens?: boolean }): number[][] {
    return texts.map((t) => [...(options?.addSpecialTokens === false ? [] : [1]), ...Array.from(t, (c) => c.charCodeAt(0))]);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
