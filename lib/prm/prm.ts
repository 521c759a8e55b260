// Prm: score text with a real process reward model. Text → format → tokens + boundaries →
// backbone (onnxruntime on worker threads, or a remote vLLM /pooling) → native kernels.
import { basename } from 'node:path';
import type { BackendInfo, SourceStats, StepSource } from '../backbones/step-source.js';
import { OnnxSource, padIdOf } from '../backbones/onnx/source.js';
import { ImplicitSource } from '../backbones/implicit/source.js';
import { checkHeadSource } from '../backbones/onnx/head.js';
import { trainedHeadOf } from '../backbones/onnx/applied-head.js';
import { VllmSource } from '../backbones/vllm/source.js';
import { checkItemShape } from '../formats/errors.js';
import { isInputError, PrmInputTypeError, reroot } from '../errors.js';
import { aggregation, invalidType, knownKeys, object, show, signal as abortSignal } from '../is.js';
import type { InputError } from '../errors.js';
import { resolveFormat } from '../formats/index.js';
import type { FormatSpec, PrmFormat } from '../formats/types.js';
import type { ChainItem, ChainRanker, StepScorer } from '../interfaces.js';
import { rankGroups } from '../kernels/index.js';
import { warnIfJsBackend } from '../kernels/backend.js';
import type { Aggregation } from '../kernels/types.js';
import { manifestFormat, manifestKind, modelFiles } from '../model/manifest.js';
import { headFormatSpec } from '../model/heads.js';
import { DEMO_NAMES, requireDemoModel } from '../model/demo.js';
import { checkCommon, checkConnectOptions, checkLoadOptions, tokenizerOptions, workerOptions } from './options.js';
import type { PrmConnectOptions, PrmDemoOptions, PrmLoadOptions } from './options.js';
import { buildScores, buildStepLogs, checkPrefixCache, checkRerankCall, checkScoreCall, checkShare } from './results.js';
import type { PrmScore, PrmStepLogs, RerankOptions, ScoreCall, ScoreCallOptions, StepLogsOptions } from './results.js';
import { buildRewardScores, checkRewardCall, rewardAggregation } from './rewards.js';
import type { RewardCall, RewardDefaults } from './rewards.js';
import { implicitOptions } from './options.js';
import { PrefixCache } from './prefix-cache.js';
import type { PrefixCacheOptions } from './prefix-cache.js';
import { PrmSession } from './session.js';
import { sharedStepLogProbs } from './shared-prefix.js';
import type { SessionModel } from './session.js';
import { checkClassifyCall, checkEncodeOptions, checkEncoding, joinEncodings } from './encoding.js';
import type { ClassifyOptions, PrmEncodeOptions, PrmEncoding } from './encoding.js';
import { checkMaxContext, checkOverflow, encodeChains, fitContext } from '../formats/encode.js';
import type { EncodedBatch, Overflow } from '../formats/encode.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';
import { denseRewards } from '../rewards/dense.js';
import type { DenseReward, DenseRewardItem, DenseRewardOptions } from '../rewards/dense.js';

export type { ChunkingOptions, ImplicitLoadOptions, PrmConnectOptions, PrmDemoOptions, PrmLoadOptions, TokenizerOptions, WorkerOptions } from './options.js';
export type { RewardAggregation, RewardKind } from './rewards.js';
export type { PrmScore, PrmStepLogs, RerankOptions, ScoreCallOptions as PrmScoreOptions, StepLogsOptions } from './results.js';
export type { HeadSource } from '../backbones/onnx/head.js';
export type { BackendInfo as PrmBackendInfo } from '../backbones/step-source.js';
export type { ClassifyOptions, EncodedRow, PrmEncodeOptions, PrmEncoding } from './encoding.js';
export { joinEncodings, pickRows } from './encoding.js';
export { PrmSession } from './session.js';
export { PrefixCache } from './prefix-cache.js';
export type { PrefixCacheOptions, PrefixCacheStats } from './prefix-cache.js';
export type { SessionScore } from './session.js';

/** How scoring calls shared prefixes (`prm.stats.prefixes`). */
export interface PrefixSharingStats {
  /** Scoring calls that ran shared prefixes once or continued a prefix cache. */
  sharedCalls: number;
  /** Scoring calls that ran each chain alone (nothing worth sharing, sharing off, or no KV cache). */
  plainCalls: number;
  /** In the shared calls: tokens of the chains, and the tokens the backbone ran for them. */
  chainTokens: number;
  tokensRun: number;
  /** Why this model scores every chain alone (absent where it can share prefixes). */
  unavailable?: string;
}

/** Tokens and calls through the backbone, and how scoring calls shared prefixes. */
export interface PrmStats extends SourceStats {
  prefixes: PrefixSharingStats;
}

/** Items tokenized per event-loop turn in `score`. */
const ENCODE_SLICE = 32;

export interface RankedCandidate {
  /** Index into `candidates`. */
  index: number;
  score: number;
  stepProbs: number[];
  /** An implicit PRM's step rewards (its stepProbs are empty). */
  stepRewards?: number[];
}

function checkItems(items: unknown, what = 'items'): asserts items is readonly ChainItem[] {
  if (!Array.isArray(items)) throw invalidType(what, 'an array of { problem, steps }', items);
}

/** What every Prm resolves from its options, whatever its backbone. */
interface Common {
  format: PrmFormat;
  tokenizer: PrmTokenizer;
  maxContext?: number;
  overflow: Overflow;
  aggregate: Aggregation;
  /** An implicit PRM's reward settings. */
  rewards?: RewardDefaults;
}

export class Prm implements StepScorer, ChainRanker {
  readonly kind = 'prm' as const;
  /** Chain scores are aggregates of step probabilities: probabilities. */
  readonly chainScale = 'probability' as const;
  readonly name: string;
  readonly format: PrmFormat;
  readonly tokenizer: PrmTokenizer;
  readonly maxContext?: number;
  readonly overflow: Overflow;
  readonly defaultAggregate: Aggregation;
  /**
   * An implicit PRM's reward settings (beta, cumulative or per-step rewards): its scores carry
   * `stepRewards` and no probabilities. Undefined for every other PRM.
   */
  readonly implicit?: Readonly<RewardDefaults>;
  private readonly source: StepSource;
  private sessionModel?: SessionModel;
  private closed = false;
  private readonly sharing = { sharedCalls: 0, plainCalls: 0, chainTokens: 0, tokensRun: 0 };

  private constructor(name: string, c: Common, source: StepSource) {
    this.name = name;
    this.format = c.format;
    this.tokenizer = c.tokenizer;
    this.maxContext = c.maxContext;
    this.overflow = c.overflow;
    this.defaultAggregate = c.aggregate;
    if (c.rewards) this.implicit = Object.freeze({ ...c.rewards });
    this.source = source;
  }

  /** The options every Prm takes, checked (for load: once a converted folder filled in its defaults). */
  private static common(o: unknown): Common {
    checkCommon(o);
    const format = resolveFormat(o.format);
    const t = tokenizerOptions(o.tokenizer);
    const tokenizer = PrmTokenizer.load(t.path!, { addedTokens: t.addedTokens });
    const maxContext = checkMaxContext(o.maxContext, 'options.maxContext') ?? tokenizer.modelMaxLength;
    const overflow = checkOverflow(o.overflow, 'options.overflow');
    const aggregate = o.aggregate === undefined ? format.aggregation : aggregation(o.aggregate, 'options.aggregate');
    return { format, tokenizer, maxContext, overflow, aggregate };
  }

  /**
   * Opens an ONNX PRM (an .onnx decoder, or a folder from `prmkit convert`, whose manifest
   * fills in the tokenizer, format and context): the backbone opens itself on worker threads
   * and resolves its head from the format.
   */
  static async load(options: PrmLoadOptions): Promise<Prm> {
    checkLoadOptions(options);
    warnIfJsBackend();
    const model = modelFiles(options.model);
    const m = model.manifest;
    // a head trained into the folder (by name, or the active one) replaces the converted head
    const trained = options.head === undefined ? trainedHeadOf(model, options.headName) : undefined;
    if (trained?.entry.kind === 'orm')
      throw new TypeError(`model: head ${JSON.stringify(trained.name)} of ${options.model} is an outcome head (one score per solution, no step scores); open it with Orm.load, or pass headName`);
    if (!trained && m && manifestKind(m) === 'orm')
      throw new TypeError(`model: ${options.model} is an outcome reward model (format ${m.format}: one score per solution, no step scores); open it with Orm.load`);
    const t = tokenizerOptions(options.tokenizer);
    const c = Prm.common({
      ...options,
      tokenizer: { ...t, path: t.path ?? (m ? options.model : undefined) },
      format: options.format ?? (trained ? (headFormatSpec(trained.entry) as FormatSpec) : m ? manifestFormat(m) : undefined),
      maxContext: options.maxContext ?? m?.contextLength,
    });
    if (c.format.implicit || m?.implicit) return Prm.loadImplicit(options, model, c);
    const source = await OnnxSource.open({
      model, format: c.format, tokenizer: c.tokenizer, head: checkHeadSource(options.head), output: options.output,
      workers: workerOptions(options.workers), chunking: options.chunking, snapshot: options.snapshot, ...(trained ? { trained: trained.applied } : {}),
    });
    return new Prm(options.name ?? `${c.format.name}:${basename(options.model)}${trained ? `:${trained.name}` : ''}`, c, source);
  }

  /**
   * The arithmetic demo PRM that ships in the package (a 1.2M-parameter PRM trained on the
   * problems of prmkit/testing/arithmetic, trl format, steps separated by newlines): something
   * real to score before a large PRM is converted. It knows arithmetic chains like
   * "12 * 3 = 36" and nothing else. Takes Prm.load's options except those naming the model.
   */
  static async demo(options: PrmDemoOptions = {}): Promise<Prm> {
    const o = object(options, 'options');
    for (const k of ['model', 'tokenizer', 'format', 'head', 'headName', 'output', 'implicit'])
      if (o[k] !== undefined) throw new TypeError(`options.${k} is not an option of Prm.demo (the demo names its own model); use Prm.load for another model`);
    return Prm.load({ name: DEMO_NAMES.prm, ...options, model: requireDemoModel('prm') });
  }

  /** Two causal LMs of a folder converted with --reference, read by ImplicitSource. */
  private static async loadImplicit(options: PrmLoadOptions, model: ReturnType<typeof modelFiles>, c: Common): Promise<Prm> {
    const m = model.manifest;
    if (!m?.implicit)
      throw new TypeError(`format ${c.format.name} is an implicit PRM's (two causal LMs, a policy and its reference): load a folder converted with \`prmkit convert PRM_DIR OUT_DIR --reference REF_DIR\``);
    if (!c.format.implicit) throw new RangeError(`${options.model} is an implicit PRM (two causal LMs); format ${c.format.name} reads one model's head: leave format out`);
    if (options.head !== undefined || options.output !== undefined) throw new TypeError(`options.head and options.output do not apply to an implicit PRM (${options.model})`);
    const im = implicitOptions(options.implicit);
    rewardAggregation(c.aggregate, 'options.aggregate');
    const source = await ImplicitSource.open({
      model: { ...model, manifest: { ...m, implicit: m.implicit } }, workers: workerOptions(options.workers), chunking: options.chunking, snapshot: options.snapshot,
      concurrency: im.concurrency, padId: padIdOf(c.tokenizer),
    });
    const rewards: RewardDefaults = { beta: im.beta ?? m.implicit.beta, rewards: im.rewards ?? 'cumulative' };
    return new Prm(options.name ?? `${c.format.name}:${basename(options.model)}`, { ...c, rewards }, source);
  }

  /** Uses a remote vLLM PRM (`POST /pooling`, task token_classify) as the backbone; tokenization stays local. */
  static async connect(options: PrmConnectOptions): Promise<Prm> {
    checkConnectOptions(options);
    const c = Prm.common(options);
    const source = VllmSource.connect(options.vllm, c.format.head);
    const model = source.client.model ?? source.client.url;
    return new Prm(options.name ?? `${c.format.name}:vllm:${model}`, c, source);
  }

  /** What the backbone is (kind, provider, workers, KV cache, ...), for diagnostics and metrics. */
  get backend(): BackendInfo {
    return this.source.info;
  }

  /** Tokens and calls through the backbone since the model opened, and how prefixes were shared (a snapshot). */
  get stats(): PrmStats {
    const unavailable = this.source.cache ? undefined : this.implicit ? 'an implicit PRM runs two models per chain without a KV cache' : `the ${this.source.info.kind} backbone keeps no keys/values (an ONNX model converted with --kv-cache shares prefixes)`;
    return { ...this.source.stats(), prefixes: { ...this.sharing, ...(unavailable ? { unavailable } : {}) } };
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
    const o = this.checkCall(options);
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
    const o = this.checkCall(options);
    const enc: PrmEncoding = { ...encoded, ids: encoded.ids ?? encoded.inputIds.map(() => undefined) };
    return this.scoreFitted(fitContext(enc, this.maxContext, this.overflow), o);
  }

  /**
   * `scoreEncoded` without the reduction: each chain's step log-probabilities (an implicit
   * PRM: its unscaled per-step log-ratios) as the backbone gave them, with no probabilities,
   * default aggregate or first error computed. For a caller that reduces per request itself
   * (the service, whose requests in one batch ask for different aggregates and thresholds).
   */
  async stepLogsEncoded(encoded: PrmEncoding | EncodedBatch, options?: StepLogsOptions): Promise<PrmStepLogs[]> {
    this.live();
    checkEncoding(encoded, this.format);
    if (options !== undefined) knownKeys(object(options, 'options'), ['signal', 'sharePrefixes', 'prefixCache'], 'options');
    const signal = abortSignal(options?.signal, 'options.signal');
    const share = checkShare(options?.sharePrefixes);
    const prefixCache = checkPrefixCache(options?.prefixCache);
    if (this.implicit && prefixCache) throw new TypeError('options.prefixCache: an implicit PRM keeps no keys/values');
    const enc = fitContext({ ...encoded, ids: encoded.ids ?? encoded.inputIds.map(() => undefined) }, this.maxContext, this.overflow);
    const tokens = enc.inputIds.map((r) => r.length);
    if (this.implicit) {
      const ratios = await this.source.stepLogRatios!(enc.inputIds, enc.boundaries, enc.starts!, signal);
      return buildStepLogs(ratios, 'logRatios', enc.boundaries.offsets, tokens, enc.truncated, enc.ids);
    }
    const lp = await this.stepLogProbs(enc, { share, signal, ...(prefixCache ? { prefixCache } : {}) });
    return buildStepLogs(lp, 'logProbs', enc.boundaries.offsets, tokens, enc.truncated, enc.ids);
  }

  /** A scoring call's options: probabilities' or, for an implicit PRM, rewards'. */
  private checkCall(options: ScoreCallOptions | undefined, extra: readonly string[] = [], name?: string): ScoreCall | RewardCall {
    return this.implicit ? checkRewardCall(options, this.defaultAggregate, this.implicit, extra, name) : checkScoreCall(options, this.defaultAggregate, extra, name);
  }

  private async scoreFitted(enc: PrmEncoding, o: ScoreCall | RewardCall): Promise<PrmScore[]> {
    const tokens = enc.inputIds.map((r) => r.length);
    if ('beta' in o) {
      const ratios = await this.source.stepLogRatios!(enc.inputIds, enc.boundaries, enc.starts!, o.signal);
      return buildRewardScores(ratios, enc.boundaries.offsets, o, tokens, enc.truncated, enc.ids);
    }
    const lp = await this.stepLogProbs(enc, o);
    return buildScores(lp, enc.boundaries.offsets, o.how, o.threshold, tokens, enc.truncated, enc.ids);
  }

  /**
   * Step log-probabilities of an encoding: shared prefixes run once where the model keeps
   * keys/values and sharing pays (or a prefix cache is given), else each chain in one pass.
   */
  private async stepLogProbs(enc: PrmEncoding, o: Pick<ScoreCall, 'share' | 'prefixCache' | 'signal'>): Promise<Float32Array> {
    const cache = this.source.cache;
    if (o.prefixCache && o.prefixCache.forward !== cache) throw new RangeError('prefixCache belongs to another model');
    if (cache && (o.share !== false || o.prefixCache)) {
      const shared = await sharedStepLogProbs(cache, enc.inputIds, enc.boundaries, { minSaved: o.share === false ? Infinity : o.share, cache: o.prefixCache, signal: o.signal });
      if (shared) {
        this.sharing.sharedCalls++;
        this.sharing.chainTokens += shared.chainTokens;
        this.sharing.tokensRun += shared.tokensRun;
        return shared.logProbs;
      }
    }
    this.sharing.plainCalls++;
    return this.source.stepLogProbs(enc.inputIds, enc.boundaries, o.signal);
  }

  /**
   * A prefix cache for this model (needs a KV cache): pass it as `prefixCache` to `score`,
   * `scoreEncoded` or `rerank`, and chains continue the keys/values of chains scored in earlier
   * calls that share their prefix. Bounded by `maxBytes` of keys/values, least recently used out.
   */
  prefixCache(options: PrefixCacheOptions): PrefixCache {
    this.live();
    const cache = this.source.cache;
    if (!cache) throw new Error(`${this.name}: a prefix cache needs an ONNX model with past_key_values inputs and present outputs (prmkit convert --kv-cache)`);
    return new PrefixCache(cache, options);
  }

  /** `ChainRanker`: each chain's aggregate (the model's default) as a probability; NaN for a chain without steps. */
  async chainScores(items: readonly ChainItem[], options?: { signal?: AbortSignal }): Promise<number[]> {
    return (await this.score(items, options?.signal ? { signal: options.signal } : {})).map((s) => s.score);
  }

  /** Candidates (step lists) for one problem, best first; NaN scores (empty chains) last. */
  async rerank(problem: string, candidates: readonly (readonly string[])[], options: RerankOptions = {}): Promise<RankedCandidate[]> {
    if (typeof problem !== 'string') throw new PrmInputTypeError('problem', `must be a string, got ${show(problem)}`);
    if (!Array.isArray(candidates)) throw new PrmInputTypeError('candidates', `must be an array of step arrays, got ${show(candidates)}`);
    let topN: number;
    let scoreOptions: ScoreCallOptions;
    if (this.implicit) {
      const r = checkRewardCall(options, this.defaultAggregate, this.implicit, ['topN'], 'rerank options');
      topN = checkRerankCall({ topN: options.topN }, this.defaultAggregate, candidates.length).topN;
      scoreOptions = { aggregate: r.how, beta: r.beta, rewards: r.rewards, rewardThreshold: r.threshold, signal: r.signal };
    } else {
      const r = checkRerankCall(options, this.defaultAggregate, candidates.length);
      topN = r.topN;
      scoreOptions = { aggregate: r.how, errorThreshold: r.threshold, signal: r.signal, sharePrefixes: r.share === false ? false : { minSaved: r.share }, ...(r.prefixCache ? { prefixCache: r.prefixCache } : {}) };
    }
    candidates.forEach((c, i) => {
      if (!Array.isArray(c)) throw new PrmInputTypeError(`candidates[${i}]`, `must be an array of step strings, got ${show(c)}`);
    });
    let scores: PrmScore[];
    try {
      scores = await this.score(candidates.map((steps) => ({ problem, steps })), scoreOptions);
    } catch (e) {
      // a candidate is the caller's `candidates[i]`; the problem is theirs once, not per item
      if (!isInputError(e) || e.itemIndex === undefined) throw e;
      const k = e.itemIndex;
      throw e.path.startsWith(`items[${k}].problem`) ? reroot(e, `items[${k}].problem`, 'problem') : reroot(e, `items[${k}].steps`, `candidates[${k}]`);
    }
    const order = rankGroups({ scores: Float32Array.from(scores, (s) => s.score), groupOffsets: Int32Array.of(0, scores.length) });
    return Array.from(order.subarray(0, Math.min(topN, order.length)), (i) => ({
      index: i, score: scores[i].score, stepProbs: scores[i].stepProbs, ...(scores[i].stepRewards ? { stepRewards: scores[i].stepRewards } : {}),
    }));
  }

  /**
   * Dense rewards for RL: each response's steps (split from its text, or given) scored, and
   * their rewards placed on the policy's tokens (from `options.policyTokenizer` or the item's
   * `tokenOffsets`). See lib/rewards.
   */
  denseRewards(items: readonly DenseRewardItem[], options?: DenseRewardOptions): Promise<DenseReward[]> {
    if (this.implicit) return Promise.reject(new TypeError(`${this.name} is an implicit PRM: its step rewards are in prm.score(...)[i].stepRewards (rewards: 'step' for per-step ones); dense rewards from step probabilities do not apply`));
    return denseRewards(this, items, options);
  }

  /**
   * vLLM's token_classify: per input (text, tokenized with the tokenizer's special tokens, or
   * token ids), the ids and every token's class probabilities [T][K].
   */
  async classifyTokens(inputs: ReadonlyArray<string | readonly number[]>, options?: ClassifyOptions): Promise<Array<{ tokens: number[]; probs: number[][] }>> {
    this.live();
    const { rows, signal, activation } = checkClassifyCall(inputs, options, this.tokenizer, this.maxContext);
    const probs = await this.source.classify(rows.map((r) => Int32Array.from(r)), signal, { activation });
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
    const cache = this.source.cache;
    if (this.implicit) throw new Error(`${this.name}: incremental scoring (prm.session) of an implicit PRM is not supported yet; score whole chains with prm.score`);
    if (!cache) throw new Error(`${this.name}: incremental scoring needs an ONNX model with past_key_values inputs and present outputs`);
    this.sessionModel ??= {
      encode: (items) => this.encode(items),
      maxContext: this.maxContext,
      defaultAggregate: this.defaultAggregate,
      cache,
    };
    return PrmSession.open(this.sessionModel, item, options);
  }

  /**
   * Releases the backbone (the worker threads end). Calls in flight settle: they finish, or
   * reject with an error saying the model is closed; later calls reject at once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}
