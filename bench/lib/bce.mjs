// The BCE kernel (head training) in the kernel benchmark: loss and gradient of a linear head
// (one and two outputs) and of the Qwen-style MLP head over gathered rows, native cpu (all
// threads and one) against the js reference (a plain float64 loop, the peer a user without
// the addon has). The linear heads read each row once and are bounded by memory: their
// roofline is this machine's read bandwidth on the same bytes.
import { bceLossSync, headParamCount } from '../../dist/kernels/index.js';
import { rng } from './random.mjs';

function batch(seed, N, H, head) {
  const r = rng(seed);
  const data = Float32Array.from({ length: N * H }, () => r() * 2 - 1);
  const labels = Float32Array.from({ length: N }, () => (r() < 0.3 ? Math.round(r() * 8) / 8 : r() < 0.5 ? 0 : 1));
  const params = Float32Array.from({ length: headParamCount(head, H) }, () => (r() * 2 - 1) * 0.05);
  return { rows: { data, dims: [N, H] }, labels, head, params };
}

export async function benchBce({ runSuite, quick, binding, threads }) {
  const [N, H] = quick ? [2048, 256] : [16384, 2048];
  const [Nm, Hm] = quick ? [256, 128] : [1024, 512];
  const cases = [
    [`${N}x${H} linear K=1`, batch(1, N, H, { kind: 'linear', activation: 'sigmoid', outputs: 1 })],
    [`${N}x${H} linear K=2`, batch(2, N, H, { kind: 'linear', activation: 'softmax', outputs: 2 })],
    [`${Nm}x${Hm} mlp ${Hm}->${Hm}->2`, batch(3, Nm, Hm, { kind: 'mlp', hidden: Hm, activation: 'softmax', outputs: 2 })],
  ];
  const table = [];
  const result = [];
  for (const [name, args] of cases) {
    const out = new Float32Array(args.params.length);
    const bytes = args.rows.data.byteLength;
    const linear = args.head.kind === 'linear';
    const times = await runSuite([
      ['cpu', () => bceLossSync(args, { backend: 'cpu', out })],
      ['cpu-1t', () => bceLossSync(args, { backend: 'cpu', threads: 1, out })],
      ['js', () => bceLossSync(args, { backend: 'js', out })],
      ...(linear ? [['roof', () => binding.readBytes({ data: args.rows.data, threads: 0 })]] : []),
    ]);
    const flops = linear ? 4 * N * H * args.head.outputs : 4 * Nm * Hm * args.head.hidden;
    table.push({
      case: name,
      'MB rows': (bytes / 1e6).toFixed(1),
      'cpu ms': times.cpu.toFixed(3),
      'cpu-1t ms': times['cpu-1t'].toFixed(3),
      'js ms': times.js.toFixed(2),
      'GFLOP/s': (flops / (times.cpu / 1000) / 1e9).toFixed(2),
      '% roof': linear ? ((times.roof / times.cpu) * 100).toFixed(0) + '%' : '-',
      'x js': (times.js / times.cpu).toFixed(1),
    });
    result.push({ case: name, bytes, flops, threads, medianMs: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, +v.toFixed(4)])) });
  }
  return { table, result };
}
