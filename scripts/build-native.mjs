#!/usr/bin/env node
// Compiles the native addon from source (scripts/install.mjs calls it when no prebuilt
// binary fits). cmake-js is the main build (it adds the CUDA sources when nvcc is found);
// node-gyp with binding.gyp is the CPU-only fallback for machines without CMake.
// A failed build does not fail `npm install`: prmkit then runs on its js backend and
// `backends()` explains why native is unavailable. Set PRMKIT_REQUIRE_NATIVE=1 to make a
// failed build an install error instead (CI does).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const args = new Set(process.argv.slice(2));
const log = (msg) => process.stderr.write(`prmkit: ${msg}\n`);

if (process.env.PRMKIT_SKIP_BUILD) {
  log('PRMKIT_SKIP_BUILD is set: not building the native addon');
  process.exit(0);
}

function has(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd, argv) {
  log(`${cmd} ${argv.join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status === 0;
}

function buildWithCmake() {
  const cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
  const cuda = process.env.PRMKIT_CUDA ?? 'auto'; // auto | off
  const extra = [];
  if (cuda === 'off') extra.push('--CDPRMKIT_CUDA=OFF');
  if (process.env.PRMKIT_CUDA_ARCHITECTURES) extra.push(`--CDCMAKE_CUDA_ARCHITECTURES=${process.env.PRMKIT_CUDA_ARCHITECTURES}`);
  const verb = args.has('--force') ? 'rebuild' : 'compile';
  return run(process.execPath, [cmakeJs, verb, '--config', 'Release', ...extra]);
}

function buildWithGyp() {
  // npm exposes its bundled node-gyp to lifecycle scripts; otherwise try one on PATH.
  const gyp = process.env.npm_config_node_gyp;
  if (gyp && existsSync(gyp)) return run(process.execPath, [gyp, 'rebuild']);
  if (has('node-gyp')) return run('node-gyp', ['rebuild']);
  log('node-gyp is not available either');
  return false;
}

let ok = false;
if (has('cmake') && !process.env.PRMKIT_USE_GYP) {
  ok = buildWithCmake();
  if (!ok) log('cmake-js build failed; trying the CPU-only binding.gyp build');
}
if (!ok) {
  if (existsSync(join(root, 'build'))) rmSync(join(root, 'build'), { recursive: true, force: true });
  ok = buildWithGyp();
}
if (!ok) {
  const msg = 'the native addon could not be built; prmkit will use its js backend. ' +
    'Install a C++17 compiler and CMake (or python3 + make for node-gyp), then run `npm rebuild prmkit`.';
  if (process.env.PRMKIT_REQUIRE_NATIVE === '1') {
    log(msg);
    process.exit(1);
  }
  log(`warning: ${msg}`);
}
