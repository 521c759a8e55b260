import { advantageBatch } from './lib/advantages.mjs';
import { checkAdvantageArrays } from '../dist/kernels/advantages.js';
import { native } from '../dist/kernels/native.js';
const b = advantageBatch(7, 256, 16, 24, 1024);
const outs = Array.from({length: 8}, () => new Float32Array(256*16*1024));
const bind = native().binding;
const med = (f) => { const xs = []; for (let i = 0; i < 30; i++) { const t = performance.now(); f(i); xs.push(performance.now() - t); } xs.sort((a, b) => a - b); return xs[15].toFixed(2); };
const args = (i, o) => ({ ...b, out: outs[i % 8], mode: 0, std: 0, eps: 1e-6, threads: 0, ...o });
console.log({
  check: med(() => checkAdvantageArrays(b)),
  proc2: med((i) => bind.advantagesSync(args(i))),
  proc1: med((i) => bind.advantagesSync(args(i, { threads: 1 }))),
  out2: med((i) => bind.advantagesSync(args(i, { mode: 1 }))),
  out1: med((i) => bind.advantagesSync(args(i, { mode: 1, threads: 1 }))),
  write2: med((i) => bind.writeBytes(outs[i % 8], 0)),
  write1: med((i) => bind.writeBytes(outs[i % 8], 1)),
  fill: med((i) => outs[i % 8].fill(1)),
});
