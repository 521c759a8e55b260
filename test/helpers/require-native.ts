// CI sets PRMKIT_REQUIRE_NATIVE=1: there a missing or stale addon (one built for another
// binding contract) is a failure of the build, and the run must fail loudly instead of going
// green on the js backend, which every suite that scores would silently fall back to. Unset,
// the suites that need the addon skip and say why.
import type { BackendsInfo } from '../../lib/kernels/index.js';

/** The failure's message, or undefined when the run may go on. */
export function nativeRequirement(env: NodeJS.ProcessEnv, backends: Pick<BackendsInfo, 'cpu'>): string | undefined {
  if (env.PRMKIT_REQUIRE_NATIVE !== '1' || backends.cpu.available) return undefined;
  return `PRMKIT_REQUIRE_NATIVE=1 but the native addon did not load: ${backends.cpu.reason ?? 'no reason given'}`;
}
