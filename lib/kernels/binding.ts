// The contract with the raw addon (native/addon): every entry point it exports and the shape
// of every argument object, in one place. Enums cross the boundary as their names (the C++
// side keeps its own integer values private, native/addon/contract.h), and the addon says
// which version of this contract it implements: a binary built from other sources is refused
// at load with one clear error instead of failing somewhere inside a call.
import type { AdvantageArrays, AdvantageMode, AdvantageStd } from './advantages-types.js';
import type { Aggregation, Activation, Dtype } from './types.js';
import type { ResolvedHead } from './validate.js';

/** The contract version this file describes; the addon exports its own as `bindingVersion`. */
export const BINDING_VERSION = 6;

export interface NativeHiddenArgs {
  data: Float32Array | Uint16Array;
  dtype: Dtype;
  B: number;
  T: number;
  H: number;
  offsets: Int32Array;
  positions: Int32Array;
  threads: number;
  backend: 'cpu' | 'cuda';
}

export interface NativeHead {
  kind: 'linear' | 'logits';
  activation: Activation;
  positive: number;
  outputs?: number;
  weight?: Float32Array;
  bias?: Float32Array;
  columns?: Int32Array;
}

/** Caller-allocated outputs; only the requested aggregates are present. */
export interface NativeScoreOutputs {
  threshold: number;
  stepLogProbs: Float32Array;
  aggregates: Partial<Record<Aggregation, Float32Array>>;
  firstError: Int32Array;
}

export interface NativeScoreArgs extends NativeHiddenArgs, NativeScoreOutputs {
  head: NativeHead;
}

export interface NativeGatherArgs extends NativeHiddenArgs {
  out: Float32Array;
}

/** GRPO advantages: the five input arrays are copied by the call, `out` is written in place. */
export interface NativeAdvantageArgs extends AdvantageArrays {
  out: Float32Array;
  mode: AdvantageMode;
  std: AdvantageStd;
  eps: number;
  threads: number;
}

/** log P(target | row) under an LM head: `rows` index the [B * T] rows of the hidden states. */
export interface NativeLmHeadArgs extends Omit<NativeHiddenArgs, 'offsets' | 'positions' | 'backend'> {
  rows: Int32Array;
  targets: Int32Array;
  /** [V, H] row-major: float32, or float16/bfloat16 bits. */
  weight: Float32Array | Uint16Array;
  weightDtype: Dtype;
  V: number;
  out: Float32Array;
}

export interface NativeInfo {
  simd: string;
  threads: number;
  /** Whether Promise-form calls hold their buffers and run off the event loop (else they run inline). */
  pinned: boolean;
  cuda: { compiled: boolean; devices: number; reason?: string; deviceName?: string };
}

/** Per-chain reductions over step log-probabilities; outputs are caller-allocated. */
export interface NativeAggregateArgs {
  stepLogProbs: Float32Array;
  offsets: Int32Array;
  how: Aggregation;
  out: Float32Array;
  threads: number;
}

export interface NativeFirstErrorArgs {
  stepLogProbs: Float32Array;
  offsets: Int32Array;
  threshold: number;
  out: Int32Array;
  threads: number;
}

export interface NativeRankGroupsArgs {
  scores: Float32Array;
  groupOffsets: Int32Array;
  out: Int32Array;
  threads: number;
}

/**
 * BCE of a trainable head over gathered rows (lib/kernels/bce-types.ts): resolves to the mean
 * loss; `gradient` (absent: loss only) receives d loss / d params in place.
 */
export interface NativeBceArgs {
  rows: Float32Array;
  N: number;
  H: number;
  labels: Float32Array;
  head: { kind: 'linear' | 'mlp'; activation: Activation; outputs: number; positive: number; hidden: number };
  params: Float32Array;
  gradient?: Float32Array;
  positiveWeight: number;
  negativeWeight: number;
  threads: number;
}

/** The benchmark's bandwidth probes: read (sum) or write (zero) every byte of `data`. */
export interface NativeBytesArgs {
  data: Float32Array;
  threads: number;
}

export type ResidentArgs = NativeScoreOutputs & { handle: number; offsets: Int32Array; positions: Int32Array; head: NativeHead };

export interface DeviceMemoryStats {
  deviceCached: number;
  deviceInUse: number;
  pinnedCached: number;
  pinnedInUse: number;
  deviceMallocs: number;
  pinnedMallocs: number;
}

/** The raw binding. Every argument is checked again on the C++ side. */
export interface NativeBinding {
  bindingVersion: number;
  scoreSync(args: NativeScoreArgs): void;
  score(args: NativeScoreArgs): Promise<void>;
  gatherRowsSync(args: NativeGatherArgs): void;
  gatherRows(args: NativeGatherArgs): Promise<void>;
  aggregate(args: NativeAggregateArgs): void;
  firstError(args: NativeFirstErrorArgs): void;
  rankGroups(args: NativeRankGroupsArgs): void;
  /** Sums every float of `data` (the read half of the benchmarks' roofline). */
  readBytes(args: NativeBytesArgs): number;
  advantagesSync(args: NativeAdvantageArgs): void;
  advantages(args: NativeAdvantageArgs): Promise<void>;
  bceSync(args: NativeBceArgs): number;
  bce(args: NativeBceArgs): Promise<number>;
  /** Writes every byte of `data` (the write half of the advantages benchmark's roofline). */
  writeBytes(args: NativeBytesArgs): void;
  info(): NativeInfo;
  tokenLogProbsSync(args: NativeLmHeadArgs): void;
  tokenLogProbs(args: NativeLmHeadArgs): Promise<void>;
  /** Which instruction set the LM-head kernel runs with ('avx512f', 'avx2+fma', 'scalar'). */
  lmHeadInfo(): { simd: string };
  // Device-resident hidden states and device reductions: present in every build, each
  // throwing "backend 'cuda' is unavailable" where there is no CUDA.
  cudaUpload(args: { data: Float32Array | Uint16Array; dtype: Dtype; B: number; T: number; H: number; threads: number }): number;
  cudaRelease(handle: number): boolean;
  cudaLiveHandles(): number;
  cudaScoreResidentSync(args: ResidentArgs): void;
  cudaScoreResident(args: ResidentArgs): Promise<void>;
  cudaGatherResidentSync(args: { handle: number; offsets: Int32Array; positions: Int32Array; out: Float32Array }): void;
  cudaFirstError(args: Omit<NativeFirstErrorArgs, 'threads'>): void;
  cudaRankGroups(args: Omit<NativeRankGroupsArgs, 'threads'>): void;
  cudaMemory(): DeviceMemoryStats;
  cudaTrim(): void;
}

/** Every function of the contract, checked on the loaded addon. */
export const BINDING_FUNCTIONS = [
  'scoreSync', 'score', 'gatherRowsSync', 'gatherRows', 'aggregate', 'firstError', 'rankGroups', 'readBytes',
  'advantagesSync', 'advantages', 'bceSync', 'bce', 'writeBytes', 'info', 'tokenLogProbsSync', 'tokenLogProbs', 'lmHeadInfo',
  'cudaUpload', 'cudaRelease', 'cudaLiveHandles', 'cudaScoreResidentSync', 'cudaScoreResident', 'cudaGatherResidentSync',
  'cudaFirstError', 'cudaRankGroups', 'cudaMemory', 'cudaTrim',
] as const satisfies readonly { [K in keyof NativeBinding]: NativeBinding[K] extends (...a: never[]) => unknown ? K : never }[keyof NativeBinding][];

/**
 * Why a loaded module cannot serve as the binding (undefined when it can): a binary compiled
 * from other sources than this package's TypeScript implements another contract.
 */
export function bindingMismatch(binding: unknown): string | undefined {
  const b = binding as Record<string, unknown> | undefined;
  if (typeof b?.scoreSync !== 'function' || typeof b?.info !== 'function') return 'it is not a prmkit addon (it exports no scoreSync/info)';
  if (b.bindingVersion !== BINDING_VERSION)
    return `it was built from other prmkit sources (binding contract ${String(b.bindingVersion ?? 'before 2')}, this package needs ${BINDING_VERSION}); it is stale`;
  const missing = BINDING_FUNCTIONS.filter((f) => typeof b[f] !== 'function');
  if (missing.length) return `it lacks ${missing.join(', ')} although it reports binding contract ${BINDING_VERSION}`;
  return undefined;
}

/** A validated head in the binding's encoding. */
export function nativeHead(head: ResolvedHead): NativeHead {
  return {
    kind: head.kind,
    activation: head.activation,
    positive: head.positive,
    outputs: head.K,
    weight: head.weight,
    bias: head.bias,
    columns: head.columns,
  };
}
