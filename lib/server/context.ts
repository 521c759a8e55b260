// Shared state of one server: options, metrics and the two batchers, plus the wrapper
// every model-backed route runs its work in (deadline, disconnect, in-flight count).
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Batcher } from './batcher.js';
import { chainPath } from './chains.js';
import type { ChainPath } from './chains.js';
import { Lane } from './lane.js';
import type { ResolvedServerOptions } from './config.js';
import { ApiError, QueueFullError } from './errors.js';
import { abortReason, guardRequest } from './guard.js';
import { ServerMetrics } from './metrics.js';
import type { ModelChainScore, ModelEncodedChain, ModelTokenClassification } from './types.js';

export type PoolingInput = string | number[];

export class ServerContext {
  readonly options: ResolvedServerOptions;
  readonly metrics: ServerMetrics;
  readonly lane: Lane;
  /** How chains are tokenized (once, when the model can encode) and scored. */
  readonly chains: ChainPath;
  readonly scores: Batcher<ModelEncodedChain, ModelChainScore>;
  readonly pooling: Batcher<PoolingInput, ModelTokenClassification> | null;
  #inFlight = 0;

  constructor(options: ResolvedServerOptions) {
    this.options = options;
    const model = options.model;
    this.lane = new Lane(options.batching.concurrency);
    this.metrics = new ServerMetrics({
      queuedRequests: () => this.scores.queuedRequests + (this.pooling?.queuedRequests ?? 0),
      queuedTokens: () => this.scores.queuedTokens + (this.pooling?.queuedTokens ?? 0),
      inFlightRequests: () => this.#inFlight,
    }, { ...options.batching, ...options.limits, requestTimeoutMs: options.requestTimeoutMs, headersTimeoutMs: options.headersTimeoutMs, maxConnections: options.maxConnections });
    const onBatch = this.metrics.recordBatch.bind(this.metrics);
    // a request that would wait past its deadline is refused at the door instead
    const batching = { ...options.batching, maxQueueWaitMs: options.requestTimeoutMs };
    const chains = (this.chains = chainPath(model));
    this.scores = new Batcher((encoded, signal) => chains.score(encoded, { signal }), batching, this.lane, onBatch);
    this.pooling = model.classifyTokens
      ? new Batcher((inputs, signal) => model.classifyTokens!(inputs, { signal }), batching, this.lane, onBatch)
      : null;
  }

  /**
   * An onRequest hook for the model routes: while the queue is full, answer 503 before the
   * body is read, parsed and tokenized, so overload costs next to nothing per request.
   */
  shedWhenFull(batcher: 'scores' | 'pooling') {
    return async () => {
      const b = batcher === 'scores' ? this.scores : this.pooling;
      if (b?.full) {
        this.metrics.rejected.inc({ reason: 'queue_full' });
        throw new QueueFullError('queue is full; retry later', b.retryAfterSeconds());
      }
    };
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Runs a request's model work under its deadline and disconnect signal. Queue-full,
   * timeout and disconnect come out as ApiErrors; they are also counted as rejections.
   */
  async guarded<T>(request: FastifyRequest, reply: FastifyReply, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const guard = guardRequest(request, reply, this.options.requestTimeoutMs);
    this.#inFlight++;
    try {
      return await work(guard.signal);
    } catch (err) {
      let e = abortReason(guard.signal, err);
      // by the project's rule a model throws TypeError/RangeError for input it cannot take:
      // the client's mistake (400), not the server's
      if (e instanceof TypeError || e instanceof RangeError) e = new ApiError(400, 'invalid_request_error', e.message, null);
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
    return Promise.all([this.scores.drain(), this.pooling?.drain()]).then(() => undefined);
  }

  async close(): Promise<void> {
    await Promise.all([this.scores.close(), this.pooling?.close()]);
    this.metrics.close();
    if (this.options.closeModel) await this.options.model.close?.();
  }
}
