// The raw binding's contract (./binding.ts) and the loaded addon (./loader.ts), under the
// name the rest of lib/kernels imports them by.
export { BINDING_FUNCTIONS, BINDING_VERSION, bindingMismatch, nativeHead } from './binding.js';
export type {
  DeviceMemoryStats,
  NativeBceArgs,
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

/**
 * A Promise-form addon call whose rejection carries the caller's stack. The addon rejects
 * from a libuv callback, where no JavaScript frame is on the stack, so its Error says what
 * failed but not who asked. The frames are taken here, when the call starts (as sharp does),
 * and given to the native error if it comes; its class, message and properties stay.
 */
export function fromCaller<T>(call: Promise<T>): Promise<T> {
  const context: { stack?: string } = {};
  Error.captureStackTrace(context, fromCaller);
  return call.catch((e: unknown) => {
    throw withStack(e, context.stack);
  });
}

function withStack(e: unknown, captured: string | undefined): Error {
  const error = e instanceof Error ? e : new Error(String(e));
  const at = captured?.indexOf('\n') ?? -1;
  const frames = at >= 0 ? captured!.slice(at) : '';
  if (frames) error.stack = `${error.name}: ${error.message}${frames}`;
  return error;
}
