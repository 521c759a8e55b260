// A native binary is loaded in a child process before it is loaded here. Loading runs the
// binary's own code, and one built for another CPU, libc or Node can abort or segfault, which
// would take this process (a server, a test worker) down with it, past any try/catch. The
// child loads the binary and, when it implements this package's binding contract, runs one
// sync and one Promise-form call (the Promise form is where the V8 buffer pinning runs), then
// reports; a crash is then an exit status here, and the loader moves on to the next candidate.
//
// The verdict is kept on disk per binary (path, size, modification time, inode) and Node
// binary (version, path), so the check costs one child process per binary and Node, not per
// process. An answer the child could not give (it could not be started, or took too long) is
// not a verdict: the binary is then loaded in-process, as it would be without this check.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import { BINDING_VERSION } from './binding.js';

export interface AddonCheck {
  /** false: the binary must not be loaded in-process (`reason` says why). */
  ok: boolean;
  reason?: string;
  /** How the verdict was reached: a child process now, one earlier (cached), or none could run. */
  via: 'child' | 'cache' | 'unchecked';
}

/** Where verdicts are kept: $PRMKIT_CACHE_DIR, else $XDG_CACHE_HOME/prmkit or ~/.cache/prmkit. */
export function checkCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PRMKIT_CACHE_DIR) return env.PRMKIT_CACHE_DIR;
  const base = env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : tmpdir());
  return join(base, 'prmkit');
}

const CHECK_TIMEOUT_MS = 60_000;

// Self-contained CommonJS (it must not load prmkit, whose loader would check again). The
// call is the smallest valid score of the binding contract this file ships with.
const CHILD = `
const [path, want] = process.argv.slice(1);
let b;
try {
  b = require(path);
} catch (e) {
  console.log(JSON.stringify({ loaded: false, error: String(e && e.message) }));
  process.exit(0);
}
const report = { loaded: true, version: b.bindingVersion };
if (b.bindingVersion === Number(want)) {
  const args = () => ({
    data: Float32Array.from([0.5, -1, 2, 0.25]), dtype: 'float32', B: 1, T: 2, H: 2,
    offsets: Int32Array.from([0, 2]), positions: Int32Array.from([0, 1]), threads: 1, backend: 'cpu',
    head: { kind: 'linear', activation: 'sigmoid', positive: 0, outputs: 1, weight: Float32Array.from([1, 2]) },
    threshold: 0.5, stepLogProbs: new Float32Array(2), aggregates: { min: new Float32Array(1) }, firstError: new Int32Array(1),
  });
  const sync = args();
  b.scoreSync(sync);
  const later = args();
  b.score(later).then(() => {
    const same = later.stepLogProbs.every((v, i) => v === sync.stepLogProbs[i]) && Number.isFinite(sync.stepLogProbs[0]);
    if (!same) throw new Error('the Promise form gave ' + later.stepLogProbs + ', the sync form ' + sync.stepLogProbs);
    report.pinned = b.info().pinned;
    console.log(JSON.stringify(report));
  });
} else {
  console.log(JSON.stringify(report));
}
`;

function cacheFile(path: string, env: NodeJS.ProcessEnv): string | undefined {
  try {
    const st = statSync(path);
    const key = JSON.stringify([path, st.size, st.mtimeMs, st.ino, process.execPath, process.version, process.arch, BINDING_VERSION, env.PRMKIT_SIMD ?? '']);
    return join(checkCacheDir(env), `addon-check-${createHash('sha256').update(key).digest('hex').slice(0, 24)}.json`);
  } catch {
    return undefined;
  }
}

function readCached(file: string | undefined): AddonCheck | undefined {
  if (!file) return undefined;
  try {
    const v = JSON.parse(readFileSync(file, 'utf8')) as { ok?: unknown; reason?: unknown };
    if (typeof v.ok !== 'boolean') return undefined;
    return { ok: v.ok, ...(typeof v.reason === 'string' ? { reason: v.reason } : {}), via: 'cache' };
  } catch {
    return undefined;
  }
}

function writeCached(file: string | undefined, check: AddonCheck): void {
  if (!file) return;
  try {
    mkdirSync(join(file, '..'), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ ok: check.ok, reason: check.reason }) + '\n');
    renameSync(tmp, file); // atomic: a process reading meanwhile sees the old file or the new one
  } catch {
    // a read-only home costs a child process per start, nothing more
  }
}

/** The last lines of what a child wrote, for a reason that fits on a line or two. */
function tail(text: string): string {
  const lines = text.trim().split('\n').filter((l) => l.trim());
  return lines.slice(-3).join(' | ').slice(0, 600);
}

function runChild(path: string, env: NodeJS.ProcessEnv): AddonCheck {
  const childEnv: NodeJS.ProcessEnv = { ...env, ELECTRON_RUN_AS_NODE: '1' };
  delete childEnv.NODE_OPTIONS; // a preloaded module or loader is the caller's, not the binary's
  const r = spawnSync(process.execPath, ['-e', CHILD, path, String(BINDING_VERSION)], {
    env: childEnv,
    encoding: 'utf8',
    timeout: CHECK_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT' && r.signal === null)
    return { ok: true, via: 'unchecked', reason: `the check could not start a child process (${r.error.message})` };
  if (r.signal === 'SIGTERM' || (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT')
    return { ok: true, via: 'unchecked', reason: `the check did not answer within ${CHECK_TIMEOUT_MS / 1000} s` };
  if (r.signal === 'SIGKILL') return { ok: true, via: 'unchecked', reason: 'the check was killed' };
  if (r.signal) return { ok: false, via: 'child', reason: `crashed a child process that loaded it (${r.signal})${r.stderr.trim() ? `: ${tail(r.stderr)}` : ''}` };
  if (r.status === 0) {
    try {
      const report = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as { loaded?: boolean; error?: string };
      if (report.loaded === true) return { ok: true, via: 'child' };
      // wrong ELF class, a missing symbol, a newer glibc, the addon's own refusal
      if (report.loaded === false) return { ok: false, via: 'child', reason: `failed to load (${report.error})` };
    } catch {
      // fall through: the child exited 0 without its report
    }
  }
  return { ok: false, via: 'child', reason: `failed in a child process that loaded it (exit status ${r.status}): ${tail(r.stderr || r.stdout)}` };
}

/**
 * Whether the binary at `path` may be loaded in this process: loaded first in a child
 * process, or the verdict of an earlier check of the same file with the same Node.
 */
export function checkAddon(path: string, env: NodeJS.ProcessEnv = process.env): AddonCheck {
  const file = cacheFile(path, env);
  const cached = readCached(file);
  if (cached) return cached;
  const check = runChild(path, env);
  if (check.via === 'child') writeCached(file, check);
  return check;
}
