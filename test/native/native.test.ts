// Builds and runs the C++ tests (test/native/*.cpp): the cpu core against a scalar
// reference, and, when this build has CUDA, the cuda backend against the cpu core (on a
// machine without a device that part checks that every entry point fails cleanly).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { announceSkip, describeWhen, hasCommand, NO_CMAKE, repoRoot } from '../helpers/index.js';

import { backends } from '../../lib/kernels/index.js';

const hasCmake = hasCommand('cmake');

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { status: r.status, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

// Reuse the addon's cmake-js build tree when it is configured (its libraries are already
// compiled); otherwise configure a standalone tree without the addon.
function buildTests(): { binary: string; log: string } {
  const shared = join(repoRoot, 'build');
  if (existsSync(join(shared, 'CMakeCache.txt'))) {
    const r = run('cmake', ['--build', shared, '--target', 'prmkit_native_tests']);
    const binary = join(shared, 'test', 'native', 'prmkit_native_tests');
    if (r.status === 0 && existsSync(binary)) return { binary, log: r.out };
  }
  const own = join(repoRoot, 'build-native');
  const cfg = run('cmake', ['-S', repoRoot, '-B', own, '-DPRMKIT_BUILD_ADDON=OFF', '-DCMAKE_BUILD_TYPE=Release']);
  if (cfg.status !== 0) throw new Error(`configuring the C++ tests failed:\n${cfg.out}`);
  const r = run('cmake', ['--build', own, '--target', 'prmkit_native_tests', '--parallel', '2']);
  if (r.status !== 0) throw new Error(`building the C++ tests failed:\n${r.out}`);
  return { binary: join(own, 'test', 'native', 'prmkit_native_tests'), log: r.out };
}

describeWhen(hasCmake, 'C++ kernel tests (test/native, built with cmake)', NO_CMAKE, () => {
  let binary = '';
  beforeAll(() => {
    binary = buildTests().binary;
  }, 600_000);

  let output = '';
  it('pass: cpu core vs the scalar reference', () => {
    const r = run(binary, ['--random', '60']);
    output = r.out;
    expect(r.out).toMatch(/PASSED: \d+ checks, 0 failed/);
    expect(r.status).toBe(0);
    const cpuChecks = Number(/cpu: (\d+) checks/.exec(r.out)?.[1]);
    expect(cpuChecks).toBeGreaterThan(1000);
  });

  const cuda = backends().cuda;
  const noCuda = `the loaded addon has no CUDA backend (${cuda.reason ?? 'not compiled'})`;
  if (!cuda.compiled) announceSkip('C++ kernel tests: the cuda part', noCuda);
  it.skipIf(!cuda.compiled)(
    cuda.compiled ? 'the cuda part: cuda vs cpu, or its clean failure without a device' : `the cuda part (skipped: ${noCuda})`,
    () => {
      // the addon and the tests come from the same tree: both have the CUDA backend
      expect(output).toMatch(/PASSED/);
      expect(output).not.toMatch(/this build has no CUDA backend/);
      if (cuda.available) expect(output).toMatch(/cuda: device 0 is /);
      else expect(output).toMatch(/cuda: skipped: no CUDA device \(.+\); checked that every entry point fails cleanly/);
    },
  );

  it('rejects unknown flags with a usage line and exit status 2', () => {
    const r = run(binary, ['--bogus']);
    expect(r.status).toBe(2);
    expect(r.out).toMatch(/usage: .*--random N/);
  });
});
