// PRMKIT_REQUIRE_NATIVE=1 (as CI sets it) turns a missing or stale addon into a failed test
// run, before any suite could pass on the js backend; unset, the run goes on.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';
import { nativeRequirement } from '../helpers/require-native.js';

const stale = { available: false, reason: 'prmkit.node: built for binding contract 7, this package speaks 8; rebuild it', threads: 0, simd: 'none', pinned: false };
const loaded = { available: true, threads: 2, simd: 'avx2', pinned: true };

describe('PRMKIT_REQUIRE_NATIVE', () => {
  it('fails with the loader\'s reason only when set and the addon is not in use', () => {
    expect(nativeRequirement({ PRMKIT_REQUIRE_NATIVE: '1' }, { cpu: stale })).toBe(`PRMKIT_REQUIRE_NATIVE=1 but the native addon did not load: ${stale.reason}`);
    expect(nativeRequirement({}, { cpu: stale })).toBeUndefined();
    expect(nativeRequirement({ PRMKIT_REQUIRE_NATIVE: '0' }, { cpu: stale })).toBeUndefined();
    expect(nativeRequirement({ PRMKIT_REQUIRE_NATIVE: '1' }, { cpu: loaded })).toBeUndefined();
  });

  it('stops a whole vitest run before its suites, naming why', () => {
    const missing = join(repoRoot, 'build', 'no-such-addon.node');
    const r = spawnSync(process.execPath, [join(repoRoot, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/is.test.ts'], {
      cwd: repoRoot,
      encoding: 'utf8',
      env: { ...process.env, PRMKIT_REQUIRE_NATIVE: '1', PRMKIT_NATIVE_PATH: missing, NO_COLOR: '1' },
      // the kill timeout only turns a hang into a failure; it measures nothing
      timeout: 120_000,
    });
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toContain(`PRMKIT_REQUIRE_NATIVE=1 but the native addon did not load: the native addon is not built (looked for ${missing})`);
    expect(r.stdout + r.stderr).not.toMatch(/Tests\s+\d+ passed/);
  });
});
