#!/usr/bin/env node
// npm run bench:7b (not in CI) — a model of Qwen2.5-Math-PRM-7B's real size on one machine:
//   1. make a random-weight checkpoint with the real 7B configuration (../shared/tools/
//      make_7b_checkpoint.py: 15 GB of bf16 shards, once, into a cache folder outside the
//      repository: $PRMKIT_BENCH_7B_CACHE, default <tmpdir>/prmkit-7b);
//   2. `prmkit convert` it to int8 and int4, each in a child process (its peak RSS);
//   3. score a few ProcessBench chains with each (a child process each: tokens/s, peak RSS),
//      and run the PyTorch bf16 recipe (one chain per forward) on the same chains in the same
//      run (bench/lib/torch_prm_7b.py: tokens/s, peak RSS).
// Prints the tables and writes bench/results/7b.json. --layers N makes a shallower model of the
// same width (quick checks; results go to a temporary folder, as --quick's do: 2 layers, 2
// chains); --chains K scores K chains (default 4); --skip-torch leaves the PyTorch side out
// (it needs ~16 GB).
// The checks before the work: free disk for the checkpoint and outputs, and free memory.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchHeader, writeResult } from './lib/out.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const shared = join(root, '..', 'shared');
const argv = process.argv.slice(2);
const flag = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? dflt : Number(argv[i + 1]);
};
const LAYERS = flag('layers', argv.includes('--quick') ? 2 : 28);
const CHAINS = flag('chains', argv.includes('--quick') ? 2 : 4);
const skipTorch = argv.includes('--skip-torch');
const quick = LAYERS !== 28 || argv.includes('--quick');
const venv = process.env.PRMKIT_TORCH_VENV ?? '/tmp/torch-venv';
const python = join(venv, 'bin', 'python');
const cache = process.env.PRMKIT_BENCH_7B_CACHE ?? join(os.tmpdir(), 'prmkit-7b');
const THREADS = os.availableParallelism();
const GB = 2 ** 30;

if (!existsSync(join(root, 'dist', 'convert', 'index.js'))) {
  console.error('bench:7b: dist/ is not built (npm run build:ts)');
  process.exit(1);
}
benchHeader('7b');
mkdirSync(cache, { recursive: true });
const ck = join(cache, LAYERS === 28 ? 'qwen2.5-math-prm-7b' : `qwen2.5-math-prm-7b-${LAYERS}-layers`);
// bf16 weights per layer and outside the layers (embedding, norm, score head), in bytes
const perLayer = 2 * (3584 * 3584 * 2 + 2 * 512 * 3584 + 3 * 3584 * 18944);
const checkpointBytes = 2 * (152064 * 3584 + 3584 * 3584) + LAYERS * perLayer;
const freeDisk = () => {
  const s = statfsSync(cache);
  return s.bavail * s.bsize;
};
// the checkpoint, int8 (~1.1 bytes a weight with the float16 embedding) and int4 (~0.6)
const needDisk = (existsSync(join(ck, 'model.safetensors.index.json')) ? 0 : checkpointBytes) + 1.8 * (checkpointBytes / 2) + 2 * GB;
if (freeDisk() < needDisk) {
  console.error(`bench:7b: ${cache} has ${(freeDisk() / GB).toFixed(1)} GB free, the run needs about ${(needDisk / GB).toFixed(1)} GB`);
  process.exit(1);
}
console.log(`memory: ${(os.totalmem() / GB).toFixed(1)} GB, ${(os.freemem() / GB).toFixed(1)} GB free; disk: ${(freeDisk() / GB).toFixed(1)} GB free in ${cache}`);
if (!existsSync(join(ck, 'model.safetensors.index.json'))) {
  if (!existsSync(python)) {
    console.error(`bench:7b: no checkpoint in ${ck} and no Python environment at ${venv} to make one (PRMKIT_TORCH_VENV)`);
    process.exit(1);
  }
  console.log(`making the ${LAYERS}-layer checkpoint in ${ck} (once; ${(checkpointBytes / GB).toFixed(1)} GB) ...`);
  execFileSync(python, [join(shared, 'tools', 'make_7b_checkpoint.py'), ck, join(root, 'node_modules', '@lenml', 'tokenizer-qwen2_5', 'models'), '--layers', String(LAYERS), '--shard-gb', '2'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// ---- chains: the first K ProcessBench gsm8k chains of at most 600 tokens ---------------------
const pb = join(shared, 'data', 'processbench', 'gsm8k.json');
const chains = JSON.parse(readFileSync(pb, 'utf8'))
  .map((c) => ({ id: c.id, problem: c.problem, steps: c.steps }))
  .filter((c) => (c.problem.length + c.steps.join('').length) / 3.5 < 600)
  .slice(0, CHAINS);
const chainsFile = join(cache, `chains-${CHAINS}.json`);
writeFileSync(chainsFile, JSON.stringify(chains));

// ---- a child process per measurement (peak RSS is per process) -----------------------------------
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
function child(code) {
  const file = join(cache, `child-${process.pid}.mjs`);
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', maxBuffer: 1 << 26, env: { ...process.env, PRMKIT_ALLOW_JS: '1' } });
  rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.error?.message}): ${(r.stderr ?? '').slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const rss = 'process.resourceUsage().maxRSS * 1024';

const conversions = {};
for (const dtype of ['int8', 'int4']) {
  const out = join(cache, `${ck.split('/').pop()}-${dtype}`);
  console.log(`converting to ${dtype} ...`);
  conversions[dtype] = {
    out,
    ...child(`import { convert } from ${JSON.stringify(dist('convert/index.js'))};
      const r = await convert({ input: ${JSON.stringify(ck)}, output: ${JSON.stringify(out)}, overwrite: true, dtype: '${dtype}' });
      console.log(JSON.stringify({ seconds: r.seconds, sourceBytes: r.sourceBytes, outputBytes: r.outputBytes, largest: r.largestTensorBytes, form: r.int8?.form, peakRss: ${rss} }));`),
  };
}

function scoreWith(dir) {
  return child(`import { readFileSync } from 'node:fs';
    import { Prm } from ${JSON.stringify(dist('prm/index.js'))};
    const chains = JSON.parse(readFileSync(${JSON.stringify(chainsFile)}, 'utf8'));
    const t0 = performance.now();
    const prm = await Prm.load({ model: ${JSON.stringify(dir)}, workers: { count: 1, threads: ${THREADS} } });
    const loadS = (performance.now() - t0) / 1000;
    await prm.score([{ problem: 'warm up', steps: ['1 + 1 = 2'] }]);
    const enc = prm.encode(chains);
    const t = performance.now();
    const res = await prm.scoreEncoded(enc);
    const s = (performance.now() - t) / 1000;
    const tokens = res.reduce((a, r) => a + r.tokens, 0);
    console.log(JSON.stringify({ tokens, s, tokensPerS: tokens / s, loadS, stepProbs: res.map((r) => r.stepProbs), peakRss: ${rss} }));
    await prm.close();`);
}

const rows = [];
let torch;
if (!skipTorch && existsSync(python)) {
  console.log('PyTorch bf16 recipe ...');
  const out = execFileSync(python, [join(here, 'lib', 'torch_prm_7b.py'), ck, chainsFile, String(THREADS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  torch = JSON.parse(out.trim().split('\n').pop());
  rows.push({ way: 'PyTorch bf16, model card recipe (1 chain / forward)', ...torch });
}
for (const dtype of ['int8', 'int4']) {
  console.log(`scoring with ${dtype} ...`);
  const r = scoreWith(conversions[dtype].out);
  rows.push({ way: `prmkit ${dtype}${conversions[dtype].form ? ` (${conversions[dtype].form})` : ''}`, ...r });
}

// ---- report ----------------------------------------------------------------------------------
const gb = (b) => `${(b / GB).toFixed(2)} GB`;
const maxDiff = (a, b) => a.reduce((m, row, i) => row.reduce((mm, p, j) => Math.max(mm, Math.abs(p - b[i][j])), m), 0);
const report = [
  `Qwen2.5-Math-PRM-7B configuration, random weights, ${LAYERS} layers (checkpoint ${gb(checkpointBytes)} bf16); ${chains.length} ProcessBench gsm8k chains, ${rows[0]?.tokens ?? '?'} tokens; ${THREADS} threads; load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}; machine memory ${gb(os.totalmem())}`,
  '',
  '| conversion | seconds | checkpoint read | written | largest tensor | peak RSS |',
  '|---|---|---|---|---|---|',
  ...Object.entries(conversions).map(([dtype, c]) => `| ${dtype}${c.form ? ` (${c.form})` : ''} | ${c.seconds.toFixed(0)} | ${gb(c.sourceBytes)} | ${gb(c.outputBytes)} | ${gb(c.largest)} | ${gb(c.peakRss)} |`),
  '',
  '| scoring | tokens/s | × PyTorch bf16 | max |Δp| vs PyTorch | load s | peak RSS |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.way} | ${r.tokensPerS.toFixed(1)} | ${torch ? (r.tokensPerS / torch.tokensPerS).toFixed(2) : 'skipped'} | ${torch && r !== rows[0] ? maxDiff(r.stepProbs, torch.stepProbs).toExponential(1) : '-'} | ${r.loadS.toFixed(0)} | ${gb(r.peakRss)} |`),
];
console.log(['', ...report].join('\n'));
const file = writeResult(
  '7b',
  {
    layers: LAYERS, chains: chains.length, threads: THREADS, loadAverage: os.loadavg(), checkpointBytes,
    conversions: Object.fromEntries(Object.entries(conversions).map(([k, { out, ...c }]) => [k, c])),
    rows: rows.map(({ stepProbs, ...r }) => r),
    torch: torch ? 'bf16, one chain per forward' : 'skipped',
  },
  { quick, report },
);
console.log(`\nwrote ${file}`);
