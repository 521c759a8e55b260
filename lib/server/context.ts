// Shared state of one server: options, metrics, the chat renderer and every batcher the
// routes submit to (chains, /pooling with the activation, /pooling raw), which it drains,
// closes and measures together, plus the wrapper every model-backed route runs its work in
// (deadline, disconnect, in-flight count, the model's errors as answers).
import type { FastifyReply } from 'fastify';
import { Batcher } from './batcher.js';
import type { BatcherOptions } from './batcher.js';
import { ChatRenderer } from './chat/renderer.js';
import { Lane } from './lane.js';
import type { ResolvedServerOptions } from './config.js';
import { modelError } from './error-map.js';
import { ApiError, QueueFullError } from './errors.js';
import { guardRequest } from './guard.js';
import { ServerMetrics } from './metrics.js';
import type { ChainScorer, ModelChainScore, ModelEncodedChain, ModelTokenClassification } from './types.js';

export type PoolingInput = string | number[];

/** /pooling's two batchers: one model batch runs with one activation setting. */
export interface PoolingBatchers {
  activated: Batcher<PoolingInput, ModelTokenClassification>;
  raw: Batcher<PoolingInput, ModelTokenClassification>;
}

export class ServerContext {
  readonly options: ResolvedServerOptions;
  readonly metrics: ServerMetrics;
  readonly lane: Lane;
  /** How chains are tokenized (once per request) and scored. */
  readonly chains: ChainScorer;
  readonly scores: Batcher<ModelEncodedChain, ModelChainScore>;
  /** Null when the model has no token classifier (/pooling answers 501). */
  readonly pooling: PoolingBatchers | null;
  /** Chat templates, rendered off the event loop under the template budget. */
  readonly chat: ChatRenderer;
  /** Every batcher, for what they are drained, closed and measured by together. */
  readonly #batchers: ReadonlyArray<Pick<Batcher<never, unknown>, 'queuedRequests' | 'queuedTokens' | 'drain' | 'close'>>;
  #inFlight = 0;

  constructor(options: ResolvedServerOptions) {
    this.options = options;
    const model = options.model;
    this.lane = new Lane(options.batching.concurrency);
    this.metrics = new ServerMetrics(
      { queuedRequests: () => this.queuedRequests, queuedTokens: () => this.queuedTokens, inFlightRequests: () => this.#inFlight },
      options.settings,
      model.prefixCache,
    );
    const onBatch = this.metrics.recordBatch.bind(this.metrics);
    // a request that would wait past its deadline is refused at the door instead
    const batching: BatcherOptions = { ...options.batching, maxQueueWaitMs: options.requestTimeoutMs };
    const chains = (this.chains = model.chains);
    this.scores = new Batcher((encoded, signal) => chains.score(encoded, { signal }), batching, this.lane, onBatch);
    const classifier = model.tokenClassifier;
    this.pooling = classifier
      ? {
          activated: new Batcher((inputs, signal) => classifier.classify(inputs, { signal }), batching, this.lane, onBatch),
          raw: new Batcher((inputs, signal) => classifier.classify(inputs, { signal, activation: false }), batching, this.lane, onBatch),
        }
      : null;
    this.#batchers = [this.scores, ...(this.pooling ? [this.pooling.activated, this.pooling.raw] : [])];
    this.chat = new ChatRenderer({ budget: options.templateBudget });
  }

  /** Requests waiting for a batch, over every batcher. */
  get queuedRequests(): number {
    let n = 0;
    for (const b of this.#batchers) n += b.queuedRequests;
    return n;
  }

  /** Backbone tokens waiting for a batch, over every batcher. */
  get queuedTokens(): number {
    let n = 0;
    for (const b of this.#batchers) n += b.queuedTokens;
    return n;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * An onRequest hook for the model routes: while the route's queue is full, answer 503
   * before the body is read, parsed and tokenized, so overload costs next to nothing per
   * request. /pooling's body (which says which of its batchers it needs) is not read yet,
   * so it is shed when either of them is full.
   */
  shedWhenFull(route: 'scores' | 'pooling') {
    const batchers = route === 'scores' ? [this.scores] : this.pooling ? [this.pooling.activated, this.pooling.raw] : [];
    return async () => {
      const full = batchers.find((b) => b.full);
      if (full) {
        this.metrics.rejected.inc({ reason: 'queue_full' });
        throw new QueueFullError('queue is full; retry later', full.retryAfterSeconds());
      }
    };
  }

  /**
   * Runs a request's model work under its deadline and disconnect signal. Queue-full,
   * timeout and disconnect come out as ApiErrors and are counted as rejections; the model's
   * input errors become 400s; anything else stays an error (a 500).
   */
  async guarded<T>(reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const guard = guardRequest(reply, this.options.requestTimeoutMs);
    this.#inFlight++;
    try {
      return await work(guard.signal);
    } catch (err) {
      const e = modelError(guard.signal, err);
      if (e instanceof ApiError) {
        if (e.status === 503) this.metrics.rejected.inc({ reason: 'queue_full' });
        else if (e.status === 504) this.metrics.rejected.inc({ reason: 'timeout' });
        else if (e.status === 499) this.metrics.rejected.inc({ reason: 'client_closed' });
      }
      throw e;
    } finally {
      this.#inFlight--;
      guard.dispose();
    }
  }

  /** Flush queued work without waiting for fuller batches (shutdown has begun). */
  drain(): Promise<void> {
    return Promise.all(this.#batchers.map((b) => b.drain())).then(() => undefined);
  }

  /** Runs what is queued, ends the template worker, then closes the model (unless told not to). */
  async close(): Promise<void> {
    await Promise.all(this.#batchers.map((b) => b.close()));
    await this.chat.close();
    this.metrics.close();
    if (this.options.closeModel) await this.options.model.close?.();
  }
}
