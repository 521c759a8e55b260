// The kernel contract's argument rules, checked before any work on every backend. The
// native glue repeats the checks (so the raw binding can never be made to read out of
// bounds), but callers get these messages first.
//
// Each property of a caller's object is read exactly once, and what the kernels use is what
// was checked: a getter that answers differently the second time (or a Proxy) cannot slip
// an unchecked array past validation.
import * as is from '../is.js';
import { AGGREGATIONS } from './types.js';
import type {
  AggregateArgs,
  Aggregation,
  BackendChoice,
  Boundaries,
  Dtype,
  FirstErrorArgs,
  Head,
  Hidden,
  KernelOptions,
  RankGroupsArgs,
  ScoreOptions,
} from './types.js';
import { MAX_THREADS } from './env.js';

export const DTYPES: readonly Dtype[] = ['float32', 'float16', 'bfloat16'];
export const MAX_LINEAR_OUTPUTS = 64;
const BACKENDS: readonly BackendChoice[] = ['auto', 'cpu', 'cuda', 'js'];

/** A validated head, reduced to what every backend needs. */
export interface ResolvedHead {
  kind: 'linear' | 'logits';
  activation: 'sigmoid' | 'softmax';
  K: number;
  positive: number;
  weight?: Float32Array;
  bias?: Float32Array;
  columns?: Int32Array;
}

export interface ResolvedHidden {
  data: Float32Array | Uint16Array;
  dtype: Hidden['dtype'];
  B: number;
  T: number;
  H: number;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function object(v: unknown, name: string): asserts v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') throw is.invalidType(name, 'an object', v);
}

/**
 * Typed arrays the kernels read must sit on a fixed-length buffer: a resizable ArrayBuffer can
 * shrink (its memory is unmapped) while a Promise-form call reads it on another thread, so it
 * is refused on every backend alike. SharedArrayBuffer-backed arrays are fine everywhere.
 */
export function checkFixedLength(a: ArrayBufferView, name: string): void {
  const buf = a.buffer as ArrayBufferLike & { resizable?: boolean; growable?: boolean };
  if (buf.resizable === true || buf.growable === true)
    throw new TypeError(`${name} must not be on a resizable ArrayBuffer or growable SharedArrayBuffer (it could shrink while the kernels read it)`);
}

export function checkHidden(hidden: Hidden): ResolvedHidden {
  object(hidden, 'hidden');
  const { data, dtype, dims } = hidden;
  if (!DTYPES.includes(dtype)) throw is.invalidType('hidden.dtype', "'float32', 'float16' or 'bfloat16'", dtype);
  if (dtype === 'float32' && !(data instanceof Float32Array)) throw is.invalidType('hidden.data', 'a Float32Array for dtype float32', data);
  if (dtype !== 'float32' && !(data instanceof Uint16Array))
    throw is.invalidType('hidden.data', `a Uint16Array (raw bits) for dtype ${dtype}`, data);
  checkFixedLength(data, 'hidden.data');
  if (dims === null || typeof dims !== 'object') throw is.invalidType('hidden.dims', '[B, T, H]', dims);
  const n = (dims as { length: unknown }).length;
  if (n !== 3) throw new RangeError(`hidden.dims must have 3 entries [B, T, H], got ${typeof n === 'number' ? n : is.show(n)}`);
  const [B, T, H] = [dims[0], dims[1], dims[2]];
  for (const [k, v] of [['B', B], ['T', T], ['H', H]] as const)
    if (!isInt(v) || v < 0 || v > 0x7fffffff) throw is.invalidRange(`hidden.dims ${k}`, 'a non-negative integer', v);
  if (H === 0 && B > 0 && T > 0) throw new RangeError('hidden.dims: H must be at least 1');
  const length = data.length;
  if (B * T * H !== length) throw new RangeError(`hidden.data has ${length} elements but hidden.dims [${B}, ${T}, ${H}] need ${B * T * H}`);
  return { data, dtype, B, T, H };
}

export function checkOffsets(offsets: Int32Array, total: number, name: string, totalName: string): number {
  if (!(offsets instanceof Int32Array)) throw is.invalidType(name, 'an Int32Array', offsets);
  if (offsets.length < 1) throw new RangeError(`${name} must have at least one entry (length B + 1)`);
  if (offsets[0] !== 0) throw new RangeError(`${name}[0] must be 0, got ${offsets[0]}`);
  for (let i = 1; i < offsets.length; i++)
    if (offsets[i] < offsets[i - 1])
      throw new RangeError(`${name} must be non-decreasing: ${name}[${i}] = ${offsets[i]} < ${name}[${i - 1}] = ${offsets[i - 1]}`);
  const last = offsets[offsets.length - 1];
  if (last !== total) throw new RangeError(`${name}[${offsets.length - 1}] must equal ${totalName} (${total}), got ${last}`);
  return offsets.length - 1;
}

/** The boundaries as read (once) and checked; use these, not the caller's object, afterwards. */
export function checkBoundaries(b: Boundaries, hidden: ResolvedHidden): Boundaries {
  object(b, 'boundaries');
  const { offsets, positions } = b;
  if (!(offsets instanceof Int32Array)) throw is.invalidType('boundaries.offsets', 'an Int32Array', offsets);
  if (!(positions instanceof Int32Array)) throw is.invalidType('boundaries.positions', 'an Int32Array', positions);
  checkFixedLength(offsets, 'boundaries.offsets');
  checkFixedLength(positions, 'boundaries.positions');
  if (offsets.length !== hidden.B + 1)
    throw new RangeError(`boundaries.offsets must have length B + 1 = ${hidden.B + 1}, got ${offsets.length}`);
  checkOffsets(offsets, positions.length, 'boundaries.offsets', 'boundaries.positions.length');
  for (let c = 0; c < hidden.B; c++)
    for (let s = offsets[c]; s < offsets[c + 1]; s++)
      if (positions[s] < 0 || positions[s] >= hidden.T)
        throw new RangeError(`boundaries.positions[${s}] = ${positions[s]} (candidate ${c}) is outside [0, T = ${hidden.T})`);
  return { offsets, positions };
}

export function checkHead(head: Head, H: number): ResolvedHead {
  object(head, 'head');
  const { kind, activation, positive: given } = head as Head & { positive?: unknown };
  if (activation !== 'sigmoid' && activation !== 'softmax') throw is.invalidType('head.activation', "'sigmoid' or 'softmax'", activation);
  let K: number;
  const r: ResolvedHead = { kind, activation, K: 0, positive: 0 };
  if (kind === 'linear') {
    const { outputs, weight, bias } = head as Extract<Head, { kind: 'linear' }>;
    if (!isInt(outputs) || outputs < 1 || outputs > MAX_LINEAR_OUTPUTS)
      throw is.invalidRange('head.outputs', `an integer in [1, ${MAX_LINEAR_OUTPUTS}]`, outputs);
    K = outputs;
    if (!(weight instanceof Float32Array)) throw is.invalidType('head.weight', 'a Float32Array [outputs, H]', weight);
    checkFixedLength(weight, 'head.weight');
    if (weight.length !== K * H) throw new RangeError(`head.weight has length ${weight.length} but outputs x H = ${K} x ${H} = ${K * H}`);
    if (bias !== undefined) {
      if (!(bias instanceof Float32Array)) throw is.invalidType('head.bias', 'a Float32Array [outputs]', bias);
      checkFixedLength(bias, 'head.bias');
      if (bias.length !== K) throw new RangeError(`head.bias has length ${bias.length} but head.outputs is ${K}`);
    }
    r.weight = weight;
    r.bias = bias;
  } else if (kind === 'logits') {
    const { columns } = head as Extract<Head, { kind: 'logits' }>;
    if (columns !== undefined) {
      if (!(columns instanceof Int32Array)) throw is.invalidType('head.columns', 'an Int32Array of vocabulary ids', columns);
      checkFixedLength(columns, 'head.columns');
      if (columns.length < 1 || columns.length > MAX_LINEAR_OUTPUTS)
        throw new RangeError(`head.columns must hold 1 to ${MAX_LINEAR_OUTPUTS} column indices, got ${columns.length}`);
      for (let k = 0; k < columns.length; k++)
        if (columns[k] < 0 || columns[k] >= H) throw new RangeError(`head.columns[${k}] = ${columns[k]} is outside [0, V = ${H})`);
      K = columns.length;
      r.columns = columns;
    } else {
      K = H;
    }
  } else {
    throw is.invalidType('head.kind', "'linear' or 'logits'", kind);
  }
  if (activation === 'sigmoid' && K !== 1)
    throw new RangeError(`a sigmoid head needs exactly 1 output, got ${K}${kind === 'logits' ? ' (pick one column with head.columns)' : ''}`);
  const positive = given ?? (activation === 'sigmoid' ? 0 : K - 1);
  if (!isInt(positive) || positive < 0 || positive >= K) throw new RangeError(`head.positive = ${String(positive)} is outside [0, K = ${K})`);
  r.K = K;
  r.positive = positive;
  return r;
}

/**
 * Copies of the arrays a js-backend call reads across turns of the event loop, so a caller
 * that changes them meanwhile cannot make it loop past the checked bounds (the native glue
 * makes the same copies on its side).
 */
export function ownedInputs(boundaries: Boundaries, head: ResolvedHead): { boundaries: Boundaries; head: ResolvedHead } {
  return {
    boundaries: { offsets: boundaries.offsets.slice(), positions: boundaries.positions.slice() },
    head: { ...head, weight: head.weight?.slice(), bias: head.bias?.slice(), columns: head.columns?.slice() },
  };
}

/** An error threshold strictly inside (0, 1); every backend compares against its log in double precision. */
export function checkThreshold(t: unknown, name = 'errorThreshold'): number {
  return is.threshold(t, name);
}

export function checkThreads(t: unknown, name = 'options.threads'): number {
  return is.integer(t, name, 0, MAX_THREADS);
}

export function checkAggregations(a: unknown): Aggregation[] {
  if (a === undefined) return [...AGGREGATIONS];
  if (!Array.isArray(a)) throw is.invalidType('aggregations', `an array of ${AGGREGATIONS.join(' | ')}`, a);
  const list = [...a] as unknown[];
  list.forEach((x, i) => is.aggregation(x, `aggregations[${i}]`));
  return list as Aggregation[];
}

export function checkAggregation(how: unknown, name = 'how'): Aggregation {
  return is.oneOf(how, name, AGGREGATIONS);
}

const KERNEL_OPTION_KEYS = is.keysOf<KernelOptions>()({ backend: true, threads: true });
const SCORE_OPTION_KEYS = is.keysOf<ScoreOptions>()({ backend: true, threads: true, aggregations: true, errorThreshold: true });

export function checkKernelOptions(o: KernelOptions | undefined, keys: readonly string[] = KERNEL_OPTION_KEYS): { backend: BackendChoice; threads: number } {
  if (o === undefined) return { backend: 'auto', threads: 0 };
  object(o, 'options');
  is.knownKeys(o as Record<string, unknown>, keys);
  const { backend = 'auto', threads = 0 } = o;
  return { backend: is.oneOf(backend, 'options.backend', BACKENDS), threads: checkThreads(threads) };
}

export function checkScoreOptions(o: ScoreOptions | undefined) {
  const base = checkKernelOptions(o, SCORE_OPTION_KEYS);
  const { aggregations, errorThreshold = 0.5 } = o ?? {};
  return { ...base, aggregations: checkAggregations(aggregations), threshold: checkThreshold(errorThreshold, 'errorThreshold') };
}

// The reductions' argument objects: each property read once, unknown keys refused (a typo
// such as `treshold` would otherwise fall back to the default silently).
function typedArray<T extends Float32Array | Int32Array>(v: unknown, name: string, ctor: { new (n: number): T; name: string }): T {
  if (!(v instanceof ctor)) throw is.invalidType(name, `a ${ctor.name}`, v);
  checkFixedLength(v, name);
  return v as T;
}

/** An argument object (a typed array here is an old positional call: said so, not "args.0"). */
function argsObject(v: unknown, keys: readonly string[]): Record<string, unknown> {
  if (!is.isObject(v) || ArrayBuffer.isView(v)) throw is.invalidType('args', `an object { ${keys.join(', ')} }`, v);
  is.knownKeys(v, keys, 'args');
  return v;
}

const AGGREGATE_KEYS = is.keysOf<AggregateArgs>()({ stepLogProbs: true, offsets: true, how: true });
const FIRST_ERROR_KEYS = is.keysOf<FirstErrorArgs>()({ stepLogProbs: true, offsets: true, threshold: true });
const RANK_GROUPS_KEYS = is.keysOf<RankGroupsArgs>()({ scores: true, groupOffsets: true });

export function checkAggregateArgs(args: AggregateArgs): Required<AggregateArgs> {
  argsObject(args, AGGREGATE_KEYS);
  const { stepLogProbs, offsets, how } = args;
  const lp = typedArray(stepLogProbs, 'stepLogProbs', Float32Array);
  const a = checkAggregation(how);
  const off = typedArray(offsets, 'offsets', Int32Array);
  checkOffsets(off, lp.length, 'offsets', 'stepLogProbs.length');
  return { stepLogProbs: lp, offsets: off, how: a };
}

export function checkFirstErrorArgs(args: FirstErrorArgs): Required<FirstErrorArgs> {
  argsObject(args, FIRST_ERROR_KEYS);
  const { stepLogProbs, offsets, threshold = 0.5 } = args;
  const lp = typedArray(stepLogProbs, 'stepLogProbs', Float32Array);
  const t = checkThreshold(threshold, 'threshold');
  const off = typedArray(offsets, 'offsets', Int32Array);
  checkOffsets(off, lp.length, 'offsets', 'stepLogProbs.length');
  return { stepLogProbs: lp, offsets: off, threshold: t };
}

export function checkRankGroupsArgs(args: RankGroupsArgs): RankGroupsArgs {
  argsObject(args, RANK_GROUPS_KEYS);
  const { scores, groupOffsets } = args;
  const sc = typedArray(scores, 'scores', Float32Array);
  const off = typedArray(groupOffsets, 'groupOffsets', Int32Array);
  checkOffsets(off, sc.length, 'groupOffsets', 'scores.length');
  return { scores: sc, groupOffsets: off };
}
