// Which backend runs a kernel call, and saying so. The js backend is correct but 20-1000x
// slower, and an install can land on it silently (scripts disabled, no compiler, a binary
// for another libc), so the first call that falls back to it says why on stderr, once.
import { native } from './native.js';
import type { AddonSource, NativeBinding } from './native.js';
import type { BackendChoice, BackendName, BackendsInfo } from './types.js';

/**
 * Below this many bytes of boundary rows, `auto` keeps a batch on the cpu even when it may
 * use a CUDA device: the transfers cost more than they save (see bench/gpu/NOTES.md).
 */
export const CUDA_AUTO_MIN_BYTES = 8 << 20;

/**
 * `auto` picks cuda only when this is set to 1: the CUDA kernels compile and load but have
 * not yet been verified on a device, so using them is the caller's explicit choice (this,
 * or `backend: 'cuda'`).
 */
export const AUTO_CUDA_ENV = 'PRMKIT_AUTO_CUDA';

/** Set to 1 to silence the warning printed when scoring falls back to the js backend. */
export const ALLOW_JS_ENV = 'PRMKIT_ALLOW_JS';

export function backends(): BackendsInfo {
  const n = native();
  if (!n.binding) {
    return {
      js: true,
      cpu: { available: false, reason: n.reason, threads: 0, simd: 'none', pinned: false },
      cuda: { compiled: false, available: false, devices: 0, reason: n.reason },
    };
  }
  const info = n.binding.info();
  return {
    js: true,
    cpu: { available: true, threads: info.threads, simd: info.simd, pinned: info.pinned, source: n.source, path: n.path },
    cuda: {
      compiled: info.cuda.compiled,
      available: info.cuda.compiled && info.cuda.devices > 0,
      devices: info.cuda.devices,
      ...(info.cuda.reason ? { reason: info.cuda.reason } : {}),
      ...(info.cuda.deviceName ? { deviceName: info.cuda.deviceName } : {}),
    },
  };
}

let warned = false;

/**
 * Prints, once per process, why scoring runs on the js backend and how to fix it, unless
 * the native addon is loaded, was disabled on purpose (PRMKIT_DISABLE_NATIVE=1), or the
 * warning is silenced (PRMKIT_ALLOW_JS=1). Called at the first kernel call and by Prm.load.
 */
export function warnIfJsBackend(): void {
  if (warned) return;
  const n = native();
  if (n.binding || process.env.PRMKIT_DISABLE_NATIVE === '1' || process.env[ALLOW_JS_ENV] === '1') return;
  warned = true;
  process.emitWarning(
    `the native kernels are not in use, so scoring runs on the js backend (20-1000x slower): ${n.reason}. ` +
      `Set ${ALLOW_JS_ENV}=1 to silence this warning.`,
    { type: 'PrmkitWarning', code: 'PRMKIT_JS_BACKEND' },
  );
}

let autoCuda: boolean | undefined;

export function pickBackend(choice: BackendChoice, gatheredBytes: number): { name: BackendName; binding?: NativeBinding } {
  if (choice === 'js') return { name: 'js' };
  const n = native();
  if (choice === 'cpu' || choice === 'cuda') {
    if (!n.binding) throw new Error(`prmkit: backend '${choice}' is unavailable: ${n.reason}`);
    if (choice === 'cuda') {
      const cuda = backends().cuda;
      if (!cuda.available)
        throw new Error(`prmkit: backend 'cuda' is unavailable: ${cuda.reason ?? 'no CUDA device'}`);
    }
    return { name: choice, binding: n.binding };
  }
  if (!n.binding) {
    warnIfJsBackend();
    return { name: 'js' };
  }
  autoCuda ??= process.env[AUTO_CUDA_ENV] === '1' && backends().cuda.available;
  if (autoCuda && gatheredBytes >= CUDA_AUTO_MIN_BYTES) return { name: 'cuda', binding: n.binding };
  return { name: 'cpu', binding: n.binding };
}

/**
 * The addon for a kernel that runs on the cpu alone (GRPO advantages, the BCE loss, the LM
 * head): undefined means the js reference. 'cpu' without the addon is an error; 'auto'
 * falls back to js and says so once.
 */
export function cpuBinding(choice: 'auto' | 'cpu' | 'js'): NativeBinding | undefined {
  if (choice === 'js') return undefined;
  const n = native();
  if (choice === 'cpu' && !n.binding) throw new Error(`prmkit: backend 'cpu' is unavailable: ${n.reason}`);
  if (!n.binding) warnIfJsBackend();
  return n.binding;
}

/** What the kernels run on, for banners, health checks, metrics labels and bench headers. */
export interface KernelBackendInfo {
  /** What `auto` uses for large batches: 'cuda' only when opted in with PRMKIT_AUTO_CUDA=1. */
  backend: BackendName;
  /** Where the native addon came from (absent on js). */
  source?: AddonSource;
  path?: string;
  simd: string;
  threads: number;
  /** 'not compiled' | 'no device' | 'opt-in' (a device is there; `auto` leaves it alone) | 'auto'. */
  cuda: 'not compiled' | 'no device' | 'opt-in' | 'auto';
  /** Why the native backend is not in use. */
  reason?: string;
  /** One line: `cpu (prebuild, avx2+fma+f16c, 8 threads; cuda: no device)`. */
  label: string;
}

export function kernelBackendInfo(): KernelBackendInfo {
  const b = backends();
  if (!b.cpu.available)
    return { backend: 'js', simd: 'none', threads: 0, cuda: 'not compiled', reason: b.cpu.reason, label: 'js (native addon not loaded)' };
  const optedIn = process.env[AUTO_CUDA_ENV] === '1';
  const cuda = !b.cuda.compiled ? 'not compiled' : !b.cuda.available ? 'no device' : optedIn ? 'auto' : 'opt-in';
  const backend: BackendName = cuda === 'auto' ? 'cuda' : 'cpu';
  const { source, path, simd, threads } = b.cpu;
  return {
    backend,
    source,
    path,
    simd,
    threads,
    cuda,
    label: `${backend} (${source}, ${simd}, ${threads} threads; cuda: ${cuda})`,
  };
}
