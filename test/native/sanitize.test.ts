// The C++ tests (test/native) built with AddressSanitizer + UndefinedBehaviorSanitizer
// (CMake option PRMKIT_SANITIZE) and run: any out-of-bounds access, use after free, leak or
// undefined behaviour in native/core fails this test. A canary first shows the build is
// really instrumented (a deliberate overflow must kill it). cpu only: CUDA code runs under
// its own tools.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';

import { describeWhen, hasCommand, NO_CMAKE, repoRoot } from '../helpers/index.js';

const dir = join(repoRoot, 'build-sanitize');
const binary = join(dir, 'test', 'native', 'prmkit_native_tests');
const env = { ...process.env, ASAN_OPTIONS: 'abort_on_error=0:halt_on_error=1', UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1' };

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', env, maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

describeWhen(hasCommand('cmake'), 'C++ kernel tests under ASan + UBSan', NO_CMAKE, () => {
  beforeAll(() => {
    const cfg = run('cmake', ['-S', repoRoot, '-B', dir, '-DPRMKIT_BUILD_ADDON=OFF', '-DPRMKIT_CUDA=OFF', '-DPRMKIT_SANITIZE=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo']);
    if (cfg.status !== 0) throw new Error(`configuring the sanitizer build failed:\n${cfg.out}`);
    const build = run('cmake', ['--build', dir, '--target', 'prmkit_native_tests', '--parallel', '2']);
    if (build.status !== 0) throw new Error(`building the sanitized C++ tests failed:\n${build.out}`);
  }, 900_000);

  it('the build is instrumented: a deliberate heap overflow and a signed overflow are caught', () => {
    const asan = run(binary, ['--canary', 'asan']);
    expect(asan.status).not.toBe(0);
    expect(asan.out).toMatch(/AddressSanitizer: heap-buffer-overflow/);
    const ubsan = run(binary, ['--canary', 'ubsan']);
    expect(ubsan.status).not.toBe(0);
    expect(ubsan.out).toMatch(/runtime error: signed integer overflow/);
  });

  it('the cpu core passes its C++ tests with no sanitizer report', () => {
    const r = run(binary, ['--random', '20', '--cpu-only']);
    expect(r.out).not.toMatch(/AddressSanitizer|LeakSanitizer|runtime error/);
    expect(r.out).toMatch(/PASSED: \d+ checks, 0 failed/);
    expect(r.status).toBe(0);
    expect(Number(/cpu: (\d+) checks/.exec(r.out)?.[1])).toBeGreaterThan(500);
  }, 300_000);
});
