// The kernel contract's argument rules, checked before any work on every backend. The
// native glue repeats the checks (so the raw binding can never be made to read out of
// bounds), but callers get these messages first.
import { AGGREGATIONS } from './types.js';
import type { Aggregation, BackendChoice, Boundaries, Head, Hidden, KernelOptions, ScoreOptions } from './types.js';

export const DTYPE_CODES = { float32: 0, float16: 1, bfloat16: 2 } as const;
export const MAX_LINEAR_OUTPUTS = 64;

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
  if (v === null || typeof v !== 'object') throw new TypeError(`${name} must be an object`);
}

export function checkHidden(hidden: Hidden): ResolvedHidden {
  object(hidden, 'hidden');
  const { data, dtype, dims } = hidden;
  if (!(dtype in DTYPE_CODES)) throw new TypeError(`hidden.dtype must be 'float32', 'float16' or 'bfloat16', got ${String(dtype)}`);
  if (dtype === 'float32' && !(data instanceof Float32Array))
    throw new TypeError('hidden.data must be a Float32Array for dtype float32');
  if (dtype !== 'float32' && !(data instanceof Uint16Array))
    throw new TypeError(`hidden.data must be a Uint16Array (raw bits) for dtype ${dtype}`);
  if (!Array.isArray(dims) && !(dims && typeof dims === 'object' && 'length' in dims))
    throw new TypeError('hidden.dims must be [B, T, H]');
  if (dims.length !== 3) throw new RangeError(`hidden.dims must have 3 entries [B, T, H], got ${dims.length}`);
  const [B, T, H] = dims;
  for (const [n, v] of [['B', B], ['T', T], ['H', H]] as const)
    if (!isInt(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`hidden.dims ${n} must be a non-negative integer, got ${String(v)}`);
  if (H === 0 && B > 0 && T > 0) throw new RangeError('hidden.dims: H must be at least 1');
  if (B * T * H !== data.length)
    throw new RangeError(`hidden.data has ${data.length} elements but hidden.dims [${B}, ${T}, ${H}] need ${B * T * H}`);
  return { data, dtype, B, T, H };
}

export function checkOffsets(offsets: Int32Array, total: number, name: string, totalName: string): number {
  if (!(offsets instanceof Int32Array)) throw new TypeError(`${name} must be an Int32Array`);
  if (offsets.length < 1) throw new RangeError(`${name} must have at least one entry (length B + 1)`);
  if (offsets[0] !== 0) throw new RangeError(`${name}[0] must be 0, got ${offsets[0]}`);
  for (let i = 1; i < offsets.length; i++)
    if (offsets[i] < offsets[i - 1])
      throw new RangeError(`${name} must be non-decreasing: ${name}[${i}] = ${offsets[i]} < ${name}[${i - 1}] = ${offsets[i - 1]}`);
  const last = offsets[offsets.length - 1];
  if (last !== total) throw new RangeError(`${name}[${offsets.length - 1}] must equal ${totalName} (${total}), got ${last}`);
  return offsets.length - 1;
}

export function checkBoundaries(b: Boundaries, hidden: ResolvedHidden): void {
  object(b, 'boundaries');
  if (!(b.offsets instanceof Int32Array)) throw new TypeError('boundaries.offsets must be an Int32Array');
  if (!(b.positions instanceof Int32Array)) throw new TypeError('boundaries.positions must be an Int32Array');
  if (b.offsets.length !== hidden.B + 1)
    throw new RangeError(`boundaries.offsets must have length B + 1 = ${hidden.B + 1}, got ${b.offsets.length}`);
  checkOffsets(b.offsets, b.positions.length, 'boundaries.offsets', 'boundaries.positions.length');
  const { offsets, positions } = b;
  for (let c = 0; c < hidden.B; c++)
    for (let s = offsets[c]; s < offsets[c + 1]; s++)
      if (positions[s] < 0 || positions[s] >= hidden.T)
        throw new RangeError(`boundaries.positions[${s}] = ${positions[s]} (candidate ${c}) is outside [0, T = ${hidden.T})`);
}

export function checkHead(head: Head, H: number): ResolvedHead {
  object(head, 'head');
  const activation = head.activation;
  if (activation !== 'sigmoid' && activation !== 'softmax')
    throw new TypeError(`head.activation must be 'sigmoid' or 'softmax', got ${String(activation)}`);
  let K: number;
  const r: ResolvedHead = { kind: head.kind, activation, K: 0, positive: 0 };
  if (head.kind === 'linear') {
    if (!isInt(head.outputs) || head.outputs < 1 || head.outputs > MAX_LINEAR_OUTPUTS)
      throw new RangeError(`head.outputs must be an integer in [1, ${MAX_LINEAR_OUTPUTS}], got ${String(head.outputs)}`);
    K = head.outputs;
    if (!(head.weight instanceof Float32Array)) throw new TypeError('head.weight must be a Float32Array [outputs, H]');
    if (head.weight.length !== K * H)
      throw new RangeError(`head.weight has length ${head.weight.length} but outputs x H = ${K} x ${H} = ${K * H}`);
    if (head.bias !== undefined) {
      if (!(head.bias instanceof Float32Array)) throw new TypeError('head.bias must be a Float32Array [outputs]');
      if (head.bias.length !== K) throw new RangeError(`head.bias has length ${head.bias.length} but head.outputs is ${K}`);
    }
    r.weight = head.weight;
    r.bias = head.bias;
  } else if (head.kind === 'logits') {
    if (head.columns !== undefined) {
      if (!(head.columns instanceof Int32Array)) throw new TypeError('head.columns must be an Int32Array of vocabulary ids');
      if (head.columns.length < 1 || head.columns.length > MAX_LINEAR_OUTPUTS)
        throw new RangeError(`head.columns must hold 1 to ${MAX_LINEAR_OUTPUTS} column indices, got ${head.columns.length}`);
      for (let k = 0; k < head.columns.length; k++)
        if (head.columns[k] < 0 || head.columns[k] >= H)
          throw new RangeError(`head.columns[${k}] = ${head.columns[k]} is outside [0, V = ${H})`);
      K = head.columns.length;
      r.columns = head.columns;
    } else {
      K = H;
    }
  } else {
    throw new TypeError(`head.kind must be 'linear' or 'logits', got ${String((head as { kind: unknown }).kind)}`);
  }
  if (activation === 'sigmoid' && K !== 1)
    throw new RangeError(`a sigmoid head needs exactly 1 output, got ${K}${head.kind === 'logits' ? ' (pick one column with head.columns)' : ''}`);
  const positive = head.positive ?? (activation === 'sigmoid' ? 0 : K - 1);
  if (!isInt(positive) || positive < 0 || positive >= K)
    throw new RangeError(`head.positive = ${String(positive)} is outside [0, K = ${K})`);
  r.K = K;
  r.positive = positive;
  return r;
}

export function checkThreshold(t: unknown, name = 'errorThreshold'): number {
  if (typeof t !== 'number') throw new TypeError(`${name} must be a number in (0, 1)`);
  if (!(t > 0 && t < 1)) throw new RangeError(`${name} must be in (0, 1), got ${t}`);
  return t;
}

export function checkAggregations(a: unknown): Aggregation[] {
  if (a === undefined) return [...AGGREGATIONS];
  if (!Array.isArray(a)) throw new TypeError(`aggregations must be an array of ${AGGREGATIONS.join(' | ')}`);
  for (const x of a)
    if (!AGGREGATIONS.includes(x)) throw new RangeError(`aggregations: unknown aggregation '${String(x)}' (expected ${AGGREGATIONS.join(', ')})`);
  return a as Aggregation[];
}

export function checkAggregation(how: unknown): Aggregation {
  if (!AGGREGATIONS.includes(how as Aggregation))
    throw new RangeError(`how must be one of ${AGGREGATIONS.join(', ')}, got '${String(how)}'`);
  return how as Aggregation;
}

export function checkKernelOptions(o: KernelOptions | undefined): { backend: BackendChoice; threads: number } {
  if (o === undefined) return { backend: 'auto', threads: 0 };
  object(o, 'options');
  const backend = (o as KernelOptions).backend ?? 'auto';
  if (!['auto', 'cpu', 'cuda', 'js'].includes(backend))
    throw new RangeError(`options.backend must be 'auto', 'cpu', 'cuda' or 'js', got '${String(backend)}'`);
  const threads = (o as KernelOptions).threads ?? 0;
  if (!isInt(threads) || threads < 0 || threads > 1024)
    throw new RangeError(`options.threads must be an integer in [0, 1024] (0 = all cores), got ${String(threads)}`);
  return { backend, threads };
}

export function checkScoreOptions(o: ScoreOptions | undefined) {
  const base = checkKernelOptions(o);
  return {
    ...base,
    aggregations: checkAggregations(o?.aggregations),
    threshold: checkThreshold(o?.errorThreshold ?? 0.5, 'errorThreshold'),
  };
}
