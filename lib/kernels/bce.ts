// Binary cross-entropy of a trainable head over gathered boundary rows, and its gradient:
// the public API over the native cpu kernel (native/core/bce.cpp) and the float64 js
// reference. Arguments are checked here before any work, with errors that name the
// argument; the native glue checks them again. The same ownership as the other kernels:
// every property is read once, the labels are copied, and the rows, params and `out` are
// held by the native Promise form until it settles (copied by the js one, which yields).
import * as is from '../is.js';
import { cpuBinding } from './backend.js';
import { BceAccumulator, paramCount } from './bce-reference.js';
import type { ResolvedBce } from './bce-reference.js';
import type { BceArgs, BceOptions, BceResult, TrainHead } from './bce-types.js';
import { MAX_THREADS } from './env.js';
import { fromCaller } from './native.js';
import type { NativeBceArgs } from './native.js';
import { checkFixedLength } from './validate.js';

export type * from './bce-types.js';

/** Widest hidden layer of an `mlp` head (the native kernel's bound). */
export const MAX_MLP_HIDDEN = 1 << 16;

/** Multiply-adds the js backend's Promise form does between turns of the event loop. */
const JS_SLICE_WORK = 1 << 20;

const ARG_KEYS = is.keysOf<BceArgs>()({ rows: true, labels: true, head: true, params: true });
const ROWS_KEYS = ['data', 'dims'] as const;
const OPTION_KEYS = is.keysOf<BceOptions>()({ classWeights: true, gradient: true, out: true, backend: true, threads: true });

function f32(v: unknown, name: string): Float32Array {
  if (!(v instanceof Float32Array)) throw is.invalidType(name, 'a Float32Array', v);
  checkFixedLength(v, name);
  return v;
}

function checkHeadSpec(v: unknown): ResolvedBce['head'] {
  const h = is.object(v, 'head', "an object { kind: 'linear' | 'mlp', activation, outputs }");
  const kind = is.oneOf(h.kind, 'head.kind', ['linear', 'mlp'] as const);
  is.knownKeys(h, kind === 'mlp' ? ['kind', 'hidden', 'activation', 'outputs', 'positive'] : ['kind', 'activation', 'outputs', 'positive'], 'head');
  const activation = is.oneOf(h.activation, 'head.activation', ['sigmoid', 'softmax'] as const);
  const K = is.integer(h.outputs, 'head.outputs', 1, 2);
  if (activation === 'sigmoid' && K !== 1) throw new RangeError(`a sigmoid head needs exactly 1 output, got ${K}`);
  if (activation === 'softmax' && K !== 2) throw new RangeError(`a softmax head trained with BCE has exactly 2 outputs, got ${K}`);
  const positive = h.positive === undefined ? K - 1 : is.integer(h.positive, 'head.positive', 0, K - 1);
  const M = kind === 'mlp' ? is.integer(h.hidden, 'head.hidden', 1, MAX_MLP_HIDDEN) : 0;
  return { kind, activation, K, positive, M };
}

/** The number of parameters of `head` over rows of width `H` (the length of `params`). */
export function headParamCount(head: TrainHead, H: number): number {
  return paramCount(checkHeadSpec(head), is.positiveInt(H, 'H'));
}

function checkArgs(args: BceArgs): Omit<ResolvedBce, 'positiveWeight' | 'negativeWeight'> {
  const a = is.object(args, 'args', 'an object { rows, labels, head, params }');
  is.knownKeys(a, ARG_KEYS, 'args');
  const { rows: rowsArg, labels: labelsArg, head: headArg, params: paramsArg } = a;
  const r = is.object(rowsArg, 'rows', 'an object { data: Float32Array, dims: [N, H] }');
  is.knownKeys(r, ROWS_KEYS, 'rows');
  const { data, dims } = r;
  const rows = f32(data, 'rows.data');
  if (!Array.isArray(dims) || dims.length !== 2) throw is.invalidType('rows.dims', '[N, H]', dims);
  const N = is.positiveInt(dims[0], 'rows.dims N');
  const H = is.positiveInt(dims[1], 'rows.dims H');
  if (rows.length !== N * H) throw new RangeError(`rows.data has ${rows.length} elements but rows.dims [${N}, ${H}] need ${N * H}`);
  const labels = f32(labelsArg, 'labels');
  if (labels.length !== N) throw new RangeError(`labels has length ${labels.length} but there are ${N} rows`);
  for (let i = 0; i < N; i++)
    if (!(labels[i] >= 0 && labels[i] <= 1)) throw new RangeError(`labels[${i}] = ${labels[i]} is outside [0, 1]`);
  const head = checkHeadSpec(headArg);
  const params = f32(paramsArg, 'params');
  const P = paramCount(head, H);
  if (params.length !== P) throw new RangeError(`params has length ${params.length} but the head has ${P} parameters`);
  return { rows, N, H, labels, head, params };
}

function checkOptions(options: BceOptions | undefined) {
  const o = options === undefined ? {} : is.object(options, 'options');
  is.knownKeys(o, OPTION_KEYS);
  const { classWeights, gradient, out, backend, threads } = o;
  const w = classWeights === undefined ? {} : is.object(classWeights, 'options.classWeights');
  is.knownKeys(w, ['positive', 'negative'], 'options.classWeights');
  const { positive, negative } = w;
  if (backend === 'cuda') throw new RangeError("options.backend: the BCE kernel has no CUDA backend; use 'auto', 'cpu' or 'js'");
  return {
    positiveWeight: positive === undefined ? 1 : is.number(positive, 'options.classWeights.positive', 0),
    negativeWeight: negative === undefined ? 1 : is.number(negative, 'options.classWeights.negative', 0),
    gradient: gradient === undefined ? true : is.boolean(gradient, 'options.gradient'),
    out: out === undefined ? undefined : f32(out, 'options.out'),
    backend: backend === undefined ? 'auto' : is.oneOf(backend, 'options.backend', ['auto', 'cpu', 'js'] as const),
    threads: threads === undefined ? 0 : is.nonNegativeInt(threads, 'options.threads', MAX_THREADS),
  };
}

/** Checks everything, picks the backend, and lays out the call. */
function prepare(args: BceArgs, options: BceOptions | undefined) {
  const o = checkOptions(options);
  const c: ResolvedBce = { ...checkArgs(args), positiveWeight: o.positiveWeight, negativeWeight: o.negativeWeight };
  const P = c.params.length;
  if (o.out && !o.gradient) throw new RangeError('options.out is given but options.gradient is false');
  if (o.out && o.out.length !== P) throw new RangeError(`options.out must have length ${P} (the head's parameters), got ${o.out.length}`);
  const binding = cpuBinding(o.backend);
  const gradient = o.gradient ? (o.out ?? new Float32Array(P)) : undefined;
  const nativeArgs: NativeBceArgs = {
    rows: c.rows,
    N: c.N,
    H: c.H,
    labels: c.labels,
    head: { kind: c.head.kind, activation: c.head.activation, outputs: c.head.K, positive: c.head.positive, hidden: c.head.M },
    params: c.params,
    gradient,
    positiveWeight: c.positiveWeight,
    negativeWeight: c.negativeWeight,
    threads: o.threads,
  };
  return { c, binding, gradient, nativeArgs };
}

const result = (loss: number, gradient: Float32Array | undefined, backend: 'cpu' | 'js'): BceResult =>
  gradient ? { loss, gradient, backend } : { loss, backend };

/**
 * The mean binary cross-entropy of `head` with `params` over the rows and their labels, and
 * its gradient with respect to the params. The native form runs off the event loop and sums
 * in double, in an order that does not depend on the thread count; the js backend works in
 * slices with turns of the loop between them.
 */
export async function bceLoss(args: BceArgs, options?: BceOptions): Promise<BceResult> {
  const { c, binding, gradient, nativeArgs } = prepare(args, options);
  if (binding) return result(await fromCaller(binding.bce(nativeArgs)), gradient, 'cpu');
  // the js backend reads across turns of the loop: it works on copies
  const own: ResolvedBce = { ...c, rows: c.rows.slice(), labels: c.labels.slice(), params: c.params.slice() };
  const acc = new BceAccumulator(own, gradient !== undefined);
  const perRow = own.H * (own.head.kind === 'linear' ? own.head.K : own.head.M);
  const step = Math.max(1, Math.floor(JS_SLICE_WORK / perRow));
  for (let i = 0; i < own.N; i += step) {
    acc.add(i, Math.min(own.N, i + step));
    if (i + step < own.N) await new Promise((r) => setImmediate(r));
  }
  return result(acc.result(gradient), gradient, 'js');
}

/** The same as `bceLoss`, on the calling thread. */
export function bceLossSync(args: BceArgs, options?: BceOptions): BceResult {
  const { c, binding, gradient, nativeArgs } = prepare(args, options);
  if (binding) return result(binding.bceSync(nativeArgs), gradient, 'cpu');
  const acc = new BceAccumulator(c, gradient !== undefined);
  acc.add(0, c.N);
  return result(acc.result(gradient), gradient, 'js');
}
