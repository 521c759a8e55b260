// The code each onnxruntime worker thread runs. It is a string evaluated by `new Worker(...,
// { eval: true })` so the same code works from compiled dist/ and from TypeScript sources
// under a test runner (a worker cannot load a .ts file by itself). Protocol:
//   parent → { type: 'run', id, B, T, P, ids (Int32Array), mask (Int32Array), positions
//              (Int32Array), past?: Float32Array[] (key, value per layer), output, present }
//   worker → { type: 'ready', inputNames, outputNames, provider, providerNote }
//          | { type: 'done', id, data (Float32Array), dims, present?: { data, dims }[] }
//          | { type: 'error', id?, message }
// Every large array crosses as a transferred ArrayBuffer (no copies).
export const WORKER_SOURCE = String.raw`
const { parentPort, workerData, threadId } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');

function toInt64(a) {
  const out = new BigInt64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = BigInt(a[i]);
  return out;
}

function ownBuffer(data) {
  // a view on a shared or larger buffer cannot be transferred alone: copy it
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) return data;
  return data.slice();
}

(async () => {
  const ort = await import(pathToFileURL(workerData.ortPath).href);
  const { InferenceSession, Tensor } = ort.default ?? ort;
  let session;
  let provider = 'cpu';
  let providerNote = workerData.providerNote || '';
  const base = {
    intraOpNumThreads: workerData.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  for (const ep of workerData.providers) {
    try {
      session = await InferenceSession.create(workerData.modelPath, { ...base, executionProviders: [ep] });
      provider = ep;
      break;
    } catch (e) {
      providerNote += (providerNote ? '; ' : '') + ep + ' failed: ' + String(e && e.message || e).split('\n')[0];
    }
  }
  if (!session) {
    parentPort.postMessage({ type: 'error', message: 'cannot open ' + workerData.modelPath + ': ' + providerNote });
    return;
  }
  const layers = session.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
  let kvShape = null;
  let kvType = 'float32';
  const meta = session.inputMetadata;
  if (layers > 0 && Array.isArray(meta)) {
    const k0 = meta.find((x) => x.name === 'past_key_values.0.key');
    if (k0 && Array.isArray(k0.shape)) kvShape = k0.shape.map((d) => (typeof d === 'number' ? d : null));
    if (k0 && k0.type === 'float16') kvType = 'float16';
  }
  const EmptyKv = kvType === 'float16' ? Uint16Array : Float32Array;
  parentPort.postMessage({ type: 'ready', inputNames: session.inputNames, outputNames: session.outputNames, provider, providerNote, layers, kvShape, kvType, threadId });
  parentPort.on('message', async (m) => {
    if (m.type !== 'run') return;
    try {
      const feeds = {
        input_ids: new Tensor('int64', toInt64(m.ids), [m.B, m.T]),
        attention_mask: new Tensor('int64', toInt64(m.mask), [m.B, m.P + m.T]),
      };
      if (session.inputNames.includes('position_ids')) feeds.position_ids = new Tensor('int64', toInt64(m.positions), [m.B, m.T]);
      for (let l = 0; l < layers; l++) {
        const k = m.past ? m.past[2 * l] : new EmptyKv(0);
        const v = m.past ? m.past[2 * l + 1] : new EmptyKv(0);
        const dims = [m.B, m.kvHeads, m.P, m.headDim];
        feeds['past_key_values.' + l + '.key'] = new Tensor(kvType, k, dims);
        feeds['past_key_values.' + l + '.value'] = new Tensor(kvType, v, dims);
      }
      const fetches = [m.output];
      if (m.present) for (let l = 0; l < layers; l++) fetches.push('present.' + l + '.key', 'present.' + l + '.value');
      const out = await session.run(feeds, fetches);
      const main = out[m.output];
      if (main.type !== 'float32' && main.type !== 'float16') throw new Error('output ' + m.output + ' has type ' + main.type + ', expected float32 or float16');
      // float16 travels as its raw bits (what the kernels read)
      const raw = (d) => (d instanceof Uint16Array || d instanceof Float32Array ? d : new Uint16Array(d.buffer, d.byteOffset, d.length));
      const data = ownBuffer(raw(main.data));
      const transfer = [data.buffer];
      let present;
      if (m.present) {
        present = [];
        for (let l = 0; l < layers; l++)
          for (const kind of ['key', 'value']) {
            const t = out['present.' + l + '.' + kind];
            const d = ownBuffer(raw(t.data));
            present.push({ data: d, dims: t.dims.map(Number) });
            transfer.push(d.buffer);
          }
      }
      const msg = { type: 'done', id: m.id, data, dtype: main.type, dims: main.dims.map(Number), present };
      try {
        parentPort.postMessage(msg, transfer);
      } catch {
        // buffers owned by the runtime cannot be detached: send copies
        msg.data = data.slice();
        if (present) for (const p of present) p.data = p.data.slice();
        parentPort.postMessage(msg, [msg.data.buffer, ...(present || []).map((p) => p.data.buffer)]);
      }
    } catch (e) {
      parentPort.postMessage({ type: 'error', id: m.id, message: String(e && e.message || e) });
    }
  });
})().catch((e) => parentPort.postMessage({ type: 'error', message: String(e && e.message || e) }));
`;
