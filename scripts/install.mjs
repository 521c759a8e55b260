#!/usr/bin/env node
// npm's install hook. An installed package normally carries a prebuilt addon for its
// platform (prebuilds/, made by `npm pack`): when that one loads there is nothing to
// compile, so an install needs no compiler and is as fast as with --ignore-scripts. A
// checkout, another platform or PRMKIT_BUILD_FROM_SOURCE=1 compiles (build-native.mjs).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const log = (msg) => process.stderr.write(`prmkit: ${msg}\n`);

if (process.env.PRMKIT_SKIP_BUILD) {
  log('PRMKIT_SKIP_BUILD is set: not building the native addon');
  process.exit(0);
}

const loader = join(root, 'dist', 'kernels', 'loader.js');
if (process.env.PRMKIT_BUILD_FROM_SOURCE !== '1' && existsSync(loader)) {
  try {
    const { native } = await import(pathToFileURL(loader).href);
    const n = native();
    if (n.binding && n.source === 'prebuild') {
      log(`using the prebuilt addon ${relative(root, n.path)} (PRMKIT_BUILD_FROM_SOURCE=1 compiles instead)`);
      process.exit(0);
    }
    if (!n.binding) log(`no usable addon yet (${n.reason}); compiling`);
  } catch (e) {
    log(`could not check for a prebuilt addon (${e.message}); compiling`);
  }
}

const r = spawnSync(process.execPath, [join(root, 'scripts', 'build-native.mjs')], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
