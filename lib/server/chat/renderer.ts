// Renders chat templates off the event loop, one at a time, on a worker thread that every
// template shares (template-worker.mjs meters each render). The worker is started on first
// use and replaced when a render overruns its time: it is then terminated, whatever it is
// doing, so a template can neither block the service nor keep the thread.
import { Worker } from 'node:worker_threads';
import { nonNegativeInt, positiveInt } from '../../is.js';
import type { FromTemplateWorker, RenderReply, RenderRequest, TemplateBudget, TemplateFailureKind } from './protocol.js';

const WORKER_URL = new URL('./template-worker.mjs', import.meta.url);

/**
 * Time past the budget before the worker is terminated: the worker stops itself at its
 * budget; this catches a single step that runs long (a large sort) or a stalled thread.
 */
const GRACE_MS = 1000;

/** Renders allowed to wait for the worker by default; more are refused ('busy'). */
const MAX_QUEUED = 64;

/** A render that did not produce its text: the template's fault, its input's, or the budget. */
export class TemplateFailure extends Error {
  constructor(
    readonly kind: TemplateFailureKind | 'busy',
    message: string,
  ) {
    super(message);
    this.name = 'TemplateFailure';
  }
}

interface Job {
  source: string;
  context: Record<string, unknown>;
  resolve(text: string): void;
  reject(err: unknown): void;
  signal?: AbortSignal;
}

export interface RendererOptions {
  budget: TemplateBudget;
  /** Renders allowed to wait for the worker (default 64); more are refused ('busy'). */
  maxQueued?: number;
  /** Time past the budget before a render's worker is terminated (default 1000 ms). */
  graceMs?: number;
}

export class ChatRenderer {
  readonly budget: Readonly<TemplateBudget>;
  readonly #maxQueued: number;
  readonly #graceMs: number;
  #worker: Worker | undefined;
  #ready: Promise<Worker> | undefined;
  #queue: Job[] = [];
  #running: Job | undefined;
  #nextId = 1;
  #closed = false;

  constructor(options: RendererOptions) {
    const b = options.budget;
    this.budget = {
      maxSteps: positiveInt(b.maxSteps, 'templateBudget.maxSteps'),
      timeoutMs: positiveInt(b.timeoutMs, 'templateBudget.timeoutMs', 600_000),
      maxChars: positiveInt(b.maxChars, 'templateBudget.maxChars'),
      maxItems: positiveInt(b.maxItems, 'templateBudget.maxItems'),
    };
    this.#maxQueued = positiveInt(options.maxQueued ?? MAX_QUEUED, 'maxQueued');
    this.#graceMs = nonNegativeInt(options.graceMs ?? GRACE_MS, 'graceMs');
  }

  /** Renders waiting or running. */
  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** `source` rendered with `context`; rejects with a TemplateFailure, or the signal's reason. */
  render(source: string, context: Record<string, unknown>, signal?: AbortSignal): Promise<string> {
    if (this.#closed) return Promise.reject(new TemplateFailure('busy', 'the service is shutting down'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#queue.length >= this.#maxQueued) return Promise.reject(new TemplateFailure('busy', `${this.#queue.length} chat renders are waiting; retry later`));
    return new Promise<string>((resolve, reject) => {
      this.#queue.push({ source, context, resolve, reject, ...(signal ? { signal } : {}) });
      this.#pump();
    });
  }

  #start(): Promise<Worker> {
    this.#ready ??= new Promise<Worker>((resolve, reject) => {
      const w = new Worker(WORKER_URL);
      this.#worker = w;
      w.once('message', (m: FromTemplateWorker) => {
        if ('ready' in m) resolve(w);
      });
      // an error before 'ready' fails the start; one during a render ends the worker, which
      // that render sees as its exit
      w.once('error', (err) => {
        this.#drop(w);
        reject(err);
      });
      w.once('exit', (code) => {
        this.#drop(w);
        reject(new Error(`the template worker exited (code ${code})`));
      });
    });
    return this.#ready;
  }

  /** Forget a worker that ended; the next render starts a fresh one. */
  #drop(w: Worker): void {
    if (this.#worker !== w) return;
    this.#worker = undefined;
    this.#ready = undefined;
  }

  #pump(): void {
    if (this.#running || this.#closed) return;
    let job: Job | undefined;
    while ((job = this.#queue.shift()) !== undefined) {
      if (!job.signal?.aborted) break;
      job.reject(job.signal.reason);
    }
    if (!job) {
      this.#worker?.unref();
      return;
    }
    this.#running = job;
    void this.#run(job).finally(() => {
      if (this.#running === job) this.#running = undefined;
      this.#pump();
    });
  }

  async #run(job: Job): Promise<void> {
    let worker: Worker;
    try {
      worker = await this.#start();
    } catch (err) {
      job.reject(new TemplateFailure('render', `the template worker could not start: ${(err as Error).message}`));
      return;
    }
    worker.ref();
    const id = this.#nextId++;
    const request: RenderRequest = { id, source: job.source, context: job.context, budget: this.budget };
    const reply = await new Promise<RenderReply | 'late' | 'gone' | Error>((resolve) => {
      const timer = setTimeout(() => done('late'), this.budget.timeoutMs + this.#graceMs);
      const onMessage = (m: FromTemplateWorker) => {
        if ('id' in m && m.id === id) done(m);
      };
      const onExit = () => done('gone');
      function done(r: RenderReply | 'late' | 'gone' | Error): void {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('exit', onExit);
        resolve(r);
      }
      worker.on('message', onMessage);
      worker.once('exit', onExit);
      try {
        worker.postMessage(request);
      } catch (err) {
        done(err as Error);
      }
    });
    if (reply instanceof Error) {
      // a context that cannot be cloned (nested too deep): the request's data
      job.reject(new TemplateFailure('render', `the chat cannot be passed to the template: ${reply.message}`));
      return;
    }
    if (reply === 'gone') {
      job.reject(new TemplateFailure('render', 'the template worker ended during the render'));
      return;
    }
    if (reply === 'late') {
      this.#drop(worker);
      await worker.terminate();
      job.reject(new TemplateFailure('time', `the template ran longer than ${this.budget.timeoutMs} ms (its thread was ended)`));
      return;
    }
    if (reply.ok) job.resolve(reply.text);
    else job.reject(new TemplateFailure(reply.kind, reply.message));
  }

  /** Refuse new renders, fail the waiting ones, end the worker. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new TemplateFailure('busy', 'the service is shutting down'));
    const w = this.#worker;
    this.#worker = undefined;
    this.#ready = undefined;
    if (w) await w.terminate();
  }
}
