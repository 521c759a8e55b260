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
// same width; --layers A,B measures two depths and extrapolates every figure linearly in the
// layer count to the real 28 (each is per-layer work plus a fixed part: the embedding, the
// head), labelled as such. A single depth other than 28 is a quick check (results to a
// temporary folder, as --quick's: 2 layers, 2 chains). --chains K scores K chains (default 4);
// --skip-torch leaves the PyTorch side out; --reuse takes a depth's measurement from an earlier
// run in the cache folder (its stamp is kept); --keep keeps the converted folders (by default
// each is deleted once scored, so the disk holds the checkpoint and one conversion at a time).
// The checks before the work: free disk for the checkpoint and a conversion; PyTorch runs only
// with the checkpoint's size + 2 GB of memory available (MemAvailable), else it is skipped and
// the report says so.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchHeader, stamp, writeResult } from './lib/out.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const shared = join(root, '..', 'shared');
const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i < 0 ? undefined : argv[i + 1];
};
const REAL = 28;
const DEPTHS = (option('layers') ?? (argv.includes('--quick') ? '2' : String(REAL))).split(',').map(Number);
const CHAINS = Number(option('chains') ?? (argv.includes('--quick') ? 2 : 4));
const skipTorch = argv.includes('--skip-torch');
const extrapolated = DEPTHS.length > 1;
const quick = argv.includes('--quick') || (!extrapolated && DEPTHS[0] !== REAL);
if (DEPTHS.some((l) => !Number.isInteger(l) || l < 1 || l > REAL) || new Set(DEPTHS).size !== DEPTHS.length || !(CHAINS >= 1)) {
  console.error(`bench:7b: --layers takes one depth or distinct depths between 1 and ${REAL} (e.g. 2,4); --chains a positive count`);
  process.exit(1);
}
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
mkdirSync(join(cache, 'measured'), { recursive: true });
// bf16 weights per layer and outside the layers (embedding, norm, score head), in bytes
const perLayer = 2 * (3584 * 3584 * 2 + 2 * 512 * 3584 + 3 * 3584 * 18944);
const checkpointBytes = (layers) => 2 * (152064 * 3584 + 3584 * 3584) + layers * perLayer;
const checkpointDir = (layers) => join(cache, layers === REAL ? 'qwen2.5-math-prm-7b' : `qwen2.5-math-prm-7b-${layers}-layers`);
const freeDisk = () => {
  const s = statfsSync(cache);
  return s.bavail * s.bsize;
};
/** What the kernel says can be allocated without swapping (free + reclaimable cache). */
const memAvailable = () => Number(/MemAvailable:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0) * 1024;
console.log(`memory: ${(os.totalmem() / GB).toFixed(1)} GB, ${(memAvailable() / GB).toFixed(1)} GB available; disk: ${(freeDisk() / GB).toFixed(1)} GB free in ${cache}`);

// ---- chains: the first K ProcessBench gsm8k chains of at most 600 tokens ---------------------
const chains = JSON.parse(readFileSync(join(shared, 'data', 'processbench', 'gsm8k.json'), 'utf8'))
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
const convertTo = (ck, out, dtype) => child(`import { convert } from ${JSON.stringify(dist('convert/index.js'))};
  const r = await convert({ input: ${JSON.stringify(ck)}, output: ${JSON.stringify(out)}, overwrite: true, dtype: '${dtype}' });
  console.log(JSON.stringify({ seconds: r.seconds, sourceBytes: r.sourceBytes, outputBytes: r.outputBytes, largest: r.largestTensorBytes, form: r.int8?.form, peakRss: ${rss} }));`);
const scoreWith = (dir) => child(`import { readFileSync } from 'node:fs';
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
const maxDiff = (a, b) => a.reduce((m, row, i) => row.reduce((mm, p, j) => Math.max(mm, Math.abs(p - b[i][j])), m), 0);

/** Checkpoint, conversions, scoring and PyTorch at one depth. */
function measure(layers) {
  const ck = checkpointDir(layers);
  const needDisk = (existsSync(join(ck, 'model.safetensors.index.json')) ? 0 : checkpointBytes(layers)) + 0.6 * checkpointBytes(layers) + 2 * GB;
  if (freeDisk() < needDisk) throw new Error(`bench:7b: ${cache} has ${(freeDisk() / GB).toFixed(1)} GB free, ${layers} layers need about ${(needDisk / GB).toFixed(1)} GB`);
  if (!existsSync(join(ck, 'model.safetensors.index.json'))) {
    if (!existsSync(python)) throw new Error(`bench:7b: no checkpoint in ${ck} and no Python environment at ${venv} to make one (PRMKIT_TORCH_VENV)`);
    console.log(`making the ${layers}-layer checkpoint in ${ck} (once; ${(checkpointBytes(layers) / GB).toFixed(1)} GB) ...`);
    execFileSync(python, [join(shared, 'tools', 'make_7b_checkpoint.py'), ck, join(root, 'node_modules', '@lenml', 'tokenizer-qwen2_5', 'models'), '--layers', String(layers), '--shard-gb', '2'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }
  const rows = [];
  let torch = 'skipped (--skip-torch)';
  let torchProbs;
  const needMem = checkpointBytes(layers) + 2 * GB;
  if (!skipTorch && !existsSync(python)) torch = `skipped: no Python environment at ${venv}`;
  else if (!skipTorch && memAvailable() < needMem) torch = `skipped: ${(memAvailable() / GB).toFixed(1)} GB available, PyTorch bf16 needs ${(needMem / GB).toFixed(1)} GB`;
  else if (!skipTorch) {
    const available = memAvailable();
    console.log(`${layers} layers: PyTorch bf16 recipe (${(available / GB).toFixed(1)} GB available) ...`);
    const out = execFileSync(python, [join(here, 'lib', 'torch_prm_7b.py'), ck, chainsFile, String(THREADS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
    const { stepProbs, ...r } = JSON.parse(out.trim().split('\n').pop());
    torch = `bf16, one chain per forward; ${(available / GB).toFixed(1)} GB available when it started`;
    torchProbs = stepProbs;
    rows.push({ way: 'PyTorch bf16, model card recipe (1 chain / forward)', ...r });
  }
  const conversions = {};
  for (const dtype of ['int8', 'int4']) {
    const out = `${ck}-${dtype}`;
    console.log(`${layers} layers: converting to ${dtype} ...`);
    conversions[dtype] = convertTo(ck, out, dtype);
    console.log(`${layers} layers: scoring with ${dtype} ...`);
    const { stepProbs, ...r } = scoreWith(out);
    const form = conversions[dtype].form;
    rows.push({ way: `prmkit ${dtype}${form ? ` (${form})` : ''}`, ...r, maxDpVsTorch: torchProbs ? maxDiff(stepProbs, torchProbs) : undefined });
    if (!argv.includes('--keep')) rmSync(out, { recursive: true, force: true });
  }
  return { stamp: stamp(), layers, chains: chains.length, threads: THREADS, loadAverage: os.loadavg(), checkpointBytes: checkpointBytes(layers), conversions, rows, torch };
}

const depths = DEPTHS.map((layers) => {
  const file = join(cache, 'measured', `7b-L${layers}-c${CHAINS}.json`);
  if (argv.includes('--reuse') && existsSync(file)) {
    console.log(`${layers} layers: the measurement of ${file} (--reuse)`);
    return JSON.parse(readFileSync(file, 'utf8'));
  }
  const m = measure(layers);
  writeFileSync(file, JSON.stringify(m, null, 2));
  return m;
});

// ---- extrapolation: figure = fixed + per layer × layers, through the two deepest depths ------------
let real;
if (extrapolated) {
  const [a, b] = [...depths].sort((x, y) => x.layers - y.layers).slice(-2);
  const line = (va, vb) => va + ((vb - va) / (b.layers - a.layers)) * (REAL - a.layers);
  const conv = (d, k, f) => d.conversions[k][f];
  real = {
    from: [a.layers, b.layers],
    conversions: Object.fromEntries(Object.keys(a.conversions).map((k) => [k, { ...a.conversions[k], ...Object.fromEntries(['seconds', 'sourceBytes', 'outputBytes', 'peakRss'].map((f) => [f, f === 'seconds' && conv(b, k, f) <= conv(a, k, f) ? null : line(conv(a, k, f), conv(b, k, f))])), largest: conv(b, k, 'largest') }])),
    // time per token is what adds up per layer; tokens/s is its inverse. A deeper model that
    // ran no slower per token says the clock measured the machine's load, not the model: no
    // line through such points means anything, so that time is left out (null)
    rows: a.rows.filter((r) => b.rows.some((q) => q.way === r.way)).map((r) => {
      const q = b.rows.find((x) => x.way === r.way);
      const s = q.s / q.tokens > r.s / r.tokens ? line(r.s / r.tokens, q.s / q.tokens) * r.tokens : null;
      return { way: r.way, tokens: r.tokens, s, tokensPerS: s === null ? null : r.tokens / s, loadS: line(r.loadS, q.loadS), peakRss: line(r.peakRss, q.peakRss) };
    }),
  };
}

// ---- report ----------------------------------------------------------------------------------
const gb = (x) => `${(x / GB).toFixed(2)} GB`;
const tables = (d, label) => {
  const torchRow = d.rows.find((r) => r.way.startsWith('PyTorch'));
  return [
    '| conversion | seconds | checkpoint read | written | largest tensor | peak RSS |',
    '|---|---|---|---|---|---|',
    ...Object.entries(d.conversions).map(([dtype, c]) => `| ${label}${dtype}${c.form ? ` (${c.form})` : ''} | ${c.seconds === null ? 'n/a (load)' : c.seconds.toFixed(0)} | ${gb(c.sourceBytes)} | ${gb(c.outputBytes)} | ${gb(c.largest)} | ${gb(c.peakRss)} |`),
    '',
    '| scoring | tokens/s | × PyTorch bf16 | max |Δp| vs PyTorch bf16 | load s | peak RSS |',
    '|---|---|---|---|---|---|',
    ...d.rows.map((r) => `| ${label}${r.way} | ${r.tokensPerS === null ? 'n/a (load)' : r.tokensPerS.toFixed(2)} | ${!torchRow ? 'skipped' : r.tokensPerS === null || torchRow.tokensPerS === null ? 'n/a' : (r.tokensPerS / torchRow.tokensPerS).toFixed(2)} | ${r.maxDpVsTorch === undefined ? '-' : r.maxDpVsTorch.toExponential(1)} | ${r.loadS.toFixed(0)} | ${gb(r.peakRss)} |`),
  ];
};
const report = [];
for (const d of depths) {
  report.push(
    `${extrapolated ? 'Measured: ' : ''}Qwen2.5-Math-PRM-7B configuration, random weights, ${d.layers} layers (checkpoint ${gb(d.checkpointBytes)} bf16); ${d.chains} ProcessBench gsm8k chains, ${d.rows[0]?.tokens ?? '?'} tokens; ${d.threads} threads; commit ${d.stamp.commit}, ${d.stamp.date.slice(0, 16).replace('T', ' ')} UTC, load average ${d.loadAverage.map((x) => x.toFixed(1)).join(' ')}; PyTorch: ${d.torch}`,
    '',
    ...tables(d, ''),
    '',
  );
}
if (real) {
  report.push(
    `EXTRAPOLATED to the real ${REAL} layers (linear in the layer count through the ${real.from.join(' and ')}-layer measurements above; not measured at ${REAL} layers):`,
    '',
    ...tables(real, `${REAL} layers, extrapolated: `),
    '',
    // what survives a loaded machine: prmkit and PyTorch timed in the same run at each depth
    `Same-run speed against PyTorch bf16 at the measured depths: ${depths[0].rows.filter((r) => r.way.startsWith('prmkit')).map((r) => `${r.way.replace('prmkit ', '')} ${depths.map((d) => { const t = d.rows.find((x) => x.way.startsWith('PyTorch')); const m = d.rows.find((x) => x.way === r.way); return t && m ? `${(m.tokensPerS / t.tokensPerS).toFixed(2)}x (${d.layers} layers)` : '-'; }).join(', ')}`).join('; ')}`,
    '',
  );
}
// the memory targets, at the real depth (measured there or extrapolated)
const at28 = depths.find((d) => d.layers === REAL) ?? real;
if (at28) {
  const how = at28 === real ? 'extrapolated' : 'measured';
  const convPeak = Math.max(...Object.values(at28.conversions).map((c) => c.peakRss));
  const int8Row = at28.rows.find((r) => r.way.startsWith('prmkit int8'));
  report.push(
    `Targets at ${REAL} layers (${how}): conversion peak RSS <= 6 GB: ${gb(convPeak)}, ${convPeak <= 6 * GB ? 'held' : 'missed'}; int8 scoring within 24 GB: ${int8Row ? `${gb(int8Row.peakRss)}, ${int8Row.peakRss <= 24 * GB ? 'held' : 'missed'}` : 'not run'}`,
    '',
  );
}
report.push(`machine memory ${gb(os.totalmem())}; the int8 and int4 weights are random, so max |Δp| against PyTorch bf16 (itself rounding every activation to bf16) shows drift, not the accuracy on a real checkpoint`);
console.log(['', ...report].join('\n'));
const file = writeResult(
  '7b',
  { depths: depths.map((d) => ({ ...d, rows: d.rows })), extrapolatedTo28: real ?? null, measuredAt28: depths.some((d) => d.layers === REAL) },
  { quick, report },
);
console.log(`\nwrote ${file}`);
