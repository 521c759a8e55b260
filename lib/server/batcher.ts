// Dynamic batching across concurrent requests. Each request's chains join one FIFO; a batch
// closes when it holds maxBatchTokens backbone tokens, maxBatchItems chains, or when its
// oldest chain has waited maxWaitMs. While the model is busy, arrivals pile up, so batches
// grow with load by themselves. A request larger than a batch is split across batches; its
// promise settles when its last chain comes back.
import { QueueFullError, ShuttingDownError } from './errors.js';
import type { Lane } from './lane.js';
import type { BatchingOptions } from './types.js';

export interface BatchReport {
  items: number;
  tokens: number;
  seconds: number;
  ok: boolean;
}

export type RunBatch<I, O> = (inputs: I[], signal: AbortSignal) => Promise<O[]>;

interface Job<I, O> {
  items: I[];
  costs: number[];
  results: O[];
  /** Next item not yet handed to a batch. */
  next: number;
  /** Items not yet answered. */
  pending: number;
  /** Tokens of items still in the queue. */
  queuedTokens: number;
  enqueuedAt: number;
  settled: boolean;
  batches: Set<Batch<I, O>>;
  resolve(results: O[]): void;
  reject(err: unknown): void;
  detach(): void;
}

interface Batch<I, O> {
  entries: Array<{ job: Job<I, O>; index: number }>;
  jobs: Set<Job<I, O>>;
  controller: AbortController;
}

export interface BatcherOptions extends BatchingOptions {
  /**
   * Refuse a request (QueueFullError) when the queue ahead of it would, at the measured
   * throughput, take longer than this: it would miss its deadline anyway, and holding it
   * only makes every later request slower. Off when absent.
   */
  maxQueueWaitMs?: number;
}

export class Batcher<I, O> {
  readonly options: Readonly<BatcherOptions>;
  readonly #run: RunBatch<I, O>;
  readonly #lane: Lane;
  readonly #onBatch: ((report: BatchReport) => void) | undefined;
  #queue: Job<I, O>[] = [];
  #queuedTokens = 0;
  #queuedItems = 0;
  #inFlight = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #flushing = false;
  #closed = false;
  #idleWaiters: Array<() => void> = [];
  /** Smoothed backbone tokens per second of one batch, for Retry-After and deadline admission. */
  #tokensPerSecond = 0;
  readonly #pump = () => this.#dispatch();

  constructor(run: RunBatch<I, O>, options: BatcherOptions, lane: Lane, onBatch?: (report: BatchReport) => void) {
    this.#run = run;
    this.options = options;
    this.#lane = lane;
    this.#onBatch = onBatch;
  }

  /** Requests with chains still waiting for a batch. */
  get queuedRequests(): number {
    return this.#queue.length;
  }

  get queuedTokens(): number {
    return this.#queuedTokens;
  }

  get inFlightBatches(): number {
    return this.#inFlight.size;
  }

  /**
   * Queue `items` (with their backbone token `costs`) and resolve with one output per item,
   * in order. Rejects at once with QueueFullError when the queue is over its bounds, and
   * with `signal.reason` when the signal aborts (its queued chains are dropped, and a batch
   * whose every request is gone is aborted).
   */
  submit(items: I[], costs: number[], signal?: AbortSignal): Promise<O[]> {
    if (items.length !== costs.length) throw new RangeError(`costs.length (${costs.length}) must equal items.length (${items.length})`);
    if (this.#closed) return Promise.reject(new ShuttingDownError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (items.length === 0) return Promise.resolve([]);
    let total = 0;
    for (const c of costs) total += c;
    const o = this.options;
    if (this.#queue.length >= o.maxQueueRequests || this.#queuedTokens + total > o.maxQueueTokens) {
      return Promise.reject(
        new QueueFullError(
          `queue is full (${this.#queue.length} requests, ${this.#queuedTokens} tokens waiting); retry later`,
          this.retryAfterSeconds(total),
        ),
      );
    }
    const wait = this.expectedWaitMs(total);
    if (o.maxQueueWaitMs !== undefined && this.#queue.length > 0 && wait > o.maxQueueWaitMs) {
      return Promise.reject(
        new QueueFullError(
          `queue is full: the ${this.#queue.length} requests waiting need about ${Math.round(wait)} ms, over the ${o.maxQueueWaitMs} ms deadline; retry later`,
          this.retryAfterSeconds(total),
        ),
      );
    }
    return new Promise<O[]>((resolve, reject) => {
      const job: Job<I, O> = {
        items,
        costs,
        results: new Array<O>(items.length),
        next: 0,
        pending: items.length,
        queuedTokens: total,
        enqueuedAt: performance.now(),
        settled: false,
        batches: new Set(),
        resolve,
        reject,
        detach: () => {},
      };
      if (signal) {
        const onAbort = () => this.#abandon(job, signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.#queue.push(job);
      this.#queuedTokens += total;
      this.#queuedItems += items.length;
      this.#dispatch();
    });
  }

  /** True when no request could join now: lets the server shed load before reading a body. */
  get full(): boolean {
    const o = this.options;
    if (this.#closed || this.#queue.length >= o.maxQueueRequests || this.#queuedTokens >= o.maxQueueTokens) return true;
    return o.maxQueueWaitMs !== undefined && this.#queue.length > 0 && this.expectedWaitMs(0) > o.maxQueueWaitMs;
  }

  /** Time the queue ahead (plus `extraTokens`) needs at the measured throughput; 0 before any batch ran. */
  expectedWaitMs(extraTokens = 0): number {
    const rate = this.#tokensPerSecond * this.#lane.capacity;
    return rate > 0 ? ((this.#queuedTokens + extraTokens) / rate) * 1000 : 0;
  }

  /** Seconds until `extraTokens` more could likely be served, from the measured throughput. */
  retryAfterSeconds(extraTokens = 0): number {
    const rate = this.#tokensPerSecond * this.#lane.capacity;
    if (rate <= 0) return 1;
    return Math.min(60, Math.max(1, Math.ceil((this.#queuedTokens + extraTokens) / rate)));
  }

  /** Stop taking work, run everything queued without waiting for fuller batches, resolve when idle. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.drain();
  }

  /** Run everything queued now and resolve when nothing is queued or running. */
  drain(): Promise<void> {
    this.#flushing = true;
    this.#dispatch();
    if (this.#queue.length === 0 && this.#inFlight.size === 0) {
      this.#flushing = this.#closed;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #dispatch(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#queue.length > 0) {
      const o = this.options;
      const waited = performance.now() - this.#queue[0]!.enqueuedAt;
      const full = this.#queuedTokens >= o.maxBatchTokens || this.#queuedItems >= o.maxBatchItems;
      if (!this.#flushing && !full && waited < o.maxWaitMs) {
        this.#timer = setTimeout(this.#pump, Math.max(1, Math.ceil(o.maxWaitMs - waited)));
        this.#timer.unref?.();
        return;
      }
      if (!this.#lane.tryAcquire()) {
        this.#lane.onFree(this.#pump);
        return;
      }
      this.#launch(this.#take());
    }
    this.#checkIdle();
  }

  #take(): Batch<I, O> {
    const o = this.options;
    const batch: Batch<I, O> = { entries: [], jobs: new Set(), controller: new AbortController() };
    let tokens = 0;
    while (this.#queue.length > 0 && batch.entries.length < o.maxBatchItems) {
      const job = this.#queue[0]!;
      const cost = job.costs[job.next]!;
      // always take at least one chain, even one bigger than a batch, or it would never run
      if (batch.entries.length > 0 && tokens + cost > o.maxBatchTokens) break;
      batch.entries.push({ job, index: job.next });
      batch.jobs.add(job);
      job.batches.add(batch);
      tokens += cost;
      job.next++;
      job.queuedTokens -= cost;
      this.#queuedTokens -= cost;
      this.#queuedItems--;
      if (job.next === job.items.length) this.#queue.shift();
    }
    return batch;
  }

  #launch(batch: Batch<I, O>): void {
    const p = this.#execute(batch).finally(() => {
      this.#inFlight.delete(p);
      this.#lane.release();
      this.#dispatch();
    });
    this.#inFlight.add(p);
  }

  async #execute(batch: Batch<I, O>): Promise<void> {
    const inputs = batch.entries.map((e) => e.job.items[e.index]!);
    let tokens = 0;
    for (const e of batch.entries) tokens += e.job.costs[e.index]!;
    const t0 = performance.now();
    let ok = false;
    try {
      const outputs = await this.#run(inputs, batch.controller.signal);
      if (!Array.isArray(outputs) || outputs.length !== inputs.length) {
        throw new Error(`model returned ${Array.isArray(outputs) ? outputs.length : typeof outputs} results for ${inputs.length} inputs`);
      }
      ok = true;
      batch.entries.forEach((e, i) => {
        const job = e.job;
        if (job.settled) return;
        job.results[e.index] = outputs[i]!;
        job.pending--;
        if (job.pending === 0) this.#settle(job, null);
      });
    } catch (err) {
      if (batch.jobs.size > 1 && !batch.controller.signal.aborted) await this.#isolate(batch);
      else for (const job of batch.jobs) this.#fail(job, err);
    } finally {
      for (const job of batch.jobs) job.batches.delete(batch);
      const seconds = (performance.now() - t0) / 1000;
      if (ok && seconds > 0) {
        const rate = tokens / seconds;
        this.#tokensPerSecond = this.#tokensPerSecond === 0 ? rate : 0.8 * this.#tokensPerSecond + 0.2 * rate;
      }
      this.#onBatch?.({ items: inputs.length, tokens, seconds, ok });
    }
  }

  /**
   * A batch of several requests failed: run each request's part alone (still holding the
   * lane), so one request the model rejects cannot fail the requests it was batched with.
   */
  async #isolate(batch: Batch<I, O>): Promise<void> {
    for (const job of batch.jobs) {
      if (job.settled) continue;
      const entries = batch.entries.filter((e) => e.job === job);
      let tokens = 0;
      for (const e of entries) tokens += job.costs[e.index]!;
      const t0 = performance.now();
      try {
        const outputs = await this.#run(
          entries.map((e) => job.items[e.index]!),
          batch.controller.signal,
        );
        if (!Array.isArray(outputs) || outputs.length !== entries.length) throw new Error(`model returned the wrong number of results`);
        this.#onBatch?.({ items: entries.length, tokens, seconds: (performance.now() - t0) / 1000, ok: true });
        if (job.settled) continue;
        entries.forEach((e, i) => (job.results[e.index] = outputs[i]!));
        job.pending -= entries.length;
        if (job.pending === 0) this.#settle(job, null);
      } catch (err) {
        this.#onBatch?.({ items: entries.length, tokens, seconds: (performance.now() - t0) / 1000, ok: false });
        this.#fail(job, err);
      }
    }
  }

  #settle(job: Job<I, O>, err: unknown): void {
    job.settled = true;
    job.detach();
    if (err === null) job.resolve(job.results);
    else job.reject(err);
  }

  /** A failed batch fails every request in it; their chains still queued are dropped. */
  #fail(job: Job<I, O>, err: unknown): void {
    if (job.settled) return;
    this.#unqueue(job);
    this.#settle(job, err);
  }

  #abandon(job: Job<I, O>, reason: unknown): void {
    if (job.settled) return;
    this.#unqueue(job);
    this.#settle(job, reason);
    // a batch that now serves nobody is wasted work: stop it
    for (const batch of job.batches) {
      let live = false;
      for (const j of batch.jobs) if (!j.settled) live = true;
      if (!live) batch.controller.abort(reason);
    }
    this.#checkIdle();
  }

  #unqueue(job: Job<I, O>): void {
    const at = this.#queue.indexOf(job);
    if (at < 0) return;
    this.#queue.splice(at, 1);
    this.#queuedTokens -= job.queuedTokens;
    this.#queuedItems -= job.items.length - job.next;
    job.queuedTokens = 0;
    job.next = job.items.length;
  }

  #checkIdle(): void {
    if (this.#queue.length > 0 || this.#inFlight.size > 0) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#idleWaiters.length === 0) return;
    this.#flushing = this.#closed;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}
