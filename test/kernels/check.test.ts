// Each native binary is loaded in a child process before it is loaded in-process
// (lib/kernels/check.ts): one that crashes on load costs a fallback to js with the reason,
// not the process; the verdict is kept on disk, so the check runs once per binary and Node.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

import { checkAddon } from '../../lib/kernels/check.js';
import { native } from '../../lib/kernels/native.js';
import { describeWhen, distDir, hasCommand, hasDist, hasNative, NO_DIST, NO_NATIVE } from '../helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** backends().cpu as a fresh process on the compiled dist/ sees it, with this environment. */
function cpuInChild(env: Record<string, string>) {
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `const k = await import(${JSON.stringify(join(distDir, 'kernels', 'index.js'))}); console.log(JSON.stringify(k.backends().cpu));`],
    { encoding: 'utf8', env: { ...process.env, PRMKIT_ALLOW_JS: '1', ...env } },
  );
  expect(r.signal, r.stderr).toBeNull();
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { available: boolean; reason?: string; pinned: boolean };
}

describe('checkAddon', () => {
  it('refuses a file that does not load, with the loader error, and keeps the verdict', () => {
    const bad = join(dir, 'garbage.node');
    writeFileSync(bad, 'not an ELF file\n');
    const cache = join(dir, 'cache-garbage');
    const first = checkAddon(bad, { ...process.env, PRMKIT_CACHE_DIR: cache });
    expect(first).toMatchObject({ ok: false, via: 'child' });
    expect(first.reason).toMatch(/^failed to load \(.*garbage\.node/);
    expect(readdirSync(cache)).toHaveLength(1);
    expect(checkAddon(bad, { ...process.env, PRMKIT_CACHE_DIR: cache })).toEqual({ ...first, via: 'cache' });
  });
});

const cc = hasCommand('cc');
describeWhen(hasDist && cc, 'a binary that crashes when loaded (child processes on dist/)', hasDist ? 'no C compiler (cc) to build one' : NO_DIST, () => {
  it('costs a fallback to js with the signal in the reason; the process lives on', () => {
    const src = join(dir, 'abort.c');
    writeFileSync(src, '#include <stdlib.h>\n__attribute__((constructor)) static void on_load(void) { abort(); }\n');
    const lib = join(dir, 'abort.node');
    const built = spawnSync('cc', ['-shared', '-fPIC', src, '-o', lib], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const cpu = cpuInChild({ PRMKIT_NATIVE_PATH: lib, PRMKIT_CACHE_DIR: join(dir, 'cache-abort') });
    expect(cpu.available).toBe(false);
    expect(cpu.reason).toContain(`the native addon at ${lib} crashed a child process that loaded it (SIGABRT)`);
    expect(cpu.reason).toMatch(/npm rebuild prmkit/);
  });
});

describeWhen(hasDist && hasNative, 'the verdict on the real addon (child processes on dist/)', hasDist ? NO_NATIVE : NO_DIST, () => {
  it('is reached once per file: a second process reads it, a changed file is checked again', () => {
    const copy = join(dir, 'prmkit-copy.node');
    copyFileSync(native().path!, copy);
    const cache = join(dir, 'cache-real');
    const env = { PRMKIT_NATIVE_PATH: copy, PRMKIT_CACHE_DIR: cache };
    const first = cpuInChild(env);
    expect(first.available, first.reason).toBe(true);
    expect(first.pinned).toBe(native().binding!.info().pinned);
    const [file] = readdirSync(cache);
    // a planted verdict shows that the next process trusts the file instead of a child
    writeFileSync(join(cache, file), JSON.stringify({ ok: false, reason: 'planted verdict' }));
    expect(cpuInChild(env).reason).toContain(`the native addon at ${copy} planted verdict`);
    // a rebuilt binary (here: a new modification time) is checked afresh
    const later = new Date(Date.now() + 5000);
    utimesSync(copy, later, later);
    expect(cpuInChild(env).available).toBe(true);
    expect(readdirSync(cache)).toHaveLength(2);
  });
});
