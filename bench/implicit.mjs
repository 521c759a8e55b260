#!/usr/bin/env node
// npm run bench:implicit — the cost of an implicit PRM's log-probability path: log P(next
// token) at every one of 600 positions under an LM head of the perf checkpoint's shape
// (hidden 512, vocabulary 151,936; synthesized weights), the two ways prmkit can read it:
//   kernel  the native LM-head kernel over last_hidden_state (head kept in bfloat16, as the
//           checkpoint stores it; also float32), streamed tiles + online log-sum-exp;
//   graph   the subgraph the converter writes with --log-probs graph, run by onnxruntime:
//           MatMul to the whole [600, 151936] logits, ReduceLogSumExp, GatherElements;
// and the peers a user would otherwise pick, in the same run: PyTorch's log_softmax + gather
// (when the Python environment is there) and prmkit's own js backend (on 8 positions,
// scaled to 600: a plain loop).
// Each measurement runs in its own child process; its peak memory is the highest RSS seen
// during the calls (sampled every 2 ms) above the RSS just before them, i.e. beyond the
// inputs and the weights, which are listed apart. Time: best of the rounds. Writes
// bench/results/implicit.json (--quick: 2 rounds, results elsewhere). Needs npm run build.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchHeader, stampLine, stamp, writeResult } from './lib/out.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 5;
const H = 512, V = 151936, N = 600;
const THREADS = Math.min(os.availableParallelism(), 2);
const venv = process.env.PRMKIT_TORCH_VENV ?? '/tmp/torch-venv';
const python = join(venv, 'bin', 'python');
const work = join(os.tmpdir(), `prmkit-bench-implicit-${process.pid}`);
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
const ortUrl = pathToFileURL(createRequire(join(root, 'package.json')).resolve('onnxruntime-node')).href;

if (!existsSync(join(root, 'dist', 'kernels', 'index.js'))) {
  console.error('bench:implicit: dist/ is not built (npm run build:ts)');
  process.exit(1);
}
benchHeader('implicit');
mkdirSync(work, { recursive: true });

// the same inputs in every child: seeded hidden states, head and next tokens
const INPUTS = `
  const H = ${H}, V = ${V}, N = ${N};
  let s = 12345;
  const rand = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) - 0.5;
  const hidden = Float32Array.from({ length: (N + 1) * H }, () => rand() * 2);
  const targets = Int32Array.from({ length: N }, (_, i) => (i * 7919 + 13) % V);
  const rows = Int32Array.from({ length: N }, (_, i) => i);
  const bf16Head = () => { const w = new Uint16Array(V * H); const f = new Float32Array(1), u = new Uint32Array(f.buffer); for (let i = 0; i < w.length; i++) { f[0] = rand() * 0.1; w[i] = u[0] >>> 16; } return w; };
  const widen = (w) => { const out = new Float32Array(w.length), u = new Uint32Array(out.buffer); for (let i = 0; i < w.length; i++) u[i] = w[i] << 16; return out; };
  const peak = async (fn) => {
    const before = process.memoryUsage().rss;
    let top = before;
    const timer = setInterval(() => (top = Math.max(top, process.memoryUsage().rss)), 2);
    const t0 = performance.now();
    const out = await fn();
    const ms = performance.now() - t0;
    clearInterval(timer);
    top = Math.max(top, process.memoryUsage().rss);
    return { ms, extra: top - before, out };
  };
  const best = async (fn, rounds) => { let r = { ms: Infinity, extra: 0 }; for (let i = 0; i < rounds; i++) { const x = await peak(fn); r = { ms: Math.min(r.ms, x.ms), extra: Math.max(r.extra, x.extra), out: x.out }; } return r; };
`;

let n = 0;
function child(code, extraEnv = {}) {
  const file = join(work, `child-${n++}.mjs`);
  writeFileSync(file, INPUTS + code);
  const r = spawnSync(process.execPath, ['--expose-gc', file], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, PRMKIT_ALLOW_JS: '1', PRMKIT_THREADS: String(THREADS), ...extraEnv } });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.error?.message}): ${(r.stderr ?? '').slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const checksum = 'Array.from(r.out.subarray(0, 4), (x) => +x.toFixed(5))';

function kernel(dtype) {
  return child(`
    const { tokenLogProbs, lmHeadBackend } = await import(${JSON.stringify(dist('kernels/index.js'))});
    const w16 = bf16Head();
    const head = ${dtype === 'bfloat16'} ? { weight: w16, dtype: 'bfloat16', vocab: V } : { weight: widen(w16), dtype: 'float32', vocab: V };
    const args = { hidden: { data: hidden, dtype: 'float32', dims: [1, N + 1, H] }, rows, targets, head };
    const r = await best(() => tokenLogProbs(args, { backend: 'cpu', threads: ${THREADS} }), ${ROUNDS});
    console.log(JSON.stringify({ ms: r.ms, extra: r.extra, weights: head.weight.byteLength, simd: lmHeadBackend(), check: ${checksum} }));`);
}

function jsLoop() {
  return child(`
    const { tokenLogProbs } = await import(${JSON.stringify(dist('kernels/index.js'))});
    const head = { weight: bf16Head(), dtype: 'bfloat16', vocab: V };
    const few = 8;
    const args = { hidden: { data: hidden, dtype: 'float32', dims: [1, N + 1, H] }, rows: rows.subarray(0, few), targets: targets.subarray(0, few), head };
    const r = await best(() => tokenLogProbs(args, { backend: 'js' }), 1);
    console.log(JSON.stringify({ ms: r.ms * N / few, extra: r.extra, weights: head.weight.byteLength, check: ${checksum} }));`);
}

/** Writes the converter's --log-probs graph tail (float32 head [H, V], transposed for MatMul) in a child of its own. */
function writeGraph() {
  return child(`
    const { OnnxWriter } = await import(${JSON.stringify(dist('convert/onnx-writer.js'))});
    const { join } = await import('node:path');
    const w = widen(bf16Head());
    const wt = new Float32Array(H * V);
    for (let v = 0; v < V; v++) for (let k = 0; k < H; k++) wt[k * V + v] = w[v * H + k];
    const dir = ${JSON.stringify(work)};
    const g = new OnnxWriter(join(dir, 'lp.onnx'), join(dir, 'lp.onnx.data'));
    const x = g.input('hidden', 'float32', ['batch', 'sequence', H]);
    const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
    const logits = g.op('/head/MatMul', 'MatMul', [x, g.tensor('/head/weight', 'float32', [H, V], wt)]);
    const p = '/head/token_logprobs';
    const next = g.op(p + '/next/Slice', 'Slice', [ids, g.ints([1]), g.ints([Number.MAX_SAFE_INTEGER]), g.ints([1])]);
    const pad = g.op(p + '/pad/Mul', 'Mul', [g.op(p + '/pad/Slice', 'Slice', [ids, g.ints([0]), g.ints([1]), g.ints([1])]), g.scalar('int64', 0)]);
    const tg = g.op(p + '/Unsqueeze', 'Unsqueeze', [g.op(p + '/next/Concat', 'Concat', [next, pad], { axis: 1 }), g.ints([-1])]);
    const picked = g.op(p + '/GatherElements', 'GatherElements', [logits, tg], { axis: -1 });
    const lse = g.op(p + '/ReduceLogSumExp', 'ReduceLogSumExp', [logits], { axes: [-1], keepdims: 1 });
    g.op(p + '/Sub', 'Sub', [picked, lse], {}, 'token_logprobs');
    g.output('token_logprobs', ['batch', 'sequence', 1]);
    g.finish('bench-logprobs', 17);
    console.log(JSON.stringify({ weights: wt.byteLength }));`);
}

function graph(weights) {
  // the session loads the written file: nothing but the inputs was allocated before the call
  return child(`
    const ort = (await import(${JSON.stringify(ortUrl)})).default;
    const session = await ort.InferenceSession.create(${JSON.stringify(join(work, 'lp.onnx'))}, { intraOpNumThreads: ${THREADS}, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const idsData = new BigInt64Array(N + 1);
    for (let i = 0; i < N; i++) idsData[i + 1] = BigInt(targets[i]);
    const feeds = { hidden: new ort.Tensor('float32', hidden, [1, N + 1, H]), input_ids: new ort.Tensor('int64', idsData, [1, N + 1]) };
    const r = await best(async () => (await session.run(feeds)).token_logprobs.data.subarray(0, N), ${ROUNDS});
    console.log(JSON.stringify({ ms: r.ms, extra: r.extra, weights: ${weights}, check: ${checksum} }));`);
}

function torch() {
  if (!existsSync(python)) return undefined;
  const file = join(work, 'torch_peer.py');
  writeFileSync(file, `
import json, time, threading, torch, os
torch.set_num_threads(${THREADS})
H, V, N = ${H}, ${V}, ${N}
g = torch.Generator().manual_seed(1)
hidden = torch.rand(N + 1, H, generator=g) - 0.5
W = ((torch.rand(V, H, generator=g) - 0.5) * 0.1).to(torch.bfloat16)
targets = torch.tensor([(i * 7919 + 13) % V for i in range(N)])
PAGE = os.sysconf('SC_PAGE_SIZE')
def rss():
    with open('/proc/self/statm') as f: return int(f.read().split()[1]) * PAGE
def run():
    with torch.no_grad():
        logits = hidden[:N] @ W.float().T
        return logits.log_softmax(-1).gather(1, targets[:, None])[:, 0]
best, extra = float('inf'), 0
for _ in range(${ROUNDS}):
    before = rss(); top = [before]; stop = [False]
    def poll():
        while not stop[0]:
            top[0] = max(top[0], rss()); time.sleep(0.002)
    t = threading.Thread(target=poll); t.start()
    t0 = time.perf_counter(); run(); ms = (time.perf_counter() - t0) * 1000
    stop[0] = True; t.join()
    best = min(best, ms); extra = max(extra, top[0] - before)
print(json.dumps({'ms': best, 'extra': extra, 'weights': W.numel() * 2}))
`);
  const r = spawnSync(python, [file], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`PyTorch peer skipped: ${(r.stderr ?? '').trim().split('\n').pop()}`);
    return undefined;
  }
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

const mib = (b) => `${(b / 2 ** 20).toFixed(b < 2 ** 24 ? 1 : 0)} MiB`;
const rows = [];
const results = {};
results.kernelBf16 = kernel('bfloat16');
results.kernelF32 = kernel('float32');
results.graph = graph(writeGraph().weights);
const t = torch();
if (t) results.torch = t;
results.js = jsLoop();
rmSync(work, { recursive: true, force: true });

const base = results.kernelBf16.ms;
const line = (name, r, note = '') => rows.push(`| ${name} | ${r.ms.toFixed(0)} ms | ${(r.ms / base).toFixed(2)}x | ${mib(r.extra)} | ${mib(r.weights)} | ${note} |`);
line(`kernel (${results.kernelBf16.simd}), bfloat16 head`, results.kernelBf16);
line(`kernel (${results.kernelF32.simd}), float32 head`, results.kernelF32);
line('graph (onnxruntime MatMul + ReduceLogSumExp + GatherElements), float32 head', results.graph);
if (t) line('PyTorch log_softmax + gather, bfloat16 head widened per call', t);
line('js backend (8 positions, scaled)', results.js, 'a plain loop');
const s = stamp();
const report = [
  `log P(next token) at ${N} positions, hidden ${H}, vocabulary ${V}, ${THREADS} threads; best of ${ROUNDS} rounds; load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  '',
  '| way | time | vs kernel (bf16) | peak memory beyond inputs | head weights held | |',
  '|---|---|---|---|---|---|',
  ...rows,
];
console.log([...report, stampLine(s)].join('\n'));
const file = writeResult('implicit', { shape: { H, V, N, threads: THREADS }, results }, { quick, report });
console.log(`written to ${file}`);
