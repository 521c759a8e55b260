// Whether the native addon (and a CUDA device) can run the suites that need them, and why not.
import { backends } from '../../lib/kernels/index.js';

const info = backends();

export const hasNative = info.cpu.available;
export const NO_NATIVE = `the native addon did not load (${info.cpu.reason ?? 'no reason given'}); npm run build:native builds it`;
export const hasCuda = info.cuda.available;
export const NO_CUDA = `no usable CUDA device (${info.cuda.reason ?? 'none found'})`;

// CI sets PRMKIT_REQUIRE_NATIVE=1: there a missing addon is a failure of the build, and the
// suites that need it must fail loudly instead of skipping into a green run.
if (process.env.PRMKIT_REQUIRE_NATIVE === '1' && !hasNative)
  throw new Error(`PRMKIT_REQUIRE_NATIVE=1 but ${NO_NATIVE}`);
