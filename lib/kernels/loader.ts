// Finds and loads the compiled addon, once. The order is the one a user expects: a binary
// compiled here (build/Release, what `npm rebuild prmkit` produces) wins over the prebuilt
// one shipped in the package (prebuilds/<platform>-<arch>/, made by `npm pack` from the same
// sources), and with neither the js backend runs. A missing or broken binary is not fatal:
// the reason is kept for `backends()` and the fallback warning. Each candidate is loaded in a
// child process first (./check.ts), so one that crashes on load costs a fallback, not this
// process.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

import { bindingMismatch } from './binding.js';
import type { NativeBinding } from './binding.js';
import { checkAddon } from './check.js';
import { kernelEnvError } from './env.js';

/** Where the loaded addon came from. */
export type AddonSource = 'env' | 'build' | 'prebuild';

export interface AddonLoad {
  binding?: NativeBinding;
  source?: AddonSource;
  path?: string;
  /** Why no addon is loaded (or, with an addon, nothing). */
  reason?: string;
}

export const REBUILD_HINT = 'run `npm rebuild prmkit` (or `npm run build` in a prmkit checkout) to compile it';

interface PackageFacts {
  root: string;
  /** The N-API versions the addon is built for (package.json `binary.napi_versions`). */
  napi: number[];
}

function packageFacts(): PackageFacts {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        const pkg = JSON.parse(readFileSync(pj, 'utf8'));
        if (pkg.name === 'prmkit') return { root: dir, napi: pkg.binary?.napi_versions ?? [] };
      } catch {
        // a broken package.json on the way up is not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the prmkit package root');
    dir = up;
  }
}

let libcFamily: string | undefined;

/** glibc or musl on Linux (binaries built against one do not load on the other); '' elsewhere. */
function libc(): string {
  if (process.platform !== 'linux') return '';
  // the report is the one place Node states the glibc it runs on (about 20 ms: asked once)
  libcFamily ??= (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header?.glibcVersionRuntime
    ? 'glibc'
    : 'musl';
  return libcFamily;
}

/**
 * The prebuilt binary's path inside the package for this platform, in prebuildify's layout
 * (`prebuilds/linux-x64/prmkit.napi.glibc.node`), so the ecosystem's tools read it too.
 */
export function prebuildFile(root: string, platform = process.platform, arch = process.arch, family = libc()): string {
  return join(root, 'prebuilds', `${platform}-${arch}`, `prmkit.napi${family ? `.${family}` : ''}.node`);
}

function tryLoad(path: string, source: AddonSource): AddonLoad {
  // first in a child process, where a crash is an exit status (./check.ts)
  const check = checkAddon(path);
  if (!check.ok) return { reason: `the native addon at ${path} ${check.reason}` };
  try {
    const binding = createRequire(import.meta.url)(path) as NativeBinding;
    const mismatch = bindingMismatch(binding);
    if (mismatch) return { reason: `${path}: ${mismatch}` };
    return { binding, source, path };
  } catch (e) {
    return { reason: `the native addon at ${path} failed to load (${(e as Error).message})` };
  }
}

function load(): AddonLoad {
  if (process.env.PRMKIT_DISABLE_NATIVE === '1') return { reason: 'disabled by PRMKIT_DISABLE_NATIVE=1' };
  const envError = kernelEnvError();
  if (envError) return { reason: envError };
  let pkg: PackageFacts;
  try {
    pkg = packageFacts();
  } catch (e) {
    return { reason: (e as Error).message };
  }
  const explicit = process.env.PRMKIT_NATIVE_PATH;
  if (explicit) {
    if (!existsSync(explicit)) return { reason: `the native addon is not built (looked for ${explicit}); ${REBUILD_HINT}` };
    const r = tryLoad(explicit, 'env');
    return r.binding ? r : { reason: `${r.reason}; ${REBUILD_HINT}` };
  }
  const failures: string[] = [];
  for (const dir of ['Release', 'Debug']) {
    const path = join(pkg.root, 'build', dir, 'prmkit.node');
    if (!existsSync(path)) continue;
    const r = tryLoad(path, 'build');
    if (r.binding) return r;
    failures.push(r.reason!);
  }
  const prebuilt = prebuildFile(pkg.root);
  const napi = Number(process.versions.napi);
  if (existsSync(prebuilt)) {
    const needs = Math.min(...pkg.napi);
    if (pkg.napi.length && napi < needs) {
      failures.push(`the prebuilt addon ${prebuilt} needs N-API ${needs}, this Node has ${napi}`);
    } else {
      const r = tryLoad(prebuilt, 'prebuild');
      if (r.binding) return r;
      failures.push(r.reason!);
    }
  }
  if (failures.length) return { reason: `${failures.join('; ')}; ${REBUILD_HINT}` };
  const where = relative(pkg.root, prebuilt);
  return {
    reason:
      `the native addon is not built (looked for build/Release/prmkit.node and ${where} in ${pkg.root}; ` +
      `no prebuilt binary ships for ${process.platform}-${process.arch}${libc() ? ` ${libc()}` : ''}); ${REBUILD_HINT}`,
  };
}

let cached: AddonLoad | undefined;

export function native(): AddonLoad {
  cached ??= load();
  return cached;
}
