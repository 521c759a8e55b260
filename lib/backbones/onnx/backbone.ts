// An ONNX decoder served by a small pool of worker threads: onnxruntime's run() occupies
// its thread for the whole forward pass, so it never runs on the event loop. Requests go to
// the least busy worker; tensors travel as transferred ArrayBuffers. An idle worker does not
// keep the process alive (a script that forgets close() still exits once its work is done);
// a worker with work in flight does.
import * as is from '../../is.js';
import { existsSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { DoneMessage, ForwardRequest, ForwardResult, FreeMessage, FromWorker, ReadyMessage, RunMessage, ToWorker, WorkerInit } from './protocol.js';
import { ortEntry, probeProviders, PROVIDER_CHOICES } from './providers.js';
import { workerExecArgv } from './worker-argv.js';
import type { ProviderChoice, ProviderName } from './providers.js';

export type { ForwardRequest, ForwardResult, KvArray, KvRequest, PastSlice } from './protocol.js';

/** The worker's file: the same .mjs beside this module in lib/ and in dist/. */
const WORKER_URL = new URL('./worker.mjs', import.meta.url);

/** The worker threads that run the model. */
export interface WorkerOptions {
  /**
   * Worker threads, each with its own onnxruntime session (default 1; a converted folder on
   * the cpu: `defaultWorkerCount`).
   */
  count?: number;
  /** onnxruntime intra-op threads per worker (default: cores / workers, at least 1). */
  threads?: number;
  /** 'auto' (default: cuda when onnxruntime-node's CUDA provider is installed), 'cpu' or 'cuda'. */
  executionProvider?: ProviderChoice;
  /**
   * Bytes of keys/values each worker keeps for sessions and shared prefixes (default 1 GiB);
   * past it the least recently used are evicted (and recomputed if used again).
   */
  kvMemory?: number;
}

/**
 * Workers for a converted model on the cpu when the caller names none. Measured on 2 cores
 * (bench:convert, the perf model, one chain per call): 2 single-threaded workers scoring two
 * chains at once beat 1 worker with 2 intra-op threads by 1.3x in float32 and 2x in int8 on
 * a loaded machine (an op waits for the slower of its threads at every step; int8's ops are
 * shorter, so it waits more often). Each worker holds its own session, about twice the weight
 * files (prepacked copies, arena), so 2 only while that fits in half the memory (a 7B int8
 * model on 24 GB keeps 1). On more cores the rest stay intra-op threads (cores / 2 each):
 * the gain above is unmeasured there, and one chain's latency wants the threads.
 */
export function defaultWorkerCount(modelBytes: number, cores = availableParallelism(), memory = totalmem()): number {
  if (cores < 2) return 1;
  return 2 * 2 * modelBytes <= memory / 2 ? 2 : 1;
}

export interface BackboneInfo {
  inputNames: string[];
  outputNames: string[];
  provider: ProviderName;
  providerNote: string;
  /** Layers with a KV cache (0: the model has no past_key_values inputs). */
  layers: number;
  kvHeads?: number;
  headDim?: number;
  /** Element type of past_key_values / present. */
  kvType: 'float32' | 'float16';
  /** worker_threads ids of the sessions (never the main thread's 0). */
  threadIds: number[];
}

interface Pending {
  resolve: (r: ForwardResult) => void;
  reject: (e: Error) => void;
}

class Slot {
  readonly pending = new Map<number, Pending>();
  /** Settles when the thread has ended, however it ended. */
  readonly exited: Promise<void>;
  private ending = false;
  constructor(readonly worker: Worker) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
  }
  get busy(): number {
    return this.pending.size;
  }
  add(id: number, p: Pending): void {
    if (this.pending.size === 0) this.worker.ref();
    this.pending.set(id, p);
  }
  take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    this.pending.delete(id);
    if (this.pending.size === 0 && !this.ending) this.worker.unref();
    return p;
  }
  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (!this.ending) this.worker.unref();
  }
  /**
   * Ends the thread cleanly: callers waiting on it are answered now with `err`; the worker
   * finishes what onnxruntime is running, releases its session and ends by itself. Until then
   * it keeps the process alive: terminating a thread inside onnxruntime's run() aborts the
   * whole process, and so would the process exiting around it.
   */
  async end(err: Error): Promise<void> {
    this.failAll(err);
    this.ending = true;
    this.worker.ref();
    const msg: ToWorker = { type: 'close' };
    try {
      this.worker.postMessage(msg);
    } catch {
      /* the thread has already ended */
    }
    await this.exited;
  }
}

function infoFrom(m: ReadyMessage): BackboneInfo {
  const info: BackboneInfo = {
    inputNames: m.inputNames, outputNames: m.outputNames, provider: m.provider, providerNote: m.providerNote, layers: m.layers,
    threadIds: [m.threadId], kvType: m.kvType,
  };
  const shape = m.kvShape;
  if (shape && typeof shape[1] === 'number' && typeof shape[3] === 'number') {
    info.kvHeads = shape[1];
    info.headDim = shape[3];
  }
  return info;
}

function resultOf(m: DoneMessage, worker: number): ForwardResult {
  return { data: m.data, dtype: m.dtype, dims: m.dims, worker, ...(m.keptSlots !== undefined ? { keptSlots: m.keptSlots } : {}) };
}

function checkForward(r: ForwardRequest, info: BackboneInfo): string | undefined {
  for (const k of ['B', 'T', 'P'] as const)
    if (!Number.isInteger(r[k]) || r[k] < 0) return `${k} must be a non-negative integer, got ${String(r[k])}`;
  if (!(r.ids instanceof Int32Array) || r.ids.length !== r.B * r.T) return `ids must be an Int32Array of B x T = ${r.B * r.T}`;
  if (!(r.positions instanceof Int32Array) || r.positions.length !== r.B * r.T) return `positions must be an Int32Array of B x T = ${r.B * r.T}`;
  if (!(r.mask instanceof Int32Array) || r.mask.length !== r.B * (r.P + r.T)) return `mask must be an Int32Array of B x (P + T) = ${r.B * (r.P + r.T)}`;
  const kv = r.kv;
  if (r.P > 0 || kv) {
    if (info.layers === 0 || info.kvHeads === undefined || info.headDim === undefined) return 'the model has no past_key_values inputs';
    if (r.P > 0 && !kv?.past) return 'P > 0 needs kv.past';
    const past = kv?.past;
    if (past && 'pack' in past && (!Array.isArray(past.pack) || past.pack.length !== r.B)) return `kv.past.pack must hold B = ${r.B} rows`;
    if (kv?.keep !== undefined && !Number.isInteger(kv.keep)) return 'kv.keep must be an integer block id';
  }
  return undefined;
}

function closedError(): Error {
  return new Error('onnx backbone is closed');
}

export class OnnxBackbone {
  private nextId = 1;
  private closed = false;
  private closing?: Promise<void>;
  private constructor(
    private readonly slots: Slot[],
    readonly info: BackboneInfo,
    readonly modelPath: string,
  ) {}

  static async load(modelPath: string, options: WorkerOptions = {}): Promise<OnnxBackbone> {
    if (typeof modelPath !== 'string' || modelPath.length === 0) throw new TypeError('model must be a path to an .onnx file');
    if (!existsSync(modelPath)) throw new TypeError(`model: ${modelPath} does not exist`);
    const workers = is.integer(options.count ?? 1, 'workers.count', 1, 64);
    const threads = is.integer(options.threads ?? Math.max(1, Math.floor(availableParallelism() / workers)), 'workers.threads', 1, 256);
    const choice = is.oneOf(options.executionProvider ?? 'auto', 'workers.executionProvider', PROVIDER_CHOICES);
    const probe = probeProviders(choice);
    const init: WorkerInit = { ortPath: ortEntry(), modelPath, threads, providers: probe.providers, providerNote: probe.note };
    const slots: Slot[] = [];
    const ready: Promise<BackboneInfo>[] = [];
    for (let w = 0; w < workers; w++) {
      const worker = new Worker(WORKER_URL, { workerData: init, execArgv: workerExecArgv(process.execArgv) });
      const slot = new Slot(worker);
      slots.push(slot);
      ready.push(
        new Promise<BackboneInfo>((resolve, reject) => {
          const onMessage = (m: FromWorker) => {
            if (m.type === 'ready') {
              worker.off('message', onMessage);
              resolve(infoFrom(m));
            } else if (m.type === 'error') reject(new Error(`onnx backbone: ${m.message}`));
          };
          worker.on('message', onMessage);
          worker.once('error', reject);
          worker.once('exit', (code) => reject(new Error(`onnx backbone: worker exited with code ${code} while opening ${modelPath}`)));
        }),
      );
    }
    let infos: BackboneInfo[];
    try {
      infos = await Promise.all(ready);
    } catch (e) {
      // a worker still opening its session ends once it is open
      await Promise.all(slots.map((s) => s.end(e as Error)));
      throw e;
    }
    const backbone = new OnnxBackbone(slots, { ...infos[0], threadIds: infos.map((i) => i.threadIds[0]) }, modelPath);
    for (const slot of slots) {
      backbone.listen(slot);
      slot.worker.unref();
    }
    return backbone;
  }

  private listen(slot: Slot): void {
    slot.worker.on('message', (m: FromWorker) => {
      if (m.type === 'ready' || m.id === undefined) return;
      const p = slot.take(m.id);
      if (!p) return;
      if (m.type === 'done') p.resolve(resultOf(m, this.slots.indexOf(slot)));
      else p.reject(new Error(`onnx backbone: ${m.message}`));
    });
    slot.worker.on('error', (e) => slot.failAll(e instanceof Error ? e : new Error(String(e))));
    slot.worker.on('exit', (code) => {
      if (!this.closed) slot.failAll(new Error(`onnx backbone: worker exited with code ${code}`));
    });
  }

  get workers(): number {
    return this.slots.length;
  }

  /**
   * Runs one forward pass on worker `worker` (the one holding the blocks its past reads), or
   * else on the least busy one. Inputs' buffers are transferred (do not reuse them).
   */
  forward(req: ForwardRequest, worker?: number): Promise<ForwardResult> {
    if (this.closed) return Promise.reject(closedError());
    if (!this.info.outputNames.includes(req.output))
      return Promise.reject(new RangeError(`the model has no output '${req.output}' (it has ${this.info.outputNames.join(', ')})`));
    const bad = checkForward(req, this.info);
    if (bad) return Promise.reject(new RangeError(`onnx backbone: ${bad}`));
    if (worker !== undefined && !(Number.isInteger(worker) && worker >= 0 && worker < this.slots.length))
      return Promise.reject(new RangeError(`onnx backbone: worker must be an integer in [0, ${this.slots.length}), got ${String(worker)}`));
    const slot = worker !== undefined ? this.slots[worker] : this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    return new Promise<ForwardResult>((resolve, reject) => {
      slot.add(id, { resolve, reject });
      // each buffer once (views may share one); shared memory cannot be transferred
      const transfer = [...new Set([req.ids, req.mask, req.positions].map((a) => a.buffer))].filter(
        (b): b is ArrayBuffer => b instanceof ArrayBuffer,
      );
      const msg: RunMessage = { type: 'run', id, ...req, kvHeads: this.info.kvHeads ?? 0, headDim: this.info.headDim ?? 0 };
      slot.worker.postMessage(msg, transfer);
    });
  }

  /** Worker `worker` drops these kept blocks (messages to a worker are handled in order, so runs sent before still read them). */
  free(worker: number, blocks: readonly number[]): void {
    if (this.closed || blocks.length === 0) return;
    const msg: FreeMessage = { type: 'free', blocks: [...blocks] };
    try {
      this.slots[worker]?.worker.postMessage(msg);
    } catch {
      /* the thread has ended: its blocks went with it */
    }
  }

  /**
   * Calls waiting on the workers reject now ("onnx backbone is closed"); the workers finish
   * the forward passes onnxruntime is running, release their sessions and end. Resolves once
   * every thread has ended.
   */
  close(): Promise<void> {
    if (!this.closing) {
      this.closed = true;
      const err = closedError();
      this.closing = Promise.all(this.slots.map((s) => s.end(err))).then(() => {});
    }
    return this.closing;
  }
}
