import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // with PRMKIT_REQUIRE_NATIVE=1, a missing or stale addon fails the run before any suite
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // native suites use all cores themselves; running files two at a time keeps a 2-core
    // CI machine from oversubscribing
    maxWorkers: 2,
  },
});
