// Whether the native addon (and a CUDA device) can run the suites that need them, and why not.
import { backends } from '../../lib/kernels/index.js';
import { nativeRequirement } from './require-native.js';

const info = backends();

export const hasNative = info.cpu.available;
export const NO_NATIVE = `the native addon did not load (${info.cpu.reason ?? 'no reason given'}); npm run build:native builds it`;
export const hasCuda = info.cuda.available;
export const NO_CUDA = `no usable CUDA device (${info.cuda.reason ?? 'none found'})`;

// the global setup stops the whole run first; this keeps a suite run on its own as strict
const required = nativeRequirement(process.env, info);
if (required) throw new Error(required);
