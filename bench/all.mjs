#!/usr/bin/env node
// Reruns every benchmark and rewrites the README's figure blocks (npm run bench:all).
// Each block sits between <!-- bench:NAME --> and <!-- /bench:NAME --> and is stamped with
// the commit and machine it was measured on. A benchmark that fails keeps its old block
// (and the run exits non-zero after the others have finished).
//   --quick        every benchmark's smoke run; results and the rewritten README go to a
//                  temporary folder, never over the committed ones
//   --only a,b     just these (kernels, e2e, search, orm-vs-prm, eval, server, vllm, templates, train-head, implicit,
//                  convert; 7b runs only when named here: 15 GB of checkpoint and ~16 GB of memory)
//   --no-build     do not recompile the TypeScript first
//   --allow-js     run even when the native addon is not loaded (figures of the js fallback)
// Each benchmark is stopped after 45 minutes (a guard against a hang: on a machine shared with
// other work the same run is many times slower). Run times on the 2-core development machine
// are in the README's Benchmarks section.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stamp, stampLine } from './lib/out.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyAt = argv.indexOf('--only');
const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? '').split(',').filter(Boolean)) : null;
const known = ['--quick', '--only', '--no-build', '--allow-js'];
for (const a of argv) {
  if (a.startsWith('--') && !known.includes(a)) {
    console.error(`bench:all: unknown option ${a} (known: ${known.join(', ')})`);
    process.exit(2);
  }
}

/** The console.table blocks kernels.mjs prints, each with the heading line printed above it, if any. */
function kernelTables(out) {
  const lines = out.split('\n');
  const keep = [];
  lines.forEach((l, i) => {
    const box = /^[┌│├└]/.test(l);
    if (box) keep.push(l);
    else if (lines[i + 1]?.startsWith('┌') && l.trim().length > 0 && !/^done:/.test(l)) keep.push('', l);
  });
  return keep;
}

/** How each benchmark runs, and how its README block is made. */
const BENCHES = [
  // kernels.mjs prints a console.table and writes kernels.json on full runs only: its block
  // is cut from what it prints
  { name: 'kernels', args: ['--expose-gc', 'bench/kernels.mjs'], minutes: 45, fromStdout: kernelTables, fence: true },
  { name: 'e2e', args: ['bench/e2e.mjs'], minutes: 45, fence: false },
  { name: 'search', args: ['bench/search.mjs'], minutes: 45, fence: true },
  // the demo models of models/demo on held-out problems: 3 of its 5 seeds took 31 minutes on the loaded 2-core machine
  { name: 'orm-vs-prm', args: ['bench/orm-vs-prm.mjs'], minutes: 60, fence: true },
  { name: 'eval', args: ['bench/eval.mjs'], minutes: 45, fence: true },
  { name: 'server', args: ['bench/server.mjs'], minutes: 45, fence: true },
  { name: 'vllm', args: ['bench/vllm.mjs'], minutes: 30, fence: true },
  { name: 'templates', args: ['bench/templates.mjs'], minutes: 15, fence: true },
  { name: 'train-head', args: ['bench/train-head.mjs'], minutes: 20, fence: true },
  { name: 'implicit', args: ['bench/implicit.mjs'], minutes: 30, fence: false },
  // needs the PyTorch environment for its peer columns (it says so and skips them without it)
  { name: 'convert', args: ['bench/convert.mjs'], minutes: 45, fence: false },
  { name: 'open', args: ['bench/open.mjs'], minutes: 30, fence: false },
  // a 7B model: makes a 15 GB checkpoint once and needs ~16 GB of memory, so only on request
  { name: '7b', args: ['bench/7b.mjs'], minutes: 240, fence: false, onRequest: true },
];
if (only) {
  for (const n of only) if (!BENCHES.some((b) => b.name === n)) {
    console.error(`bench:all: --only ${n}: no such benchmark (${BENCHES.map((b) => b.name).join(', ')})`);
    process.exit(2);
  }
}

const outDir = quick ? mkdtempSync(join(os.tmpdir(), 'prmkit-bench-all-')) : join(root, 'bench', 'results');
const env = { ...process.env, ...(quick ? { PRMKIT_BENCH_OUT: outDir } : {}) };
if (!quick) delete env.PRMKIT_BENCH_OUT;

if (!argv.includes('--no-build')) {
  console.log('bench:all: compiling the TypeScript (tsc -p tsconfig.json)');
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
  if (tsc.status !== 0) console.warn(`bench:all: tsc exited with ${tsc.status}; running on the dist/ it wrote`);
}
if (!existsSync(join(root, 'dist', 'index.js'))) {
  console.error('bench:all: dist/ is missing; run `npm run build` first');
  process.exit(1);
}

// Figures on the js fallback (an addon being rebuilt, or never built) would be published as
// if they were the native kernels': refuse to start instead (--allow-js to measure it anyway).
{
  const { backends } = await import(join(root, 'dist', 'kernels', 'index.js'));
  const cpu = backends().cpu;
  if (!cpu.available && !argv.includes('--allow-js')) {
    console.error(`bench:all: the native cpu kernels are not available (${cpu.reason ?? 'not built'}); run \`npm run build:native\` first, or pass --allow-js`);
    process.exit(1);
  }
  console.log(`bench:all: native cpu kernels ${cpu.available ? `${cpu.simd}, ${cpu.threads} threads (${cpu.path ?? cpu.source})` : 'NOT available: js backend'}`);
}

// Stopping bench:all stops the benchmark it is running (which would otherwise live on and
// write its results after all).
let current;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.on(signal, () => {
    current?.kill('SIGTERM');
    process.exit(code);
  });
}

/** Runs one benchmark, echoing its output; resolves with its exit status and stdout. */
function run(b) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...b.args, ...(quick ? ['--quick'] : [])], { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'] });
    current = child;
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    const timer = setTimeout(() => {
      console.error(`bench:all: ${b.name} ran past ${b.minutes} minutes; stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, b.minutes * 60_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ status: -1, out, error: err.message });
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status: status ?? -1, out, error: signal ? `killed by ${signal}` : undefined });
    });
  });
}

function block(b, lines, s) {
  const body = b.fence ? ['```', ...lines, '```'] : lines;
  return [`<!-- bench:${b.name} -->`, `_${stampLine(s)}_`, '', ...body, `<!-- /bench:${b.name} -->`].join('\n');
}

const t0 = performance.now();
const blocks = new Map();
const failed = [];
const took = [];
for (const b of BENCHES) {
  if (only ? !only.has(b.name) : b.onRequest) continue;
  console.log(`\nbench:all: ${b.name} (${b.args.join(' ')}${quick ? ' --quick' : ''})`);
  const started = performance.now();
  const r = await run(b);
  took.push([b.name, (performance.now() - started) / 1000]);
  if (r.status !== 0) {
    failed.push(`${b.name}: exit ${r.status}${r.error ? ` (${r.error})` : ''}`);
    continue;
  }
  let lines;
  let s;
  if (b.fromStdout) {
    lines = b.fromStdout(r.out);
    s = stamp();
  } else {
    const file = join(outDir, `${b.name}.json`);
    try {
      const json = JSON.parse(readFileSync(file, 'utf8'));
      lines = json.report;
      s = json.stamp;
    } catch (err) {
      failed.push(`${b.name}: cannot read ${file}: ${err.message}`);
      continue;
    }
  }
  if (!Array.isArray(lines) || lines.length === 0 || !s) {
    failed.push(`${b.name}: printed no figures to put in the README`);
    continue;
  }
  blocks.set(b.name, block(b, lines, s));
}

// ---- README ----------------------------------------------------------------------------------
const readmePath = join(root, 'README.md');
let readme = readFileSync(readmePath, 'utf8');
for (const [name, text] of blocks) {
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const a = readme.indexOf(start);
  const z = readme.indexOf(end);
  if (a < 0 || z < a) {
    failed.push(`${name}: README.md has no ${start} ... ${end} block`);
    continue;
  }
  readme = readme.slice(0, a) + text + readme.slice(z + end.length);
}
const target = quick ? join(outDir, 'README.md') : readmePath;
writeFileSync(target, readme);

const total = (performance.now() - t0) / 1000;
console.log(`\nbench:all: ${took.map(([n, sec]) => `${n} ${sec.toFixed(0)} s`).join(', ')}; ${(total / 60).toFixed(1)} min in all`);
console.log(`bench:all: ${blocks.size} README block(s) rewritten in ${target}${quick ? ' (quick run: the real README is untouched)' : ''}`);
if (failed.length > 0) {
  console.error(`bench:all: ${failed.length} failed, their README blocks kept:\n  ${failed.join('\n  ')}`);
  process.exit(1);
}
