// Suites that need something a machine may lack (the shared data, the addon, a GPU). Vitest
// reports a skipped suite as a count without its reason, so the reason is also written to
// stderr when the file is collected, where the default reporter shows it.
import { describe, it } from 'vitest';

const told = new Set<string>();

/** Writes why `suite` is skipped, once per suite and process. */
export function announceSkip(suite: string, reason: string): void {
  const line = `skipped: ${suite}: ${reason}`;
  if (told.has(line)) return;
  told.add(line);
  console.warn(line);
}

/**
 * `describe(name, fn)` when `ready`, else a skipped suite of that name whose reason is printed.
 * The suite's name carries the reason too, for reporters that list skipped suites.
 */
export function describeWhen(ready: boolean, name: string, reason: string, fn: () => void | Promise<void>): void {
  if (ready) {
    describe(name, fn);
    return;
  }
  announceSkip(name, reason);
  describe.skip(`${name} (skipped: ${reason})`, fn);
}

/** `it(name, fn)` when `ready`, else a skipped test whose reason is printed at collection. */
export function itWhen(ready: boolean, name: string, reason: string, fn: () => unknown, timeout?: number): void {
  if (ready) {
    it(name, fn, timeout);
    return;
  }
  announceSkip(name, reason);
  it.skip(`${name} (skipped: ${reason})`, fn);
}
