#!/usr/bin/env node
// npm pack's prepack hook: compiles the TypeScript into a clean dist/, and this platform's
// addon from the package's own sources (CUDA included when nvcc is found, as for a local
// build), which it puts where the loader looks for a prebuilt binary,
// prebuilds/<platform>-<arch>/. Installs with scripts disabled, or without a compiler,
// then still run native. Nothing is downloaded. Packing fails rather than ship a package
// whose binary is missing, stale, or lacks the CUDA backend this machine could build.
// `--clean` (postpack) removes the copy again, so that a checkout never loads a stale one.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`prmkit: ${msg}\n`);
const fail = (msg) => {
  log(`error: ${msg}`);
  process.exit(1);
};

if (process.argv.includes('--clean')) {
  rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
  process.exit(0);
}

// dist/ from scratch, so that no output of a source since moved or deleted is packed
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tscBin = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin', 'tsc');
const tsc = spawnSync(process.execPath, [tscBin, '-p', join(root, 'tsconfig.json')], {
  cwd: root,
  stdio: ['ignore', 2, 2],
});
if (tsc.status !== 0) fail('the TypeScript does not compile');
const { prebuildFile } = await import(pathToFileURL(join(root, 'dist', 'kernels', 'loader.js')).href);

const built = join(root, 'build', 'Release', 'prmkit.node');

// A binary newer than every native source is what a build would produce: reuse it (without
// even running the build tool, which other builds in the same tree may be using).
function newestSource() {
  let newest = statSync(join(root, 'CMakeLists.txt')).mtimeMs;
  const walk = (dir) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(root, 'native'));
  return newest;
}
if (!existsSync(built) || statSync(built).mtimeMs < newestSource()) {
  // The compiler's output goes to stderr, so that `npm pack --json` prints only its JSON.
  const build = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], {
    cwd: root,
    stdio: ['ignore', 2, 2],
    env: { ...process.env, PRMKIT_REQUIRE_NATIVE: '1' },
  });
  if (build.status !== 0) fail('the native addon did not build; not packing a package without it');
}
if (!existsSync(built)) fail(`${relative(root, built)} is missing after the build`);

// what the binary says about itself, from a fresh process (loading it here would pin it),
// checked against the binding contract of the TypeScript being packed
const probeCode = `
  import { createRequire } from 'node:module';
  const { bindingMismatch } = await import(${JSON.stringify(pathToFileURL(join(root, 'dist', 'kernels', 'native.js')).href)});
  const binding = createRequire(import.meta.url)(${JSON.stringify(built)});
  console.log(JSON.stringify({ mismatch: bindingMismatch(binding) ?? null, info: binding.info() }));`;
const probe = spawnSync(process.execPath, ['--input-type=module', '-e', probeCode], { encoding: 'utf8' });
if (probe.status !== 0) fail(`${relative(root, built)} does not load: ${probe.stderr.trim()}`);
const { mismatch, info } = JSON.parse(probe.stdout);
if (mismatch) fail(`${relative(root, built)}: ${mismatch}; run \`npm run build:native\``);
const nvcc = spawnSync('nvcc', ['--version'], { stdio: 'ignore' }).status === 0;
if (nvcc && process.env.PRMKIT_CUDA !== 'off' && !info.cuda.compiled)
  fail('nvcc is installed but the addon has no CUDA backend (build/ was configured without it): run `npm run build:native`, or set PRMKIT_CUDA=off to pack a cpu-only binary');

const target = prebuildFile(root);
rmSync(join(root, 'prebuilds'), { recursive: true, force: true });
mkdirSync(dirname(target), { recursive: true });
copyFileSync(built, target);
const mb = (statSync(target).size / 1e6).toFixed(1);
log(`prebuilt addon ${relative(root, target)}: ${mb} MB, simd ${info.simd}, cuda ${info.cuda.compiled ? 'compiled in' : 'not compiled'}`);
