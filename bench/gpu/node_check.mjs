// The JS API on a GPU machine (run by run.sh with the node binary packed by pack.sh;
// needs only dist/ and the addon, no node_modules):
// backend 'cuda' and resident handles against the cpu backend, 'auto' above the size
// threshold, the allocator's steady state, and freeing. Prints PASS/FAIL lines and writes JSON.
//   node --expose-gc bench/gpu/node_check.mjs --out node_check.json
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { rng } from '../lib/random.mjs';

// this run is the verification of the CUDA kernels, so `auto` is allowed to pick them
process.env.PRMKIT_AUTO_CUDA ??= '1';
const k = await import(new URL('../../dist/kernels/index.js', import.meta.url).href);
const out = process.argv.includes('--out') ? process.argv[process.argv.indexOf('--out') + 1] : 'node_check.json';
const results = [];
const check = (name, ok, detail = '') => {
  results.push({ name, ok: !!ok, detail });
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
};


function makeCase(seed, B, T, H, dtype) {
  const r = rng(seed);
  const values = Float32Array.from({ length: B * T * H }, () => r() * 2 - 1);
  const data = dtype === 'float32' ? values : k.toHalf(values, dtype);
  const offsets = new Int32Array(B + 1);
  const pos = [];
  for (let b = 0; b < B; b++) {
    const n = b % 4 === 3 ? 0 : 1 + Math.floor(r() * 10);
    for (let j = 0; j < n; j++) pos.push(Math.floor(r() * T));
    offsets[b + 1] = pos.length;
  }
  return { hidden: { data, dtype, dims: [B, T, H] }, boundaries: { offsets, positions: Int32Array.from(pos) } };
}

function linear(seed, K, H, activation) {
  const r = rng(seed);
  return { kind: 'linear', outputs: K, activation, weight: Float32Array.from({ length: K * H }, () => (r() * 2 - 1) / Math.sqrt(H)),
    bias: Float32Array.from({ length: K }, () => r() - 0.5) };
}

function worst(a, b) {
  let w = 0;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) || Number.isNaN(b[i])) { if (Number.isNaN(a[i]) !== Number.isNaN(b[i])) return Infinity; continue; }
    w = Math.max(w, Math.abs(a[i] - b[i]) / (1e-5 + Math.abs(b[i])));
  }
  return w;
}

const info = k.backends();
check('backends().cuda.available', info.cuda.available, JSON.stringify(info.cuda));
if (info.cuda.available) {
  for (const dtype of ['float32', 'float16', 'bfloat16']) {
    const H = 776;
    const c = makeCase(3, 24, 96, H, dtype);
    const heads = [linear(1, 1, H, 'sigmoid'), linear(2, 2, H, 'softmax'), linear(3, 7, H, 'softmax'),
      { kind: 'logits', activation: 'softmax', columns: Int32Array.of(5, 9, 700), positive: 0 },
      { kind: 'logits', activation: 'softmax' }];
    const dev = k.uploadHidden(c.hidden);
    for (const [i, head] of heads.entries()) {
      const cpu = k.scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu' });
      const viaHost = await k.scoreBatch(c.hidden, c.boundaries, head, { backend: 'cuda' });
      const resident = await dev.score(c.boundaries, head);
      for (const [name, r] of [['host', viaHost], ['resident', resident]]) {
        let w = worst(r.stepLogProbs, cpu.stepLogProbs);
        for (const a of k.AGGREGATIONS) w = Math.max(w, worst(r.aggregates[a], cpu.aggregates[a]));
        const fe = r.firstError.every((v, j) => v === cpu.firstError[j]);
        check(`${dtype} head ${i} ${name} matches cpu`, w < 1e-3 && fe, `worst rel ${w.toExponential(2)}, firstError ${fe}`);
      }
    }
    const g = dev.gatherRows(c.boundaries), gc = k.gatherRows(c.hidden, c.boundaries, { backend: 'cpu' });
    check(`${dtype} resident gatherRows equals cpu`, g.length === gc.length && g.every((v, j) => Object.is(v, gc[j])));
    dev.free();
    let threw = false;
    try { dev.scoreSync(c.boundaries, heads[0]); } catch (e) { threw = /freed/.test(e.message); }
    check(`${dtype} freed handle throws`, threw);
  }
  // with PRMKIT_AUTO_CUDA=1, auto picks cuda at and above CUDA_AUTO_MIN_BYTES of boundary rows
  const H = 4096, T = Math.ceil(k.CUDA_AUTO_MIN_BYTES / (H * 4)) + 1;
  const big = makeCase(9, 1, T, H, 'float32');
  big.boundaries = { offsets: Int32Array.of(0, T), positions: Int32Array.from({ length: T }, (_, i) => i) };
  const auto = await k.scoreBatch(big.hidden, big.boundaries, linear(4, 2, H, 'softmax'));
  check("'auto' picks cuda above CUDA_AUTO_MIN_BYTES", auto.backend === 'cuda', auto.backend);
  const before = k.deviceMemory();
  for (let i = 0; i < 5; i++) await k.scoreBatch(big.hidden, big.boundaries, linear(4, 2, H, 'softmax'), { backend: 'cuda' });
  const after = k.deviceMemory();
  check('no raw allocations in steady state', after.deviceMallocs === before.deviceMallocs && after.pinnedMallocs === before.pinnedMallocs,
    JSON.stringify({ before, after }));
}
if (info.cuda.available && typeof globalThis.gc === 'function') {
  // a handle dropped without free() is released by the FinalizationRegistry fallback
  const binding = createRequire(import.meta.url)(k.nativeStatus().path);
  const live = binding.cudaLiveHandles();
  (() => { k.uploadHidden(makeCase(5, 2, 8, 64, 'float32').hidden); })();
  const during = binding.cudaLiveHandles();
  for (let i = 0; i < 20 && binding.cudaLiveHandles() > live; i++) {
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  check('a dropped handle is freed at GC', during === live + 1 && binding.cudaLiveHandles() === live,
    `live ${live} -> ${during} -> ${binding.cudaLiveHandles()}`);
}
const failed = results.filter((r) => !r.ok).length;
writeFileSync(out, JSON.stringify({ backends: info, failed, results }, null, 1));
console.log(`${failed ? 'FAILED' : 'PASSED'}: ${results.length - failed}/${results.length}`);
process.exit(failed ? 1 : 0);
