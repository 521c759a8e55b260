// An implicit PRM (PRIME's EurusPRM) as a backbone: two causal LMs, the PRM (policy) and its
// reference, each on its own onnxruntime worker threads. A step's reward is built from the
// log-likelihood ratio of its response tokens, sum over i in the step of
// log policy(y_i) - log reference(y_i); this source returns those per-step sums (unscaled,
// float64), and Prm turns them into rewards with beta (cumulative, as the model card defines
// q_t, or per step).
//
// A token's log-probability needs the whole vocabulary's log-sum-exp at the position before
// it. It never reaches this thread as [tokens x vocabulary] logits: either the graph outputs
// last_hidden_state and the native LM-head kernel streams the head ('kernel'), or the graph
// itself ends in log-softmax + gather and outputs one float per token ('graph').
import { availableParallelism, freemem } from 'node:os';
import { join } from 'node:path';
import { padChunk, planChunks, resolveChunking } from '../../batch/index.js';
import type { ChunkingOptions } from '../../batch/index.js';
import { fromHalf } from '../../kernels/half.js';
import { lmHeadBackend, tokenLogProbs } from '../../kernels/lm-head.js';
import type { LmHead } from '../../kernels/lm-head.js';
import type { Boundaries } from '../../kernels/types.js';
import type { ImplicitManifest, ImplicitModel, ModelFiles } from '../../model/manifest.js';
import { insideFolder } from '../../model/paths.js';
import { OnnxBackbone } from '../onnx/backbone.js';
import { onSnapshot } from '../onnx/snapshot.js';
import type { ForwardRequest, WorkerOptions } from '../onnx/backbone.js';
import { limited } from '../onnx/limited.js';
import { liveRows } from '../step-source.js';
import type { ImplicitInfo, SourceStats, StepSource } from '../step-source.js';
import { readLmHead } from './head.js';
import { chunkTokens, foldSteps } from './tokens.js';

/** Whether the two models run at the same time: 'auto' (default) does when free memory holds both calls. */
export type Concurrency = 'auto' | 'parallel' | 'sequential';
export const CONCURRENCIES: readonly Concurrency[] = ['auto', 'parallel', 'sequential'];

export interface ImplicitSourceOptions {
  /** A folder converted with `prmkit convert --reference`. */
  model: ModelFiles & { manifest: { implicit: ImplicitManifest } };
  /** Each model's workers (default: one each; intra-op threads split the cores between the two). */
  workers?: WorkerOptions;
  chunking?: ChunkingOptions;
  concurrency?: Concurrency;
  padId: number;
  /** Open private snapshots of the models' weight files (default true; see OnnxSource). */
  snapshot?: boolean;
}

interface Side {
  backbone: OnnxBackbone;
  /** The kernel path's head (absent when the graph gives token_logprobs). */
  head?: LmHead;
  spec: ImplicitModel;
}

function fail(what: string): Promise<never> {
  return Promise.reject(new TypeError(`an implicit PRM gives step rewards (log-likelihood ratios of two LMs), not ${what}; read stepRewards from prm.score`));
}

export class ImplicitSource implements StepSource {
  readonly info: ImplicitInfo;
  private readonly counts: SourceStats = { tokens: 0, paddedTokens: 0, calls: 0 };
  /** Chunks whose two forward passes ran at the same time / one after the other. */
  readonly runs = { parallel: 0, sequential: 0 };

  private constructor(
    private readonly policy: Side,
    private readonly reference: Side,
    private readonly implicit: ImplicitManifest,
    private readonly chunking: Required<ChunkingOptions>,
    private readonly concurrency: Concurrency,
  ) {
    const b = policy.backbone.info;
    const info: ImplicitInfo = {
      kind: 'implicit', provider: b.provider, providerNote: b.providerNote, logProbs: implicit.logProbs,
      ...(implicit.logProbs === 'kernel' ? { kernel: lmHeadBackend() } : {}),
      concurrency, workers: policy.backbone.workers,
      threadIds: [...b.threadIds, ...reference.backbone.info.threadIds], kvCache: false,
    };
    this.info = Object.freeze(info);
  }

  static async open(o: ImplicitSourceOptions): Promise<ImplicitSource> {
    const dir = o.model.path;
    const m = o.model.manifest.implicit;
    if (o.chunking?.padding === 'left' && (m.policy.attention === 'gqa' || m.reference.attention === 'gqa'))
      throw new RangeError(`chunking.padding: ${dir} was converted with fused attention (GroupQueryAttention), which reads right-padded rows only; drop padding: 'left' or convert with attention 'plain'`);
    const count = o.workers?.count ?? 1;
    // the two models share the cores unless the caller says otherwise
    const workers: WorkerOptions = { ...o.workers, threads: o.workers?.threads ?? Math.max(1, Math.floor(availableParallelism() / (2 * count))) };
    const sides: Side[] = [];
    try {
      for (const [name, spec] of [['policy', m.policy], ['reference', m.reference]] as const) {
        const onnx = insideFolder(dir, spec.model, `model: prmkit.json implicit.${name}.model`);
        const head = m.logProbs === 'kernel' ? readLmHead(insideFolder(dir, spec.head, `model: prmkit.json implicit.${name}.head`), spec.decoder.vocab, spec.decoder.hidden) : undefined;
        const backbone = await onSnapshot({ path: onnx, onnx }, o.snapshot, (path) => OnnxBackbone.load(path, workers));
        sides.push({ backbone, spec, ...(head ? { head } : {}) });
        const want = m.logProbs === 'kernel' ? 'last_hidden_state' : 'token_logprobs';
        if (!backbone.info.outputNames.includes(want))
          throw new RangeError(`${join(dir, spec.model)} has no '${want}' output (it has ${backbone.info.outputNames.join(', ')}); convert the folder again`);
      }
    } catch (e) {
      await Promise.all(sides.map((s) => s.backbone.close()));
      throw e;
    }
    // padding is wasted work on a cpu: one chain per call, as for any converted model there
    const chunking = resolveChunking(o.chunking ?? {}, { maxBatch: sides[0].backbone.info.provider === 'cpu' ? 1 : undefined, padId: o.padId });
    return new ImplicitSource(sides[0], sides[1], m, chunking, o.concurrency ?? 'auto');
  }

  stats(): SourceStats {
    return { ...this.counts };
  }

  /** Bytes one forward pass of one model may hold at its peak, per token of the chunk. */
  private bytesPerToken(): number {
    const d = this.policy.spec.decoder;
    // activations of a layer (the gate/up product dominates), plus the graph path's logits
    // and their exponentials inside onnxruntime
    const trunk = 4 * (4 * d.hidden + 3 * d.intermediate);
    return this.implicit.logProbs === 'graph' ? trunk + 8 * d.vocab : trunk;
  }

  private parallel(tokens: number): boolean {
    if (this.concurrency !== 'auto') return this.concurrency === 'parallel';
    return 2 * tokens * this.bytesPerToken() <= freemem() / 2;
  }

  /** Each read token's log-probability under one model. */
  private async logProbs(side: Side, req: ForwardRequest, rows: Int32Array, targets: Int32Array): Promise<Float32Array> {
    const res = await side.backbone.forward(req);
    if (side.head) return tokenLogProbs({ hidden: { data: res.data, dtype: res.dtype, dims: res.dims }, rows, targets, head: side.head });
    // [B, T, 1]: the graph's log-probability of each position's next token
    const lp = res.dtype === 'float32' ? (res.data as Float32Array) : fromHalf(res.data as Uint16Array, 'float16');
    return Float32Array.from(rows, (r) => lp[r]);
  }

  /**
   * Per step (CSR order), the sum over its response tokens of log policy - log reference.
   * `starts[i]` is chain i's first response token; step k's tokens run from after step k-1's
   * boundary (or the start) to its own.
   */
  async stepLogRatios(inputIds: readonly Int32Array[], boundaries: Boundaries, starts: Int32Array, signal?: AbortSignal): Promise<Float64Array> {
    const { offsets, positions } = boundaries;
    const out = new Float64Array(positions.length);
    const { live, rows } = liveRows(inputIds, boundaries);
    const chunks = planChunks(rows.map((r) => r.length), { ...this.chunking, bytesPerToken: this.bytesPerToken() });
    signal?.throwIfAborted();
    await limited(chunks.length, this.policy.backbone.workers, async (c) => {
      signal?.throwIfAborted();
      const members = chunks[c].items;
      const padded = padChunk(members.map((m) => rows[m]), this.chunking.padding, this.chunking.padId);
      const tokens = chunkTokens(padded, members.map((m) => ({ ids: rows[m], start: starts[live[m]], s0: offsets[live[m]], s1: offsets[live[m] + 1] })), positions);
      const real = members.reduce((a, m) => a + rows[m].length, 0);
      const request = (): ForwardRequest => ({ B: padded.B, T: padded.T, P: 0, ids: padded.ids.slice(), mask: padded.mask.slice(), positions: padded.positions.slice(), output: this.implicit.logProbs === 'kernel' ? 'last_hidden_state' : 'token_logprobs' });
      this.counts.tokens += 2 * real;
      this.counts.paddedTokens += 2 * padded.B * padded.T;
      this.counts.calls += 2;
      let p: Float32Array, r: Float32Array;
      if (this.parallel(padded.B * padded.T)) {
        this.runs.parallel++;
        [p, r] = await Promise.all([this.logProbs(this.policy, request(), tokens.rows, tokens.targets), this.logProbs(this.reference, request(), tokens.rows, tokens.targets)]);
      } else {
        this.runs.sequential++;
        p = await this.logProbs(this.policy, request(), tokens.rows, tokens.targets);
        signal?.throwIfAborted();
        r = await this.logProbs(this.reference, request(), tokens.rows, tokens.targets);
      }
      signal?.throwIfAborted();
      foldSteps(tokens.spans, p, r, out);
    });
    return out;
  }

  stepLogProbs(): Promise<Float32Array> {
    return fail('step probabilities');
  }

  classify(): Promise<number[][][]> {
    return fail('per-token classes');
  }

  async close(): Promise<void> {
    await Promise.all([this.policy.backbone.close(), this.reference.backbone.close()]);
  }
}
