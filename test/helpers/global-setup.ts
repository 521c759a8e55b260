// Runs once before any suite (vitest's globalSetup): with PRMKIT_REQUIRE_NATIVE=1 (CI) the
// whole run stops here when the addon is missing or stale, naming why, instead of most
// suites passing on the js backend.
import { backends } from '../../lib/kernels/index.js';
import { nativeRequirement } from './require-native.js';

export default function setup(): void {
  const failure = nativeRequirement(process.env, backends());
  if (failure) throw new Error(failure);
}
