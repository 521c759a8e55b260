// Prm: score text with a real process reward model. Text → format → tokens + boundaries →
// backbone (onnxruntime on worker threads, or a remote vLLM /pooling) → native kernels.
import { basename, join } from 'node:path';
import { manifestHead, readManifest } from '../model/manifest.js';
import type { Manifest } from '../model/manifest.js';
import { OnnxBackbone } from '../backbones/onnx/backbone.js';
import { planChunks } from '../batch/index.js';
import { VllmPoolingClient } from '../backbones/vllm/client.js';
import { VllmSteps } from '../backbones/vllm/steps.js';
import { checkItemShape } from '../formats/errors.js';
import { isInputError, PrmInputError, PrmInputTypeError, reroot } from '../errors.js';
import { aggregation, invalidType, show } from '../is.js';
import type { InputError } from '../errors.js';
import { resolveFormat } from '../formats/index.js';
import type { PrmFormat } from '../formats/types.js';
import type { ChainItem, StepScorer } from '../interfaces.js';
import { rankGroups } from '../kernels/index.js';
import { warnIfJsBackend } from '../kernels/backend.js';
import type { Aggregation, Head } from '../kernels/types.js';
import { checkHeadSource, resolveHead } from './head.js';
import { OnnxSteps } from '../backbones/onnx/steps.js';
import type { StepSource } from '../backbones/step-source.js';
import { checkCommon, checkConnectOptions, checkLoadOptions } from './options.js';
import type { PrmConnectOptions, PrmLoadOptions } from './options.js';
import { buildScores, checkRerankCall, checkScoreCall } from './results.js';
import type { PrmScore, ScoreCallOptions } from './results.js';
import { PrmSession } from './session.js';
import { checkEncodeOptions, checkEncoding, fitContext, joinEncodings } from './encoding.js';
import type { PrmEncodeOptions, PrmEncoding } from './encoding.js';
import { checkMaxContext, checkOverflow, encodeChains, overContext } from '../tokenize/encode.js';
import type { EncodedBatch, Overflow } from '../tokenize/encode.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';
import { denseRewards } from '../rewards/dense.js';
import type { DenseReward, DenseRewardItem, DenseRewardOptions } from '../rewards/dense.js';

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

function checkItems(items: unknown, what = 'items'): asserts items is readonly ChainItem[] {
  if (!Array.isArray(items)) throw invalidType(what, 'an array of { problem, steps }', items);
}

/**
 * A converted model on the cpu runs one chain per call: padding is pure waste there and a
 * chain of a few hundred tokens already fills the matrix kernels (measured by bench:convert).
 */
function defaultMaxBatch(converted: Manifest | undefined, provider: string): number | undefined {
  return converted && provider === 'cpu' ? 1 : undefined;
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
    const maxContext = checkMaxContext(o.maxContext, 'options.maxContext') ?? tokenizer.modelMaxLength;
    const overflow = checkOverflow(o.overflow, 'options.overflow');
    const aggregate = o.aggregate === undefined ? format.aggregation : aggregation(o.aggregate, 'options.aggregate');
    return { format, tokenizer, maxContext, overflow, aggregate };
  }

  /** Opens an ONNX PRM: worker threads with onnxruntime sessions, head resolved from the format. */
  static async load(options: PrmLoadOptions): Promise<Prm> {
    checkLoadOptions(options);
    warnIfJsBackend();
    const converted = readManifest(options.model);
    const modelPath = converted ? join(options.model, converted.model) : options.model;
    const c = Prm.common(converted ? { ...options, tokenizer: options.tokenizer ?? options.model, format: options.format ?? converted.format, maxContext: options.maxContext ?? converted.contextLength } : options);
    const headSource = checkHeadSource(options.head);
    const padding = options.padding ?? 'right';
    if (converted?.attention === 'gqa' && padding !== 'right')
      throw new RangeError(`options.padding: ${options.model} was converted with fused attention, which reads right-padded rows; drop padding: 'left' or convert with attention 'plain'`);
    const backbone = await OnnxBackbone.load(modelPath, { workers: options.workers, threads: options.threads, executionProvider: options.executionProvider });
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
      const head = converted ? manifestHead(converted, c.format) : resolveHead({ format: c.format.head, tokenizer: c.tokenizer, output, width, source: headSource, modelPath });
      const pad = c.tokenizer.config.pad_token;
      const padText = typeof pad === 'string' ? pad : (pad as { content?: string } | null)?.content;
      const padId = options.padId ?? (padText !== undefined ? c.tokenizer.tokenToId(padText) : undefined) ?? 0;
      const steps = new OnnxSteps(backbone, head, output, width, {
        maxOutputBytes: options.maxOutputBytes, maxBatchTokens: options.maxBatchTokens, maxBatch: options.maxBatch ?? defaultMaxBatch(converted, backbone.info.provider), maxPadFraction: options.maxPadFraction, padding, padId,
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
    checkConnectOptions(options);
    const c = Prm.common(options);
    const client = new VllmPoolingClient(options.vllm);
    const head = c.format.head;
    const classes = head.labels?.length ?? (head.activation === 'sigmoid' ? 1 : head.outputs);
    const steps = new VllmSteps(client, head.positive, classes);
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
    const defer = checkEncodeOptions(options).deferContext;
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
    if (typeof problem !== 'string') throw new PrmInputTypeError('problem', `must be a string, got ${show(problem)}`);
    if (!Array.isArray(candidates)) throw new PrmInputTypeError('candidates', `must be an array of step arrays, got ${show(candidates)}`);
    const { topN, how, threshold, signal } = checkRerankCall(options, this.defaultAggregate, candidates.length);
    candidates.forEach((c, i) => {
      if (!Array.isArray(c)) throw new PrmInputTypeError(`candidates[${i}]`, `must be an array of step strings, got ${show(c)}`);
    });
    let scores: PrmScore[];
    try {
      scores = await this.score(candidates.map((steps) => ({ problem, steps })), { aggregate: how, errorThreshold: threshold, signal });
    } catch (e) {
      // a candidate is the caller's `candidates[i]`; the problem is theirs once, not per item
      if (!isInputError(e) || e.itemIndex === undefined) throw e;
      const k = e.itemIndex;
      throw e.path.startsWith(`items[${k}].problem`) ? reroot(e, `items[${k}].problem`, 'problem') : reroot(e, `items[${k}].steps`, `candidates[${k}]`);
    }
    const order = rankGroups({ scores: Float32Array.from(scores, (s) => s.score), groupOffsets: Int32Array.of(0, scores.length) });
    return Array.from(order.subarray(0, Math.min(topN, order.length)), (i) => ({ index: i, score: scores[i].score, stepProbs: scores[i].stepProbs }));
  }

  /**
   * Dense rewards for RL: each response's steps (split from its text, or given) scored, and
   * their rewards placed on the policy's tokens (from `options.policyTokenizer` or the item's
   * `tokenOffsets`). See lib/rewards.
   */
  denseRewards(items: readonly DenseRewardItem[], options?: DenseRewardOptions): Promise<DenseReward[]> {
    return denseRewards(this, items, options);
  }

  /**
   * vLLM's token_classify: per input (text, tokenized with the tokenizer's special tokens, or
   * token ids), the ids and every token's class probabilities [T][K].
   */
  async classifyTokens(inputs: ReadonlyArray<string | readonly number[]>, options: { signal?: AbortSignal; activation?: boolean } = {}): Promise<Array<{ tokens: number[]; probs: number[][] }>> {
    this.live();
    if (!Array.isArray(inputs)) throw new TypeError('inputs must be an array of strings or token-id arrays');
    const rows = inputs.map((x, i) => {
      let ids: number[];
      if (typeof x === 'string') ids = this.tokenizer.encode(x, true);
      else if (Array.isArray(x)) {
        x.forEach((t, k) => {
          if (!Number.isInteger(t) || t < 0) throw new PrmInputError(`inputs[${i}]`, `must hold non-negative integer token ids; [${k}] is ${show(t)}`);
        });
        ids = [...x];
      } else throw new PrmInputTypeError(`inputs[${i}]`, `must be a string or an array of token ids, got ${show(x)}`);
      if (ids.length === 0) throw new PrmInputError(`inputs[${i}]`, 'is empty');
      if (this.maxContext !== undefined && ids.length > this.maxContext) throw overContext(`inputs[${i}]`, ids.length, this.maxContext);
      return ids;
    });
    const probs = await this.source.classify(rows.map((r) => Int32Array.from(r)), options.signal, { activation: options.activation ?? true });
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
    return PrmSession.open(this, this.onnx, item, options);
  }

  /** Terminates the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.closer();
  }
}
