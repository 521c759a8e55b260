#!/usr/bin/env node
// npm run bench:open — what opening a converted model on a private snapshot of its weights
// costs (Prm.load's default: a data file truncated in place under the running process cannot
// crash it), against opening the files themselves (`snapshot: false`, onnxruntime maps them),
// in the same run. For two sizes of Qwen2.5-Math-PRM-shaped model (the shared test
// checkpoint, and a ~400 MB one written here with random weights): the time Prm.load takes,
// whether the file system clones (then the snapshot holds no disk) or copies (then it holds
// the data file's size until the process ends), and peak RSS. Each load runs in its own child process; the two ways alternate, so load from other
// processes hits both alike; medians. Writes bench/results/open.json (--quick: one size,
// fewer rounds, results elsewhere). Needs `npm run build:ts` and ../shared/data.
import { spawnSync } from 'node:child_process';
import { constants, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { benchHeader, stamp, stampLine, writeResult } from './lib/out.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 5;
const shared = process.env.PRMKIT_SHARED_DATA ?? join(root, '..', 'shared', 'data');
const template = join(shared, 'checkpoints', 'qwen2.5-math-prm');
const cache = process.env.PRMKIT_BENCH_CACHE ?? join(os.tmpdir(), 'prmkit-bench-open');
if (!existsSync(join(root, 'dist', 'prm', 'index.js'))) {
  console.error('bench:open: dist/ is not built (npm run build:ts)');
  process.exit(1);
}
if (!existsSync(join(template, 'config.json'))) {
  console.log(`bench:open: no shared checkpoint at ${template}: nothing to measure`);
  process.exit(0);
}
benchHeader('open');
mkdirSync(cache, { recursive: true });
const dist = (p) => pathToFileURL(join(root, 'dist', p)).href;
const { convert } = await import(dist('convert/index.js'));
const { writeSafetensors } = await import(dist('testing/index.js'));

/** A Qwen2.5-Math-PRM-shaped checkpoint with random weights and the shared checkpoint's tokenizer. */
function bigCheckpoint(dir, hidden, layers) {
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  mkdirSync(dir, { recursive: true });
  const config = JSON.parse(readFileSync(join(template, 'config.json'), 'utf8'));
  const I = 3 * hidden;
  const kv = hidden / 4;
  Object.assign(config, { hidden_size: hidden, intermediate_size: I, num_hidden_layers: layers, num_attention_heads: 8, num_key_value_heads: 2, layer_types: Array(layers).fill('full_attention') });
  let s = 1;
  const rand = (n, std) => Float32Array.from({ length: n }, () => ((s = (s * 16807) % 2147483647) / 2147483647 - 0.5) * 2 * std);
  const t = {};
  const put = (name, shape, std) => (t[name] = { shape, data: rand(shape.reduce((a, b) => a * b, 1), std) });
  const ones = (name) => (t[name] = { shape: [hidden], data: new Float32Array(hidden).fill(1) });
  put('model.embed_tokens.weight', [config.vocab_size, hidden], 0.02);
  for (let l = 0; l < layers; l++) {
    const p = `model.layers.${l}`;
    ones(`${p}.input_layernorm.weight`);
    ones(`${p}.post_attention_layernorm.weight`);
    for (const [n, rows] of [['q_proj', hidden], ['k_proj', kv], ['v_proj', kv]]) {
      put(`${p}.self_attn.${n}.weight`, [rows, hidden], 0.02);
      put(`${p}.self_attn.${n}.bias`, [rows], 0.02);
    }
    put(`${p}.self_attn.o_proj.weight`, [hidden, hidden], 0.02);
    put(`${p}.mlp.gate_proj.weight`, [I, hidden], 0.02);
    put(`${p}.mlp.up_proj.weight`, [I, hidden], 0.02);
    put(`${p}.mlp.down_proj.weight`, [hidden, I], 0.02);
  }
  ones('model.norm.weight');
  put('score.0.weight', [hidden, hidden], 0.02);
  put('score.0.bias', [hidden], 0.02);
  put('score.2.weight', [2, hidden], 0.02);
  put('score.2.bias', [2], 0.02);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  writeSafetensors(join(dir, 'model.safetensors'), t);
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(template, f), join(dir, f));
  return dir;
}

async function converted(name, input) {
  const out = join(cache, `out-${name}`);
  if (!existsSync(join(out, 'prmkit.json'))) await convert({ input, output: out, overwrite: true });
  return out;
}

function child(code) {
  const file = join(cache, `child-${process.pid}.mjs`);
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, PRMKIT_ALLOW_JS: '1' } });
  rmSync(file, { force: true });
  if (r.status !== 0) throw new Error(`child failed (${r.status ?? r.error?.message}): ${(r.stderr ?? '').slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/** One load in a fresh process: its time and its peak RSS. */
function load(dir, snapshot) {
  return child(`import { Prm } from ${JSON.stringify(dist('prm/index.js'))};
    const t0 = performance.now();
    const prm = await Prm.load({ model: ${JSON.stringify(dir)}, workers: { threads: 1 }, snapshot: ${snapshot} });
    const ms = performance.now() - t0;
    const [r] = await prm.score([{ problem: '1 + 1?', steps: ['1 + 1 = 2', 'so 2'] }]);
    await prm.close();
    console.log(JSON.stringify({ ms, peakRss: process.resourceUsage().maxRSS * 1024, p: r.stepProbs }));`);
}

/** Whether the file system under `dir` makes reflink clones (the snapshot then holds no disk). */
function clones(dir) {
  const a = join(dir, '.clone-probe');
  writeFileSync(a, 'x');
  try {
    copyFileSync(a, `${a}-2`, constants.COPYFILE_FICLONE_FORCE);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(a, { force: true });
    rmSync(`${a}-2`, { force: true });
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const models = [{ name: 'shared qwen2.5-math-prm test checkpoint', dir: await converted('small', template) }];
if (!quick) models.push({ name: 'Qwen2-shaped, hidden 512, 8 layers, random', dir: await converted('big', bigCheckpoint(join(cache, 'big-checkpoint'), 512, 8)) });

const rows = [];
for (const m of models) {
  const data = statSync(join(m.dir, 'model.onnx.data')).size;
  const runs = { snapshot: [], mapped: [] };
  load(m.dir, true); // warm the page cache for both ways
  for (let r = 0; r < ROUNDS; r++) for (const [way, snap] of [['snapshot', true], ['mapped', false]]) runs[way].push(load(m.dir, snap));
  const same = runs.snapshot[0].p.every((p, i) => p === runs.mapped[0].p[i]);
  const ms = (w) => median(runs[w].map((x) => x.ms));
  const clone = clones(m.dir);
  rows.push({
    model: m.name, dataBytes: data, snapshotMs: ms('snapshot'), mappedMs: ms('mapped'), ratio: ms('snapshot') / ms('mapped'),
    extraMsPerGb: ((ms('snapshot') - ms('mapped')) / data) * 2 ** 30, clone, snapshotHeldBytes: clone ? 0 : data,
    snapshotPeakRss: median(runs.snapshot.map((x) => x.peakRss)), mappedPeakRss: median(runs.mapped.map((x) => x.peakRss)), sameScores: same,
  });
}

const mb = (b) => (b / 2 ** 20).toFixed(1);
const report = [
  `Prm.load on a private snapshot (default) vs on the files themselves (snapshot: false); median of ${ROUNDS} loads each, ${os.loadavg()[0].toFixed(1)} load average`,
  '',
  '| model | data MB | load ms, snapshot | load ms, mapped | × | extra ms per GB | snapshot is | disk held while open, MB | peak RSS MB (snapshot / mapped) | same scores |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.model} | ${mb(r.dataBytes)} | ${r.snapshotMs.toFixed(0)} | ${r.mappedMs.toFixed(0)} | ${r.ratio.toFixed(2)} | ${r.extraMsPerGb.toFixed(0)} | ${r.clone ? 'a reflink clone' : 'a copy'} | ${mb(r.snapshotHeldBytes)} | ${mb(r.snapshotPeakRss)} / ${mb(r.mappedPeakRss)} | ${r.sameScores ? 'yes' : 'NO'} |`),
];
console.log([...report, '', `_${stampLine(stamp())}_`].join('\n'));
const file = writeResult('open', { rounds: ROUNDS, loadAverage: os.loadavg(), rows }, { quick, report });
console.log(`wrote ${file}`);
