// The raw binding's contract (./binding.ts) and the loaded addon (./loader.ts), under the
// name the rest of lib/kernels imports them by.
export { BINDING_FUNCTIONS, BINDING_VERSION, bindingMismatch, nativeHead } from './binding.js';
export type {
  DeviceMemoryStats,
  NativeBinding,
  NativeGatherArgs,
  NativeHead,
  NativeHiddenArgs,
  NativeInfo,
  NativeScoreArgs,
  NativeScoreOutputs,
  ResidentArgs,
} from './binding.js';

// Finding and loading the binary: ./loader.ts.
export { native, REBUILD_HINT } from './loader.js';
export type { AddonLoad, AddonSource } from './loader.js';
