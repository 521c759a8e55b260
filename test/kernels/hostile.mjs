// Callers that change, shrink, transfer or swap the kernels' inputs while a call is under
// way. Run by ownership.test.ts in a child process (node --expose-gc test/kernels/hostile.mjs
// CASE), because the failure this guards against is the process dying: each case prints one
// JSON line with what it saw and exits 0.
import { join } from 'node:path';
import { churn, dist, gc, k, native } from '../helpers/hostile.mjs';

function bigCase(B = 32, T = 256, H = 1024, dtype = 'float32') {
  const n = B * T * H;
  const values = new Float32Array(n);
  for (let i = 0; i < n; i += 7) values[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
  const data = dtype === 'float32' ? values : k.toHalf(values, dtype);
  const steps = 48;
  const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * steps);
  const positions = Int32Array.from({ length: B * steps }, (_, s) => (s * 37) % T);
  const weight = Float32Array.from({ length: 2 * H }, (_, i) => Math.sin(i) / 16);
  const head = { kind: 'linear', weight, bias: Float32Array.from([0.1, -0.2]), outputs: 2, activation: 'softmax' };
  return { hidden: { data, dtype, dims: [B, T, H] }, boundaries: { offsets, positions }, head };
}

const clone = (c) => ({
  hidden: { ...c.hidden, data: c.hidden.data.slice() },
  boundaries: { offsets: c.boundaries.offsets.slice(), positions: c.boundaries.positions.slice() },
  head: { ...c.head, weight: c.head.weight.slice(), bias: c.head.bias.slice() },
});

const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

// structuredClone with a transfer list detaches the original (what ArrayBuffer.prototype.transfer does)
const transfer = (buf) => structuredClone(buf, { transfer: [buf] });

const cases = {
  // the small arrays are rewritten right after the call returns its Promise
  async 'mutate-small-arrays'() {
    const out = {};
    for (const backend of ['cpu', 'js']) {
      const c = bigCase();
      const expected = k.scoreBatchSync(clone(c).hidden, clone(c).boundaries, clone(c).head, { backend });
      const p = k.scoreBatch(c.hidden, c.boundaries, c.head, { backend });
      c.boundaries.positions.fill(0x7fffffff);
      c.boundaries.offsets.fill(0x7fffffff);
      c.head.weight.fill(NaN);
      c.head.bias.fill(1e30);
      const r = await p;
      out[backend] = same(r.stepLogProbs, expected.stepLogProbs) && same(r.aggregates.prod, expected.aggregates.prod) && same(r.firstError, expected.firstError);
    }
    return out;
  },

  // hidden.data's buffer is transferred away and the new owner collected while the call runs
  async 'transfer-hidden'() {
    const out = {};
    for (const [dtype, backend] of [['float32', 'cpu'], ['bfloat16', 'cpu'], ['float16', 'js']]) {
      const c = bigCase(32, 256, 1024, dtype);
      const expected = k.scoreBatchSync(clone(c).hidden, c.boundaries, c.head, { backend });
      const p = k.scoreBatch(c.hidden, c.boundaries, c.head, { backend });
      let moved = transfer(c.hidden.data.buffer);
      moved = null;
      for (let i = 0; i < 3; i++) {
        gc();
        churn();
        await new Promise((r) => setTimeout(r, 1));
      }
      const r = await p;
      out[`${dtype} ${backend}`] = { detached: c.hidden.data.length === 0, same: same(r.stepLogProbs, expected.stepLogProbs), moved };
    }
    // the raw binding's caller-allocated outputs, transferred and collected while pool threads write them
    const c = bigCase(32, 256, 1024);
    const a = rawArgs(c);
    const p = native().binding.score(a);
    let gone = [transfer(a.stepLogProbs.buffer), transfer(a.firstError.buffer), transfer(a.aggregates.prod.buffer)];
    gone = null;
    gc();
    churn();
    await p;
    out['raw outputs'] = { detached: a.stepLogProbs.length === 0 && a.firstError.length === 0, gone };
    return out;
  },

  // bceLoss's rows and params transferred and collected while the native call reads them
  async 'transfer-bce'() {
    const N = 16384, H = 512;
    const base = new Float32Array(N * H);
    for (let i = 0; i < base.length; i += 3) base[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
    const labels = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : i % 3 === 1 ? 0 : 0.375));
    const head = { kind: 'linear', activation: 'softmax', outputs: 2 };
    const params0 = Float32Array.from({ length: 2 * H + 2 }, (_, i) => Math.sin(i) / 8);
    const make = () => ({ rows: { data: base.slice(), dims: [N, H] }, labels, head, params: params0.slice() });
    const expected = k.bceLossSync(make(), { backend: 'cpu' });
    const a = make();
    const p = k.bceLoss(a, { backend: 'cpu' });
    let moved = [transfer(a.rows.data.buffer), transfer(a.params.buffer)];
    moved = null;
    for (let i = 0; i < 3; i++) {
      gc();
      churn();
      await new Promise((r) => setTimeout(r, 1));
    }
    const r = await p;
    return { detached: a.rows.data.length === 0 && a.params.length === 0, same: r.loss === expected.loss && same(r.gradient, expected.gradient), moved };
  },

  // resizable and growable buffers are refused up front, with the same TypeError everywhere
  async 'resizable'() {
    const c = bigCase(2, 8, 16);
    const rab = new ArrayBuffer(c.hidden.data.byteLength, { maxByteLength: c.hidden.data.byteLength * 2 });
    const data = new Float32Array(rab, 0, c.hidden.data.length);
    data.set(c.hidden.data);
    const errors = {};
    for (const backend of ['cpu', 'js']) {
      try {
        const p = k.scoreBatch({ ...c.hidden, data }, c.boundaries, c.head, { backend });
        rab.resize(0);
        await p;
        errors[backend] = 'accepted';
      } catch (e) {
        errors[backend] = `${e.constructor.name}: ${e.message}`;
      }
      rab.resize(c.hidden.data.byteLength);
    }
    // the raw binding refuses it too (and so cannot be made to read pages a shrink unmapped)
    const b = native().binding;
    const raw = rawArgs(c);
    raw.data = data;
    try {
      const p = b.score(raw);
      rab.resize(0);
      await p;
      errors.raw = 'accepted';
    } catch (e) {
      errors.raw = `${e.constructor.name}: ${e.message}`;
    }
    return errors;
  },

  // raw binding: getters that transfer or swap arrays after earlier ones were read
  async 'raw-getters'() {
    const b = native().binding;
    const results = {};
    const c = bigCase(8, 64, 256);
    for (const [name, make] of Object.entries({
      'head getter transfers data': (a) => {
        const data = a.data;
        Object.defineProperty(a, 'head', { get: () => (transfer(data.buffer), gc(), churn(), c.head && { ...rawArgs(c).head }), enumerable: true });
      },
      'threshold getter transfers positions': (a) => {
        const pos = a.positions;
        Object.defineProperty(a, 'threshold', { get: () => (transfer(pos.buffer), gc(), 0.5) });
      },
      'positions getter answers differently each time': (a) => {
        let n = 0;
        const good = a.positions, bad = Int32Array.from(a.positions).fill(1 << 30);
        Object.defineProperty(a, 'positions', { get: () => (n++ === 0 ? good : bad) });
      },
      'stepLogProbs getter transfers data, async': (a) => {
        const data = a.data;
        Object.defineProperty(a, 'stepLogProbs', { get: () => (transfer(data.buffer), new Float32Array(a.offsets[a.offsets.length - 1])) });
        a.async = true;
      },
    })) {
      const a = rawArgs(clone(c));
      make(a);
      try {
        if (a.async) await b.score(a);
        else b.scoreSync(a);
        results[name] = 'ran';
      } catch (e) {
        results[name] = `${e.constructor.name}: ${e.message}`;
      }
    }
    return results;
  },

  // SharedArrayBuffer-backed inputs: same results on every backend (and on the raw binding)
  async 'shared'() {
    const c = bigCase(4, 32, 64);
    const share = (a) => {
      const s = new a.constructor(new SharedArrayBuffer(a.byteLength));
      s.set(a);
      return s;
    };
    const sc = {
      hidden: { ...c.hidden, data: share(c.hidden.data) },
      boundaries: { offsets: share(c.boundaries.offsets), positions: share(c.boundaries.positions) },
      head: { ...c.head, weight: share(c.head.weight), bias: share(c.head.bias) },
    };
    const plain = k.scoreBatchSync(c.hidden, c.boundaries, c.head, { backend: 'cpu' });
    const out = {};
    for (const backend of ['cpu', 'js']) {
      const r = await k.scoreBatch(sc.hidden, sc.boundaries, sc.head, { backend });
      out[backend] = backend === 'cpu' ? same(r.stepLogProbs, plain.stepLogProbs) : r.stepLogProbs.every((v, i) => Math.abs(v - plain.stepLogProbs[i]) < 1e-5);
    }
    out.gather = same(k.gatherRows(sc.hidden, sc.boundaries, { backend: 'cpu' }), k.gatherRows(sc.hidden, sc.boundaries, { backend: 'js' }));
    const lp = share(plain.stepLogProbs);
    out.reductions =
      same(k.aggregate({ stepLogProbs: lp, offsets: sc.boundaries.offsets, how: 'mean' }, { backend: 'cpu' }), k.aggregate({ stepLogProbs: lp, offsets: sc.boundaries.offsets, how: 'mean' }, { backend: 'js' })) &&
      same(k.rankGroups({ scores: lp, groupOffsets: Int32Array.from([0, lp.length]) }, { backend: 'cpu' }), k.rankGroups({ scores: lp, groupOffsets: Int32Array.from([0, lp.length]) }, { backend: 'js' }));
    return out;
  },

  // the environment the kernels read
  async 'env'() {
    const b = k.backends();
    let cpuError = null;
    try {
      const c = bigCase(1, 2, 4);
      k.scoreBatchSync(c.hidden, c.boundaries, { ...c.head, weight: new Float32Array(8) }, { backend: 'cpu' });
    } catch (e) {
      cpuError = `${e.constructor.name}: ${e.message}`;
    }
    // the addon itself refuses to load with a bad value (no abort)
    let rawLoad = 'loaded';
    try {
      const { createRequire } = await import('node:module');
      createRequire(import.meta.url)(process.env.PRMKIT_NATIVE_PATH ?? join(dist, '..', '..', 'build', 'Release', 'prmkit.node'));
    } catch (e) {
      rawLoad = `${e.constructor.name}: ${e.message}`;
    }
    return { cpu: b.cpu, cpuError, rawLoad };
  },
};

function rawArgs(c) {
  const [B, T, H] = c.hidden.dims;
  return {
    data: c.hidden.data, dtype: c.hidden.dtype, B, T, H,
    offsets: c.boundaries.offsets, positions: c.boundaries.positions, threads: 0, backend: 'cpu',
    head: { kind: 'linear', activation: 'softmax', positive: 1, outputs: 2, weight: c.head.weight, bias: c.head.bias },
    threshold: 0.5, stepLogProbs: new Float32Array(c.boundaries.positions.length), aggregates: { prod: new Float32Array(B) },
    firstError: new Int32Array(B),
  };
}

const name = process.argv[2];
if (!cases[name]) {
  console.error(`usage: hostile.mjs ${Object.keys(cases).join('|')}`);
  process.exit(2);
}
console.log(JSON.stringify(await cases[name]()));
