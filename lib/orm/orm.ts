// Orm: score whole solutions with an outcome reward model. (problem, solution) → the family's
// text → tokens → backbone (the same StepSource a Prm holds) → the head's raw value at the
// last token: the reward, and P(solution correct) where the model defines one. An ORM has
// no step scores; what it shares with a Prm is ranking whole chains (`ChainRanker`).
import { basename } from 'node:path';
import type { BackendInfo, SourceStats, StepSource } from '../backbones/step-source.js';
import { OnnxSource } from '../backbones/onnx/source.js';
import { checkHeadSource } from '../backbones/onnx/head.js';
import { trainedHeadOf } from '../backbones/onnx/applied-head.js';
import { isInputError, PrmInputTypeError, reroot } from '../errors.js';
import type { InputError } from '../errors.js';
import { resolveOrmFormat } from '../formats/orm.js';
import type { OrmFormat, OrmFormatSpec } from '../formats/orm.js';
import type { ChainItem, ChainRanker, RankedChain } from '../interfaces.js';
import { invalidType, object, show } from '../is.js';
import { rankGroups } from '../kernels/index.js';
import { warnIfJsBackend } from '../kernels/backend.js';
import { manifestKind, modelFiles } from '../model/manifest.js';
import { DEMO_NAMES, requireDemoModel } from '../model/demo.js';
import { tokenizerOptions, workerOptions } from '../prm/options.js';
import { checkMaxContext, checkOverflow } from '../formats/encode.js';
import type { Overflow } from '../formats/encode.js';
import { PrmTokenizer } from '../tokenize/tokenizer.js';
import { checkOrmItem, encodeOrmItem, encodeOrmItems, overOrmContext } from './encode.js';
import type { OrmEncoding, OrmItem } from './encode.js';
import { checkOrmCall, checkOrmLoadOptions, checkOrmRerank } from './options.js';
import type { OrmCallOptions, OrmDemoOptions, OrmLoadOptions, OrmRerankOptions } from './options.js';

/** Items tokenized per event-loop turn in `score`. */
const ENCODE_SLICE = 32;

/** An ORM's verdict on one solution. */
export interface OrmScore {
  /** The head's raw value at the last token. */
  reward: number;
  /** P(solution correct) = sigmoid(reward), where the model defines one (a sigmoid head); absent for a raw reward model. */
  probability?: number;
  /** Backbone tokens of the input as encoded. */
  tokens: number;
  /** The input was cut at maxContext (overflow 'truncate'): the value is read at the last token kept. */
  truncated: boolean;
  /** The caller's id, when the item had one. */
  id?: string;
}

/** A ranked candidate: its index, the score it was ranked by (probability where defined, else reward), and both. */
export interface RankedSolution extends RankedChain {
  reward: number;
  probability?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export class Orm implements ChainRanker {
  readonly kind = 'orm' as const;
  readonly name: string;
  readonly format: OrmFormat;
  readonly tokenizer: PrmTokenizer;
  readonly maxContext?: number;
  readonly overflow: Overflow;
  private closed = false;

  private constructor(
    name: string,
    format: OrmFormat,
    tokenizer: PrmTokenizer,
    maxContext: number | undefined,
    overflow: Overflow,
    private readonly source: StepSource & Required<Pick<StepSource, 'headValues'>>,
  ) {
    this.name = name;
    this.format = format;
    this.tokenizer = tokenizer;
    this.maxContext = maxContext;
    this.overflow = overflow;
  }

  /**
   * The arithmetic demo ORM that ships in the package, beside `Prm.demo()`'s PRM (the same
   * trunk and tokenizer, trained on the same task's chains to judge the final answer): one
   * score per whole solution, to rank beside the PRM. It knows arithmetic chains and nothing
   * else. Takes Orm.load's options except those naming the model.
   */
  static async demo(options: OrmDemoOptions = {}): Promise<Orm> {
    const o = object(options, 'options');
    for (const k of ['model', 'tokenizer', 'format', 'head', 'headName', 'output'])
      if (o[k] !== undefined) throw new TypeError(`options.${k} is not an option of Orm.demo (the demo names its own model); use Orm.load for another model`);
    return Orm.load({ name: DEMO_NAMES.orm, ...options, model: requireDemoModel('orm') });
  }

  /**
   * Opens an ONNX ORM: a folder from `prmkit convert` of an ORM checkpoint (its manifest names
   * the tokenizer, format and context), or an .onnx decoder with `tokenizer` and `format`.
   */
  static async load(options: OrmLoadOptions): Promise<Orm> {
    checkOrmLoadOptions(options);
    warnIfJsBackend();
    const model = modelFiles(options.model);
    const m = model.manifest;
    // a head trained into the folder (by name, or the active one) replaces the converted head;
    // a 2-class head is read as its one logit
    const trained = options.head === undefined ? trainedHeadOf(model, options.headName, { oneLogit: true }) : undefined;
    if (trained && trained.entry.kind !== 'orm')
      throw new TypeError(`model: head ${JSON.stringify(trained.name)} of ${options.model} is a process head (a score per step); open it with Prm.load, or pass headName`);
    if (!trained && m && manifestKind(m) !== 'orm')
      throw new TypeError(`model: ${options.model} is a process reward model (format ${m.format}: a score per step); open it with Prm.load`);
    const t = tokenizerOptions(options.tokenizer);
    const path = t.path ?? (m ? options.model : undefined);
    if (path === undefined) throw new TypeError('options.tokenizer is required with an .onnx model (a converted folder names its own)');
    const spec = options.format ?? (trained ? (trained.entry.format as OrmFormatSpec) : m?.format);
    if (spec === undefined) throw new TypeError('options.format is required with an .onnx model (a converted folder names its own)');
    const resolved = resolveOrmFormat(spec, 'options.format');
    // a head trained with BCE gives the logit of P(solution correct), whatever the text layout's family
    const format: OrmFormat = trained ? { ...resolved, value: 'logit' } : resolved;
    const tokenizer = PrmTokenizer.load(path, { addedTokens: t.addedTokens });
    const maxContext = checkMaxContext(options.maxContext, 'options.maxContext') ?? m?.contextLength ?? tokenizer.modelMaxLength;
    const overflow = checkOverflow(options.overflow, 'options.overflow');
    // the backbone reads one raw value at a position: a one-output head, no activation applied
    const source = await OnnxSource.open({
      model, format: { name: format.name, head: { activation: 'sigmoid', positive: 0, outputs: 1 } }, tokenizer, head: checkHeadSource(options.head),
      output: options.output, workers: workerOptions(options.workers), chunking: options.chunking, snapshot: options.snapshot, ...(trained ? { trained: trained.applied } : {}),
    });
    if (source.headOutputs !== 1) {
      await source.close();
      throw new RangeError(`model: an outcome reward model's head gives one value per position, this one gives ${source.headOutputs}`);
    }
    return new Orm(options.name ?? `${format.name}:${basename(options.model)}${trained ? `:${trained.name}` : ''}`, format, tokenizer, maxContext, overflow, source);
  }

  /** 'probability' when the model defines P(solution correct) (a sigmoid head), else 'reward'. */
  get chainScale(): 'probability' | 'reward' {
    return this.format.value === 'logit' ? 'probability' : 'reward';
  }

  /** What the backbone is (kind, provider, workers, ...), for diagnostics and metrics. */
  get backend(): BackendInfo {
    return this.source.info;
  }

  /** Tokens and calls through the backbone since the model opened (a snapshot). */
  get stats(): SourceStats {
    return this.source.stats();
  }

  private live(): void {
    if (this.closed) throw new Error(`${this.name} is closed`);
  }

  /** Token ids per item, with this model's format and tokenizer (and its context policy unless `deferContext`). */
  encode(items: readonly (OrmItem | ChainItem)[], options: { deferContext?: boolean } = {}): OrmEncoding {
    if (!Array.isArray(items)) throw invalidType('items', 'an array of { problem, steps } or { problem, solution }', items);
    return encodeOrmItems(items, { format: this.format, tokenizer: this.tokenizer, maxContext: options.deferContext ? undefined : this.maxContext, overflow: this.overflow });
  }

  /** `encode` in slices with an event-loop turn between them; every item is checked first. */
  private async encodeYielding(items: readonly (OrmItem | ChainItem)[]): Promise<OrmEncoding> {
    if (!Array.isArray(items)) throw invalidType('items', 'an array of { problem, steps } or { problem, solution }', items);
    items.forEach((it, i) => checkOrmItem(it, i));
    const o = { format: this.format, tokenizer: this.tokenizer, maxContext: this.maxContext, overflow: this.overflow };
    const out: OrmEncoding = { inputIds: [], truncated: [], ids: [] };
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && i % ENCODE_SLICE === 0) await new Promise((r) => setImmediate(r));
      const row = encodeOrmItem(items[i] as OrmItem, i, o);
      out.inputIds.push(row.ids);
      out.truncated.push(row.cut);
      out.ids.push(items[i].id);
    }
    return out;
  }

  /** One score per solution, in the order of `items` ({ problem, steps } or { problem, solution }). */
  async score(items: readonly (OrmItem | ChainItem)[], options?: OrmCallOptions): Promise<OrmScore[]> {
    this.live();
    const o = checkOrmCall(options);
    return this.scoreEncoded(await this.encodeYielding(items), o);
  }

  /**
   * Scores rows from `encode` (with or without `deferContext`); rows over maxContext get the
   * model's overflow policy here.
   */
  async scoreEncoded(enc: OrmEncoding, options?: OrmCallOptions): Promise<OrmScore[]> {
    this.live();
    const { signal } = checkOrmCall(options);
    const rows: Int32Array[] = [];
    const truncated: boolean[] = [];
    enc.inputIds.forEach((r, i) => {
      if (this.maxContext === undefined || r.length <= this.maxContext) {
        rows.push(r);
        truncated.push(enc.truncated[i] ?? false);
      } else if (this.overflow === 'truncate') {
        rows.push(r.subarray(0, this.maxContext));
        truncated.push(true);
      } else throw overOrmContext(i, r.length, this.maxContext);
    });
    const offsets = Int32Array.from({ length: rows.length + 1 }, (_, i) => i);
    const positions = Int32Array.from(rows, (r) => r.length - 1);
    const { values } = await this.source.headValues(rows, { offsets, positions }, signal);
    const logit = this.format.value === 'logit';
    return rows.map((r, i) => {
      const reward = values[i];
      const s: OrmScore = { reward, ...(logit ? { probability: sigmoid(reward) } : {}), tokens: r.length, truncated: truncated[i] };
      if (enc.ids[i] !== undefined) s.id = enc.ids[i];
      return s;
    });
  }

  /** `ChainRanker`: the probability where the model defines one, else the raw reward. */
  async chainScores(items: readonly ChainItem[], options?: OrmCallOptions): Promise<number[]> {
    return (await this.score(items, options)).map((s) => s.probability ?? s.reward);
  }

  /** Candidate solutions of one problem (each a step list or one text), best first. */
  async rerank(problem: string, candidates: readonly (string | readonly string[])[], options?: OrmRerankOptions): Promise<RankedSolution[]> {
    if (typeof problem !== 'string') throw new PrmInputTypeError('problem', `must be a string, got ${show(problem)}`);
    if (!Array.isArray(candidates)) throw new PrmInputTypeError('candidates', `must be an array of solutions (step arrays or texts), got ${show(candidates)}`);
    const { topN, signal } = checkOrmRerank(options, candidates.length);
    candidates.forEach((c, i) => {
      if (typeof c !== 'string' && !Array.isArray(c)) throw new PrmInputTypeError(`candidates[${i}]`, `must be a step array or a solution text, got ${show(c)}`);
    });
    let scores: OrmScore[];
    try {
      scores = await this.score(candidates.map((c) => (typeof c === 'string' ? { problem, solution: c } : { problem, steps: c })), { signal });
    } catch (e) {
      // a candidate is the caller's `candidates[i]`; the problem is theirs once, not per item
      if (!isInputError(e) || e.itemIndex === undefined) throw e;
      const k = e.itemIndex;
      const at = `items[${k}]`;
      if (e.path.startsWith(`${at}.problem`)) throw reroot(e, `${at}.problem`, 'problem');
      for (const field of ['.steps', '.solution', ''])
        if (e.path.startsWith(at + field)) throw reroot(e as InputError, at + field, `candidates[${k}]`);
      throw e;
    }
    const ranked = scores.map((s) => s.probability ?? s.reward);
    const order = rankGroups({ scores: Float32Array.from(ranked), groupOffsets: Int32Array.of(0, ranked.length) });
    return Array.from(order.subarray(0, Math.min(topN, order.length)), (i) => ({
      index: i, score: ranked[i], reward: scores[i].reward, ...(scores[i].probability !== undefined ? { probability: scores[i].probability } : {}),
    }));
  }

  /** Backbone tokens per item, as encoded (for limits and metrics). */
  countTokens(items: readonly (OrmItem | ChainItem)[]): number[] {
    return this.encode(items, { deferContext: true }).inputIds.map((r) => r.length);
  }

  /** Releases the backbone; calls in flight settle, later calls reject. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.source.close();
  }
}
