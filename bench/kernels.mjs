#!/usr/bin/env node
// Kernel microbenchmark (npm run bench): the fused score path on native cpu (all threads,
// the Promise form, and one thread), the js reference and onnxruntime-node running the same math as an ONNX graph, against
// this machine's read bandwidth measured in the same run on the same number of bytes.
//
// Each iteration uses the next of 8 boundary sets (and the roofline the next of 8 disjoint
// regions), so the rows read are mostly not in cache, as in a real batch just produced by
// a backbone. Also the GRPO advantages and the BCE loss of head training against their js
// references. Prints tables of medians and ratios; writes bench/results/kernels.json.
import Benchmark from 'benchmark';
import * as ort from 'onnxruntime-node';

import { backends, scoreBatch, scoreBatchSync, toHalf } from '../dist/kernels/index.js';
import { native } from '../dist/kernels/native.js';
import { flatRows, headGraph } from './lib/head-graph.mjs';
import { rng, median } from './lib/random.mjs';
import { benchHeader, writeResult } from './lib/out.mjs';

benchHeader('kernels');

const quick = process.argv.includes('--quick');
const SETS = 8;
const shapes = quick ? [[16, 256, 512]] : [[64, 1024, 1024], [256, 512, 2048]];
const dtypes = ['float32', 'float16', 'bfloat16'];
const heads = [[1, 'sigmoid'], [2, 'softmax']];
const threads = backends().cpu.threads;
const binding = native().binding;
if (!binding) {
  console.error(`prmkit bench: the native addon is not available (${native().reason})`);
  process.exit(1);
}


// 8 to 32 steps per candidate at increasing token positions
function boundarySet(r, B, T) {
  const offsets = new Int32Array(B + 1);
  const positions = [];
  for (let b = 0; b < B; b++) {
    const n = 8 + Math.floor(r() * 25);
    const stride = Math.floor(T / n);
    for (let i = 0; i < n; i++) positions.push(i * stride + Math.floor(r() * stride));
    offsets[b + 1] = positions.length;
  }
  return { offsets, positions: Int32Array.from(positions) };
}


function runSuite(benches) {
  return new Promise((resolve) => {
    const suite = new Benchmark.Suite();
    for (const [name, fn, defer] of benches)
      suite.add(name, defer ? { defer: true, fn: (d) => fn().then(() => d.resolve()) } : fn, {
        minSamples: quick ? 3 : 6,
        maxTime: quick ? 0.3 : 1.2,
        initCount: 1,
      });
    const out = {};
    suite.on('cycle', (e) => {
      out[e.target.name] = median(e.target.stats.sample) * 1000;
      if (global.gc) global.gc();
    });
    suite.on('complete', () => resolve(out));
    suite.run({ async: true });
  });
}

const cases = [];
const rooflines = [];
const table = [];
let seed = 1;

for (const [B, T, H] of shapes)
  for (const dtype of dtypes) {
    const r = rng(seed++);
    // fill the hidden states (1 GiB for the largest float32 case)
    const values = new Float32Array(B * T * H);
    for (let i = 0; i < values.length; i++) values[i] = r() * 2 - 1;
    const data = dtype === 'float32' ? values : toHalf(values, dtype);
    const hidden = { data, dtype, dims: [B, T, H] };
    const sets = Array.from({ length: SETS }, () => boundarySet(r, B, T));
    const elem = dtype === 'float32' ? 4 : 2;
    const S = Math.round(sets.reduce((a, s) => a + s.positions.length, 0) / SETS);
    const bytes = S * H * elem;
    const steps = `${(S / B).toFixed(1)} avg`;

    // roofline: read the same number of bytes from disjoint regions of the same buffer
    const region = Math.floor(bytes / 4);
    const asF32 = new Float32Array(data.buffer, 0, Math.floor(data.byteLength / 4));
    const regions = Array.from({ length: SETS }, (_, i) => asF32.subarray(((i * region) % (asF32.length - region)), ((i * region) % (asF32.length - region)) + region));
    let ri = 0;
    const roof = await runSuite([['roofline', () => binding.readBytes({ data: regions[ri++ % SETS], threads: 0 })]]);
    const readGBps = (region * 4) / (roof.roofline / 1000) / 1e9;
    rooflines.push({ dtype, B, T, H, bytes: region * 4, readGBps });

    // onnxruntime: no bfloat16 tensors in onnxruntime-node, so that case feeds float32
    // decodings and reads twice the bytes (reported as is)
    const ortType = dtype === 'bfloat16' ? 'float32' : dtype;
    const ortData = dtype === 'bfloat16' ? values : data;
    const ortHidden = new ort.Tensor(ortType, ortData, [B, T, H]);
    const ortRows = sets.map((s) => new ort.Tensor('int64', flatRows(s.offsets, s.positions, T), [s.positions.length]));

    for (const [K, activation] of heads) {
      const w = Float32Array.from({ length: K * H }, () => (r() * 2 - 1) / Math.sqrt(H));
      const head = { kind: 'linear', weight: w, outputs: K, activation };
      const session = await ort.InferenceSession.create(headGraph({ dtype: ortType, H, K, weight: w, activation }), {
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
      });
      let i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0;
      const times = await runSuite([
        ['cpu', () => scoreBatchSync(hidden, sets[i1++ % SETS], head, { backend: 'cpu' })],
        // the Promise form: private copies of the small arrays, a held buffer, a worker hop
        ['cpu-async', () => scoreBatch(hidden, sets[i5++ % SETS], head, { backend: 'cpu' }), true],
        ['cpu-1t', () => scoreBatchSync(hidden, sets[i2++ % SETS], head, { backend: 'cpu', threads: 1 })],
        ['js', () => scoreBatchSync(hidden, sets[i3++ % SETS], head, { backend: 'js' })],
        ['ort', () => session.run({ hidden: ortHidden, rows: ortRows[i4++ % SETS] }), true],
      ]);
      await session.release();
      const name = `${B}x${T}x${H} ${dtype} K=${K}`;
      for (const backend of ['cpu', 'cpu-async', 'cpu-1t', 'js', 'ort']) {
        const ms = times[backend];
        const gbps = bytes / (ms / 1000) / 1e9;
        cases.push({ name, dtype, B, T, H, steps: S / B, K, backend, medianMs: +ms.toFixed(4), gbps: +gbps.toFixed(3), rooflineGBps: +readGBps.toFixed(3) });
      }
      const cpu = times.cpu;
      table.push({
        case: name,
        'MB read': (bytes / 1e6).toFixed(1),
        'cpu ms': cpu.toFixed(3),
        'async ms': times['cpu-async'].toFixed(3),
        'cpu-1t ms': times['cpu-1t'].toFixed(3),
        'js ms': times.js.toFixed(2),
        'ort ms': times.ort.toFixed(3),
        'cpu GB/s': (bytes / (cpu / 1000) / 1e9).toFixed(1),
        'roof GB/s': readGBps.toFixed(1),
        '% roof': ((bytes / (cpu / 1000) / 1e9 / readGBps) * 100).toFixed(0) + '%',
        'x js': (times.js / cpu).toFixed(1),
        'x ort': (times.ort / cpu).toFixed(1),
      });
      process.stderr.write(`done: ${name} steps ${steps}\n`);
    }
  }

console.table(table);

// GRPO advantages from step rewards (its own section: bench/lib/advantages.mjs)
const { benchAdvantages } = await import('./lib/advantages.mjs');
const advantages = await benchAdvantages({ runSuite, quick, binding, threads });
console.log('GRPO advantages (native cpu vs js reference vs write+read roofline):');
console.table(advantages.table);
// BCE loss and gradient for head training (bench/lib/bce.mjs)
const { benchBce } = await import('./lib/bce.mjs');
const bce = await benchBce({ runSuite, quick, binding, threads });
console.log('BCE loss + gradient, head training (native cpu vs js reference; % roof: read bandwidth on the rows):');
console.table(bce.table);
const big = rooflines.filter((r) => r.dtype === 'float32');
// the stamp (commit, machine, node, kernels) as every benchmark records it; a --quick run
// writes to a temporary folder, never over bench/results
const file = writeResult(
  'kernels',
  {
    kernels: { simd: backends().cpu.simd, threads, onnxruntime: ort.env.versions?.common ?? 'unknown' },
    roofline: { readGBps: +median(big.map((r) => r.readGBps)).toFixed(3), perCase: rooflines },
    cases,
    advantages: advantages.result,
    bce: bce.result,
  },
  { quick, report: undefined },
);
console.log(`wrote ${file}`);
