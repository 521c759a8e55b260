// Prm: score text with a real process reward model. Text → format → tokens + boundaries →
// backbone (onnxruntime on worker threads, or a remote vLLM /pooling) → native kernels.
import { basename } from 'node:path';
import { OnnxBackbone } from '../backbones/onnx/backbone.js';
import { planChunks } from '../batch/index.js';
import { VllmPoolingClient } from '../backbones/vllm/client.js';
import { VllmSteps } from '../backbones/vllm/steps.js';
import { checkItemShape } from '../formats/errors.js';
import { isInputError, reroot } from '../errors.js';
import type { InputError } from '../errors.js';
import { resolveFormat } from '../formats/index.js';
import type { PrmFormat } from '../formats/types.js';
import type { ChainItem, StepScorer } from '../interfaces.js';
import { rankGroups } from '../kernels/index.js';
import type { Aggregation, Head } from '../kernels/types.js';
import { checkHeadSource, resolveHead } from './head.js';
import { OnnxSteps } from '../backbones/onnx/steps.js';
import type { StepSource } from '../backbones/step-source.js';
import { checkCommon } from './options.js';
import type { PrmConnectOptions, PrmLoadOptions } from './options.js';
import { buildScores, checkScoreCall } from './results.js';
import type { PrmScore, ScoreCallOptions } from './results.js';
import { PrmSession } from './session.js';
import { checkEncoding, fitContext, joinEncodings } from './encoding.js';
import type { PrmEncodeOptions, PrmEncoding } from './encoding.js';
import { checkMaxContext, encodeChains } from '../tokenize/encode.js';
import type { EncodedBatch, Overflow } from '../tokenize/encode.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';

export type { PrmConnectOptions, PrmLoadOptions } from './options.js';
export type { PrmScore, ScoreCallOptions as PrmScoreOptions } from './results.js';
export type { HeadSource } from './head.js';
export type { EncodedRow, PrmEncodeOptions, PrmEncoding } from './encoding.js';
export { joinEncodings, pickRows } from './encoding.js';
export { PrmSession } from './session.js';
export type { SessionScore } from './session.js';

/** Items tokenized per event-loop turn in `score`. */
const ENCODE_SLICE = 32;

export interface RerankOptions {
  aggregate?: Aggregation;
  /** Keep the best N (default: all). */
  topN?: number;
  errorThreshold?: number;
  signal?: AbortSignal;
}

export interface RankedCandidate {
  /** Index into `candidates`. */
  index: number;
  score: number;
  stepProbs: number[];
}


/** What the backbone is, for diagnostics and metrics. */
export interface PrmBackendInfo {
  kind: 'onnx' | 'vllm';
  /** onnx: the execution provider picked ('cpu' | 'cuda') and why. */
  provider?: string;
  providerNote?: string;
  output?: string;
  workers?: number;
  /** The model has a KV cache (prm.session works). */
  kvCache: boolean;
  url?: string;
}

function checkOverflow(v: unknown): Overflow {
  if (v === undefined) return 'error';
  if (v !== 'error' && v !== 'truncate') throw new RangeError(`overflow must be 'error' or 'truncate', got '${String(v)}'`);
  return v;
}

function checkItems(items: unknown, what = 'items'): asserts items is readonly ChainItem[] {
  if (!Array.isArray(items)) throw new TypeError(`${what} must be an array of { problem, steps }`);
}

export class Prm implements StepScorer {
  readonly name: string;
  readonly format: PrmFormat;
  readonly tokenizer: PrmTokenizer;
  readonly maxContext?: number;
  readonly overflow: Overflow;
  readonly defaultAggregate: Aggregation;
  readonly backend: PrmBackendInfo;
  /** @internal the kernel head (onnx only) */
  readonly head?: Head;
  /** @internal */
  readonly onnx?: OnnxSteps;
  private readonly source: StepSource;
  private readonly closer: () => Promise<void>;
  private closed = false;

  private constructor(init: {
    name: string; format: PrmFormat; tokenizer: PrmTokenizer; maxContext?: number; overflow: Overflow; aggregate: Aggregation;
    backend: PrmBackendInfo; source: StepSource; close: () => Promise<void>; head?: Head; onnx?: OnnxSteps;
  }) {
    this.name = init.name;
    this.format = init.format;
    this.tokenizer = init.tokenizer;
    this.maxContext = init.maxContext;
    this.overflow = init.overflow;
    this.defaultAggregate = init.aggregate;
    this.backend = init.backend;
    this.source = init.source;
    this.closer = init.close;
    this.head = init.head;
    this.onnx = init.onnx;
  }

  private static common(o: PrmLoadOptions | PrmConnectOptions) {
    checkCommon(o);
    const format = resolveFormat(o.format);
    const tokenizer = PrmTokenizer.load(o.tokenizer, { addedTokens: o.addedTokens });
    const maxContext = checkMaxContext(o.maxContext) ?? tokenizer.modelMaxLength;
    const overflow = checkOverflow(o.overflow);
    const aggregate = checkScoreCall({ aggregate: o.aggregate }, format.aggregation).how;
    return { format, tokenizer, maxContext, overflow, aggregate };
  }

  /** Opens an ONNX PRM: worker threads with onnxruntime sessions, head resolved from the format. */
  static async load(options: PrmLoadOptions): Promise<Prm> {
    const c = Prm.common(options);
    if (typeof options.model !== 'string' || options.model.length === 0) throw new TypeError('options.model must be a path to an .onnx file');
    const headSource = checkHeadSource(options.head);
    if (options.output !== undefined && options.output !== 'logits' && options.output !== 'last_hidden_state')
      throw new RangeError(`options.output must be 'logits' or 'last_hidden_state', got '${String(options.output)}'`);
    if (options.padId !== undefined && (!Number.isInteger(options.padId) || options.padId < 0)) throw new RangeError(`options.padId must be a non-negative integer, got ${String(options.padId)}`);
    const padding = options.padding ?? 'right';
    if (padding !== 'left' && padding !== 'right') throw new RangeError(`options.padding must be 'left' or 'right', got '${String(padding)}'`);
    // budgets are checked now, not at the first score call
    planChunks([1], { bytesPerToken: 4, maxOutputBytes: options.maxOutputBytes, maxBatchTokens: options.maxBatchTokens, maxBatch: options.maxBatch, maxPadFraction: options.maxPadFraction });
    const backbone = await OnnxBackbone.load(options.model, { workers: options.workers, threads: options.threads, executionProvider: options.executionProvider });
    try {
      const outs = backbone.info.outputNames;
      const output = options.output ?? (outs.includes('logits') ? 'logits' : outs.includes('last_hidden_state') ? 'last_hidden_state' : undefined);
      if (!output || !outs.includes(output))
        throw new RangeError(`the model has no ${options.output ?? "'logits' or 'last_hidden_state'"} output (it has ${outs.join(', ')})`);
      // one token through the model tells the output width (hidden size, vocabulary or classes)
      const probe = await backbone.forward({
        B: 1, T: 1, P: 0, ids: new Int32Array(1), mask: new Int32Array(1).fill(1), positions: new Int32Array(1), output,
      });
      const width = probe.dims[2];
      const head = resolveHead({ format: c.format.head, tokenizer: c.tokenizer, output, width, source: headSource, modelPath: options.model });
      const pad = c.tokenizer.config.pad_token;
      const padText = typeof pad === 'string' ? pad : (pad as { content?: string } | null)?.content;
      const padId = options.padId ?? (padText !== undefined ? c.tokenizer.tokenToId(padText) : undefined) ?? 0;
      const steps = new OnnxSteps(backbone, head, output, width, {
        maxOutputBytes: options.maxOutputBytes, maxBatchTokens: options.maxBatchTokens, maxBatch: options.maxBatch, maxPadFraction: options.maxPadFraction, padding, padId,
      });
      return new Prm({
        ...c,
        name: options.name ?? `${c.format.name}:${basename(options.model)}`,
        backend: {
          kind: 'onnx', provider: backbone.info.provider, providerNote: backbone.info.providerNote, output, workers: backbone.workers,
          kvCache: backbone.info.layers > 0 && backbone.info.kvHeads !== undefined,
        },
        source: steps,
        close: () => backbone.close(),
        head,
        onnx: steps,
      });
    } catch (e) {
      await backbone.close();
      throw e;
    }
  }

  /** Uses a remote vLLM PRM (`POST /pooling`, task token_classify) as the backbone; tokenization stays local. */
  static async connect(options: PrmConnectOptions): Promise<Prm> {
    const c = Prm.common(options);
    const client = new VllmPoolingClient(options.vllm);
    const steps = new VllmSteps(client, c.format.head.positive);
    return new Prm({
      ...c,
      name: options.name ?? `${c.format.name}:vllm:${client.model ?? client.url}`,
      backend: { kind: 'vllm', url: client.url, kvCache: false },
      source: steps,
      close: async () => {},
    });
  }

  private live(): void {
    if (this.closed) throw new Error(`${this.name} is closed`);
  }

  /**
   * Tokens + boundaries for items, with this model's format and tokenizer, and its context
   * limit unless `deferContext`. `scoreEncoded` scores the result without tokenizing again.
   */
  encode(items: readonly ChainItem[], options: PrmEncodeOptions = {}): PrmEncoding {
    checkItems(items);
    if (options === null || typeof options !== 'object') throw new TypeError('encode options must be an object');
    const defer = options.deferContext ?? false;
    if (typeof defer !== 'boolean') throw new TypeError(`deferContext must be a boolean, got ${String(defer)}`);
    const enc = encodeChains(items, {
      format: this.format,
      tokenizer: this.tokenizer,
      maxContext: defer ? undefined : this.maxContext,
      overflow: this.overflow,
    });
    return { ...enc, ids: items.map((it) => it.id) };
  }

  /**
   * `encode` in slices with an event-loop turn between them: tokenizing a large batch takes
   * long enough to stall a server otherwise. Items are checked before any tokenizing.
   */
  private async encodeYielding(items: readonly ChainItem[]): Promise<PrmEncoding> {
    if (items.length <= ENCODE_SLICE) return this.encode(items);
    items.forEach((it, i) => checkItemShape(it, i));
    const parts: PrmEncoding[] = [];
    for (let s = 0; s < items.length; s += ENCODE_SLICE) {
      if (s > 0) await new Promise((r) => setImmediate(r));
      try {
        parts.push(this.encode(items.slice(s, s + ENCODE_SLICE)));
      } catch (e) {
        // name the item by its index in the whole batch
        const k = isInputError(e) ? e.itemIndex : undefined;
        throw k === undefined ? e : reroot(e as InputError, `items[${k}]`, `items[${k + s}]`);
      }
    }
    return joinEncodings(parts, this.format);
  }

  /** Scores every step of every chain; results in the order of `items`. */
  async score(items: readonly ChainItem[], options?: ScoreCallOptions): Promise<PrmScore[]> {
    this.live();
    checkItems(items);
    const o = checkScoreCall(options, this.defaultAggregate);
    return this.scoreFitted(await this.encodeYielding(items), o);
  }

  /**
   * Scores chains already encoded (by `encode`, with or without `deferContext`, or by
   * `encodeChains` with this model's format and tokenizer): the same checks and the same
   * results as `score` on the items, without tokenizing them again. Chains longer than
   * maxContext get the model's overflow policy here.
   */
  async scoreEncoded(encoded: PrmEncoding | EncodedBatch, options?: ScoreCallOptions): Promise<PrmScore[]> {
    this.live();
    checkEncoding(encoded, this.format);
    const o = checkScoreCall(options, this.defaultAggregate);
    const enc: PrmEncoding = { ...encoded, ids: encoded.ids ?? encoded.inputIds.map(() => undefined) };
    return this.scoreFitted(fitContext(enc, this.maxContext, this.overflow), o);
  }

  private async scoreFitted(enc: PrmEncoding, o: ReturnType<typeof checkScoreCall>): Promise<PrmScore[]> {
    const lp = await this.source.stepLogProbs(enc.inputIds, enc.boundaries, o.signal);
    return buildScores(lp, enc.boundaries.offsets, o.how, o.threshold, enc.inputIds.map((r) => r.length), enc.truncated, enc.ids);
  }

  /** Candidates (step lists) for one problem, best first; NaN scores (empty chains) last. */
  async rerank(problem: string, candidates: readonly (readonly string[])[], options: RerankOptions = {}): Promise<RankedCandidate[]> {
    if (typeof problem !== 'string') throw new TypeError('problem must be a string');
    if (!Array.isArray(candidates)) throw new TypeError('candidates must be an array of step arrays');
    if (options === null || typeof options !== 'object') throw new TypeError('rerank options must be an object');
    const topN = options.topN ?? candidates.length;
    if (!Number.isInteger(topN) || topN < 0) throw new RangeError(`topN must be a non-negative integer, got ${String(options.topN)}`);
    candidates.forEach((c, i) => {
      if (!Array.isArray(c)) throw new TypeError(`candidates[${i}] must be an array of step strings`);
    });
    const scores = await this.score(candidates.map((steps) => ({ problem, steps })), options);
    const order = rankGroups(Float32Array.from(scores, (s) => s.score), Int32Array.of(0, scores.length));
    return Array.from(order.subarray(0, Math.min(topN, order.length)), (i) => ({ index: i, score: scores[i].score, stepProbs: scores[i].stepProbs }));
  }

  /**
   * vLLM's token_classify: per input (text, tokenized with the tokenizer's special tokens, or
   * token ids), the ids and every token's class probabilities [T][K].
   */
  async classifyTokens(inputs: ReadonlyArray<string | readonly number[]>, options: { signal?: AbortSignal } = {}): Promise<Array<{ tokens: number[]; probs: number[][] }>> {
    this.live();
    if (!Array.isArray(inputs)) throw new TypeError('inputs must be an array of strings or token-id arrays');
    const rows = inputs.map((x, i) => {
      let ids: number[];
      if (typeof x === 'string') ids = this.tokenizer.encode(x, true);
      else if (Array.isArray(x)) {
        for (const t of x) if (!Number.isInteger(t) || t < 0) throw new RangeError(`inputs[${i}] must hold non-negative integer token ids`);
        ids = [...x];
      } else throw new TypeError(`inputs[${i}] must be a string or an array of token ids`);
      if (ids.length === 0) throw new RangeError(`inputs[${i}] is empty`);
      if (this.maxContext !== undefined && ids.length > this.maxContext)
        throw new RangeError(`inputs[${i}] is ${ids.length} tokens, over maxContext ${this.maxContext}`);
      return ids;
    });
    const probs = await this.source.classify(rows.map((r) => Int32Array.from(r)), options.signal);
    return rows.map((tokens, i) => ({ tokens, probs: probs[i] }));
  }

  /** Backbone tokens per item, as encoded (for limits and metrics). */
  countTokens(items: readonly ChainItem[]): number[] {
    return this.encode(items, { deferContext: true }).inputIds.map((r) => r.length);
  }

  /**
   * A prefix cache for incremental scoring (needs a model with past_key_values, e.g.
   * createTinyModel({ kvCache: true })): the chain's tokens go through the backbone once;
   * `session.score(continuations)` then runs only the tokens of the appended steps, and
   * `{ keep: true }` returns a session per continuation to go deeper (beam/tree search).
   */
  async session(item: ChainItem, options: { signal?: AbortSignal } = {}): Promise<PrmSession> {
    this.live();
    if (!this.onnx || !this.backend.kvCache)
      throw new Error(`${this.name}: incremental scoring needs an ONNX model with past_key_values inputs and present outputs`);
    return PrmSession.open(this, this.onnx, item, options.signal);
  }

  /** Terminates the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closer();
  }
}
