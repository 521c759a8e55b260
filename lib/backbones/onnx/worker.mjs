// @ts-check
// One onnxruntime session on its own thread: run() holds its thread for the whole forward
// pass, so it never runs on the event loop. Plain JavaScript so the same file runs from
// lib/ (tests on the sources) and dist/ (the package); the types of every message are the
// ones protocol.ts declares, checked by tsc through the JSDoc below.
import { parentPort, workerData, threadId } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { KvStore } from './kv-store.mjs';

/** @typedef {import('./protocol.js').WorkerInit} WorkerInit */
/** @typedef {import('./protocol.js').ToWorker} ToWorker */
/** @typedef {import('./protocol.js').RunMessage} RunMessage */
/** @typedef {import('./protocol.js').FromWorker} FromWorker */
/** @typedef {import('./protocol.js').DoneMessage} DoneMessage */
/** @typedef {import('onnxruntime-node').InferenceSession} Session */
/** @typedef {import('onnxruntime-node').Tensor} OrtTensor */

if (!parentPort) throw new Error('worker.mjs runs as a worker thread of OnnxBackbone');
const port = parentPort;
/** @type {WorkerInit} */
const init = workerData;

/** @param {FromWorker} m @param {ArrayBuffer[]} [transfer] */
function send(m, transfer = []) {
  port.postMessage(m, transfer);
}

/** @param {unknown} e */
function messageOf(e) {
  return e instanceof Error ? e.message : String(e);
}

/** @param {Int32Array} a */
function toInt64(a) {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return out;
}

/**
 * float16 tensors arrive as Uint16Array or Float16Array; both travel as their raw bits
 * (what the kernels read).
 * @param {OrtTensor} t
 * @returns {Float32Array | Uint16Array}
 */
function rawData(t) {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Uint16Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2);
  throw new Error(`output has data of type ${typeof d}`);
}

/**
 * A view on a shared or larger buffer cannot be transferred alone: copy it.
 * @param {Float32Array | Uint16Array} data
 */
function ownBuffer(data) {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data;
  return data.slice();
}

/** @param {Float32Array | Uint16Array} a */
function bufferOf(a) {
  const b = a.buffer;
  if (!(b instanceof ArrayBuffer)) throw new Error('a shared buffer cannot be transferred');
  return b;
}

// Closing: the parent sends 'close' and waits for this thread to end by itself. Runs already
// received finish (their answers are sent, whether or not anyone still waits), then the
// session is released and the port closed, which lets the thread end.
let closing = false;
/** @type {Set<Promise<void>>} */
const inFlight = new Set();
/** @type {(m: RunMessage) => Promise<void>} */
let run = async (m) => send({ type: 'error', id: m.id, message: 'the session is not open yet' });
/** @type {() => Promise<void>} */
let release = async () => {};
/** @type {KvStore | undefined} */
let store;

async function shutdown() {
  await Promise.allSettled([...inFlight]);
  try {
    await release();
  } finally {
    port.close();
  }
}

port.on('message', (/** @type {ToWorker} */ m) => {
  if (m.type === 'free') {
    store?.free(m.blocks);
    return;
  }
  if (m.type === 'close') {
    if (closing) return;
    closing = true;
    // before the session is open, main() shuts down once it is
    if (opened) void shutdown();
    return;
  }
  if (closing) {
    send({ type: 'error', id: m.id, message: 'onnx backbone is closed' });
    return;
  }
  const p = run(m).finally(() => inFlight.delete(p));
  inFlight.add(p);
});

let opened = false;

async function main() {
  /** @type {typeof import('onnxruntime-node')} */
  const ort = await import(pathToFileURL(init.ortPath).href);
  const { InferenceSession, Tensor } = ort;
  /** @type {Session | undefined} */
  let session;
  /** @type {import('./protocol.js').ReadyMessage['provider']} */
  let provider = 'cpu';
  let providerNote = init.providerNote;
  for (const ep of init.providers) {
    try {
      session = await InferenceSession.create(init.modelPath, {
        intraOpNumThreads: init.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        // onnxruntime's load-time warnings (unused initializers and the like) are not the user's concern
        logSeverityLevel: 3,
        executionProviders: [ep],
      });
      provider = ep;
      break;
    } catch (e) {
      providerNote += `${providerNote ? '; ' : ''}${ep} failed: ${messageOf(e).split('\n')[0]}`;
    }
  }
  if (!session) {
    send({ type: 'error', message: `cannot open ${init.modelPath}: ${providerNote}` });
    port.close();
    return;
  }
  const s = session;
  release = () => s.release();
  opened = true;
  if (closing) return shutdown();
  const layers = s.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
  /** @type {Array<number | null> | null} */
  let kvShape = null;
  /** @type {'float32' | 'float16'} */
  let kvType = 'float32';
  if (layers > 0) {
    const k0 = s.inputMetadata.find((x) => x.name === 'past_key_values.0.key');
    if (k0 && k0.isTensor) {
      kvShape = k0.shape.map((d) => (typeof d === 'number' ? d : null));
      if (k0.type === 'float16') kvType = 'float16';
    }
  }
  const hasPositions = s.inputNames.includes('position_ids');
  const kv = (store = new KvStore(Tensor, layers, kvType));
  send({ type: 'ready', inputNames: [...s.inputNames], outputNames: [...s.outputNames], provider, providerNote, layers, kvShape, kvType, threadId });

  run = async (m) => {
    try {
      /** @type {Record<string, OrtTensor>} */
      const feeds = {
        input_ids: new Tensor('int64', toInt64(m.ids), [m.B, m.T]),
        attention_mask: new Tensor('int64', toInt64(m.mask), [m.B, m.P + m.T]),
      };
      if (hasPositions) feeds.position_ids = new Tensor('int64', toInt64(m.positions), [m.B, m.T]);
      // before any await: a `free` that arrives later cannot take blocks this run reads
      if (layers > 0) kv.feed(m, feeds);
      const keep = m.kv?.keep;
      const fetches = [m.output];
      if (keep !== undefined) for (let l = 0; l < layers; l++) fetches.push(`present.${l}.key`, `present.${l}.value`);
      const out = await s.run(feeds, fetches);
      const main = out[m.output];
      if (main.type !== 'float32' && main.type !== 'float16') throw new Error(`output ${m.output} has type ${main.type}, expected float32 or float16`);
      const data = ownBuffer(rawData(main));
      const dims = main.dims.map(Number);
      if (dims.length !== 3) throw new Error(`output ${m.output} has ${dims.length} dimensions, expected [batch, sequence, width]`);
      /** @type {DoneMessage} */
      const done = { type: 'done', id: m.id, data, dtype: main.type, dims: [dims[0], dims[1], dims[2]] };
      // the keys/values stay here; only their slots cross
      if (keep !== undefined) done.keptSlots = kv.keep(keep, out);
      try {
        send(done, [bufferOf(data)]);
      } catch {
        // buffers owned by the runtime cannot be detached: send a copy
        done.data = data.slice();
        send(done, [bufferOf(done.data)]);
      }
    } catch (e) {
      send({ type: 'error', id: m.id, message: messageOf(e) });
    }
  };
}

main().catch((e) => {
  send({ type: 'error', message: messageOf(e) });
  port.close();
});
