// Device-resident hidden states: copy [B, T, H] to the GPU once, then score it as often as
// needed (other heads, thresholds, aggregations, boundary sets) without moving it again.
//
// When it pays: scoring from host arrays moves only the S boundary rows over PCIe on each
// call (S·H elements), while `uploadHidden` moves all B·T rows once. Counting transfers
// alone, n scorings of the same states break even at n ≈ B·T / S (T = 1024 with 16 steps per
// chain: about 64 scorings). It pays sooner when a call's work is compute-bound rather than
// transfer-bound (a whole-vocabulary softmax; many heads over the same rows), and when
// several boundary sets cover most tokens (dense per-token rewards: S ≈ B·T, so from the
// second scoring). Device memory is held until `free()`, or, as a fallback, until the handle
// is garbage-collected. The measured figures are pending a GPU run (bench/gpu/NOTES.md).
import type { DeviceMemoryStats, NativeBinding, ResidentArgs } from './binding.js';
import { fromCaller, native, nativeHead, REBUILD_HINT } from './native.js';
import type { Aggregation, Boundaries, Dtype, Head, Hidden, ScoreResult } from './types.js';
import { checkBoundaries, checkHead, checkHidden, checkScoreOptions, checkThreads } from './validate.js';
import type { ResolvedHidden } from './validate.js';

export interface DeviceScoreOptions {
  /** Which chain aggregates to compute (default: all five). */
  aggregations?: Aggregation[];
  /** A step is an error when its probability is below this (default 0.5). */
  errorThreshold?: number;
}

export interface UploadOptions {
  /** Host threads that copy into the pinned staging buffers (default: all). */
  threads?: number;
}

/** A copy of hidden states in GPU memory. */
export interface DeviceHidden {
  readonly dtype: Dtype;
  readonly dims: readonly [number, number, number];
  /** Device bytes held. */
  readonly bytes: number;
  readonly freed: boolean;
  /** Same result as `scoreBatch(hidden, boundaries, head, { backend: 'cuda' })`, off the event loop. */
  score(boundaries: Boundaries, head: Head, options?: DeviceScoreOptions): Promise<ScoreResult>;
  scoreSync(boundaries: Boundaries, head: Head, options?: DeviceScoreOptions): ScoreResult;
  /** The boundary rows as float32 `[S, H]`, gathered on the device. */
  gatherRows(boundaries: Boundaries): Float32Array;
  /** Returns the device memory now; later calls on this handle throw. Idempotent. */
  free(): void;
}

/** The CUDA caching allocators' state (bytes, and cumulative raw allocation counts). */
export type { DeviceMemoryStats } from './binding.js';

// A loaded addon implements the whole contract (its version is checked at load), so the
// device entry points exist in every build; without CUDA they say why they cannot run.
function deviceBinding(): NativeBinding {
  const n = native();
  if (!n.binding) throw new Error(`prmkit: backend 'cuda' is unavailable: ${n.reason ?? REBUILD_HINT}`);
  return n.binding;
}

// The fallback for handles dropped without free(): releases their device copy at GC.
const released = new FinalizationRegistry<{ binding: NativeBinding; handle: number }>(({ binding, handle }) => {
  binding.cudaRelease(handle);
});

class DeviceHiddenImpl implements DeviceHidden {
  readonly dims: readonly [number, number, number];
  readonly bytes: number;
  #handle: number;
  #binding: NativeBinding;
  #shape: ResolvedHidden;

  constructor(binding: NativeBinding, handle: number, h: ResolvedHidden) {
    this.#binding = binding;
    this.#handle = handle;
    this.dims = Object.freeze([h.B, h.T, h.H] as const);
    this.bytes = h.B * h.T * h.H * (h.dtype === 'float32' ? 4 : 2);
    // rows stay on the device; validation only needs the dims
    this.#shape = { ...h, data: new Float32Array(0) };
    released.register(this, { binding, handle }, this);
  }

  get dtype(): Dtype {
    return this.#shape.dtype;
  }

  get freed(): boolean {
    return this.#handle === 0;
  }

  #args(boundaries: Boundaries, head: Head, options?: DeviceScoreOptions): { args: ResidentArgs; result: ScoreResult } {
    const o = checkScoreOptions({ aggregations: options?.aggregations, errorThreshold: options?.errorThreshold });
    const { offsets, positions } = checkBoundaries(boundaries, this.#shape);
    const hd = checkHead(head, this.#shape.H);
    this.#live();
    const B = this.#shape.B;
    const stepLogProbs = new Float32Array(positions.length);
    const firstError = new Int32Array(B);
    const aggregates: ScoreResult['aggregates'] = {};
    for (const a of o.aggregations) aggregates[a] = new Float32Array(B);
    const args: ResidentArgs = {
      handle: this.#handle,
      offsets,
      positions,
      head: nativeHead(hd),
      threshold: o.threshold,
      stepLogProbs,
      aggregates,
      firstError,
    };
    return { args, result: { stepLogProbs, aggregates, firstError, backend: 'cuda' } };
  }

  #live(): void {
    if (this.#handle === 0) throw new Error('prmkit: this DeviceHidden has been freed');
  }

  async score(boundaries: Boundaries, head: Head, options?: DeviceScoreOptions): Promise<ScoreResult> {
    const { args, result } = this.#args(boundaries, head, options);
    await fromCaller(this.#binding.cudaScoreResident(args));
    return result;
  }

  scoreSync(boundaries: Boundaries, head: Head, options?: DeviceScoreOptions): ScoreResult {
    const { args, result } = this.#args(boundaries, head, options);
    this.#binding.cudaScoreResidentSync(args);
    return result;
  }

  gatherRows(boundaries: Boundaries): Float32Array {
    const { offsets, positions } = checkBoundaries(boundaries, this.#shape);
    this.#live();
    const out = new Float32Array(positions.length * this.#shape.H);
    this.#binding.cudaGatherResidentSync({ handle: this.#handle, offsets, positions, out });
    return out;
  }

  free(): void {
    if (this.#handle === 0) return;
    released.unregister(this);
    this.#binding.cudaRelease(this.#handle);
    this.#handle = 0;
  }
}

/**
 * Copies hidden states to the GPU (through pinned staging buffers, in chunks) and returns a
 * handle that scores them in place. Throws the same error as `backend: 'cuda'` when no
 * device can be used; bad arguments throw TypeError/RangeError first.
 */
export function uploadHidden(hidden: Hidden, options?: UploadOptions): DeviceHidden {
  const h = checkHidden(hidden);
  const threads = checkThreads(options?.threads ?? 0, 'threads');
  const binding = deviceBinding();
  const info = binding.info();
  if (!(info.cuda.compiled && info.cuda.devices > 0))
    throw new Error(`prmkit: backend 'cuda' is unavailable: ${info.cuda.reason ?? 'no CUDA device'}`);
  const handle = binding.cudaUpload({ data: h.data, dtype: h.dtype, B: h.B, T: h.T, H: h.H, threads });
  return new DeviceHiddenImpl(binding, handle, h);
}

/** The CUDA allocators' caches (all zero when no device has been used). */
export function deviceMemory(): DeviceMemoryStats {
  return deviceBinding().cudaMemory();
}

/** Frees the device and pinned memory the caches hold (not what live handles use). */
export function trimDeviceMemory(): void {
  deviceBinding().cudaTrim();
}
