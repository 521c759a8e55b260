// tokenLogProbs: log P(target | row) under a language model's head for chosen rows of hidden
// states, the one reading an implicit PRM needs (each realised next token's log-probability
// under two LMs) and a next-token PRM needs (P("Y") over the whole vocabulary). The native
// kernel (native/core/lm_head.cpp) streams the head in tiles with an online log-sum-exp, so
// no [rows x vocabulary] logits are ever held; the js reference does the same one row at a
// time. Arguments are checked here before any work; the native glue checks them again.
import * as is from '../is.js';
import { cpuBinding } from './backend.js';
import { fromCaller, native } from './native.js';
import type { NativeBinding, NativeLmHeadArgs } from './binding.js';
import { MAX_THREADS } from './env.js';
import { headFloats, hiddenRow, referenceTokenLogProb } from './lm-head-reference.js';
import type { ResolvedLmHead } from './lm-head-reference.js';
import type { Dtype, Hidden } from './types.js';
import { checkFixedLength, checkHidden, DTYPES } from './validate.js';
import type { ResolvedHidden } from './validate.js';

/** A language model's output head: the [vocab, hidden] matrix of lm_head (or a tied embedding). */
export interface LmHead {
  /** Row-major [vocab, hidden]: float32, or float16/bfloat16 bit patterns in a Uint16Array. */
  weight: Float32Array | Uint16Array;
  dtype: Dtype;
  vocab: number;
}

export interface TokenLogProbsArgs {
  /** [B, T, H] hidden states (the backbone's last_hidden_state). */
  hidden: Hidden;
  /** Which rows to read: indices into the flattened [B * T] rows. */
  rows: Int32Array;
  /** The token whose log-probability each row gives, in [0, vocab). */
  targets: Int32Array;
  head: LmHead;
}

export interface TokenLogProbsOptions {
  /** 'auto' (default: cpu, else js), 'cpu' or 'js'. */
  backend?: 'auto' | 'cpu' | 'js';
  /** cpu threads (default: the whole pool). */
  threads?: number;
  /** Where to write the N results (default: a new Float32Array). */
  out?: Float32Array;
}

const ARG_KEYS = is.keysOf<TokenLogProbsArgs>()({ hidden: true, rows: true, targets: true, head: true });
const HEAD_KEYS = is.keysOf<LmHead>()({ weight: true, dtype: true, vocab: true });
const OPTION_KEYS = is.keysOf<TokenLogProbsOptions>()({ backend: true, threads: true, out: true });

/** Rows the js backend's Promise form computes per turn of the event loop. */
const JS_SLICE_ROWS = 4;

interface Checked {
  hidden: ResolvedHidden;
  rows: Int32Array;
  targets: Int32Array;
  head: ResolvedLmHead;
  out: Float32Array;
  threads: number;
  binding?: NativeBinding;
}

function int32(v: unknown, name: string): Int32Array {
  if (!(v instanceof Int32Array)) throw is.invalidType(name, 'an Int32Array', v);
  checkFixedLength(v, name);
  return v;
}

function checkHeadArg(h: unknown, H: number): ResolvedLmHead {
  const head = is.object(h, 'head', '{ weight, dtype, vocab }');
  is.knownKeys(head, HEAD_KEYS, 'head');
  const { weight, dtype, vocab } = head;
  const dt = is.oneOf(dtype, 'head.dtype', DTYPES);
  if (dt === 'float32' ? !(weight instanceof Float32Array) : !(weight instanceof Uint16Array))
    throw is.invalidType('head.weight', dt === 'float32' ? 'a Float32Array for dtype float32' : `a Uint16Array (raw bits) for dtype ${dt}`, weight);
  const w = weight as Float32Array | Uint16Array;
  checkFixedLength(w, 'head.weight');
  const V = is.integer(vocab, 'head.vocab', 1, 0x7fffffff);
  if (w.length !== V * H) throw new RangeError(`head.weight has ${w.length} elements but vocab x hidden = ${V} x ${H} = ${V * H}`);
  return { weight: w, dtype: dt, V, H };
}

function check(args: TokenLogProbsArgs, options: TokenLogProbsOptions | undefined): Checked {
  if (!is.isObject(args) || ArrayBuffer.isView(args)) throw is.invalidType('args', `an object { ${ARG_KEYS.join(', ')} }`, args);
  is.knownKeys(args as unknown as Record<string, unknown>, ARG_KEYS, 'args');
  const o = options === undefined ? {} : is.object(options, 'options');
  is.knownKeys(o, OPTION_KEYS);
  const { hidden: h, rows: r, targets: t, head: hd } = args;
  const hidden = checkHidden(h);
  const rows = int32(r, 'rows');
  const targets = int32(t, 'targets');
  const head = checkHeadArg(hd, hidden.H);
  if (hidden.H === 0) throw new RangeError('hidden.dims: H must be at least 1');
  if (targets.length !== rows.length) throw new RangeError(`targets must have one entry per row (rows.length = ${rows.length}), got ${targets.length}`);
  const BT = hidden.B * hidden.T;
  for (let n = 0; n < rows.length; n++) {
    if (rows[n] < 0 || rows[n] >= BT) throw new RangeError(`rows[${n}] = ${rows[n]} is outside [0, B x T = ${BT})`);
    if (targets[n] < 0 || targets[n] >= head.V) throw new RangeError(`targets[${n}] = ${targets[n]} is outside [0, vocab = ${head.V})`);
  }
  const backend = o.backend === undefined ? 'auto' : is.oneOf(o.backend, 'options.backend', ['auto', 'cpu', 'js'] as const);
  const threads = o.threads === undefined ? 0 : is.integer(o.threads, 'options.threads', 0, MAX_THREADS);
  let out: Float32Array;
  if (o.out === undefined) out = new Float32Array(rows.length);
  else {
    if (!(o.out instanceof Float32Array)) throw is.invalidType('options.out', 'a Float32Array', o.out);
    checkFixedLength(o.out, 'options.out');
    if (o.out.length !== rows.length) throw new RangeError(`options.out must have length rows.length = ${rows.length}, got ${o.out.length}`);
    out = o.out;
  }
  const binding = cpuBinding(backend);
  return { hidden, rows, targets, head, out, threads, binding };
}

function nativeArgs(c: Checked): NativeLmHeadArgs {
  const { hidden: h } = c;
  return { data: h.data, dtype: h.dtype, B: h.B, T: h.T, H: h.H, rows: c.rows, targets: c.targets, weight: c.head.weight, weightDtype: c.head.dtype, V: c.head.V, out: c.out, threads: c.threads };
}

function referenceRows(c: Checked, W: Float32Array, from: number, to: number): void {
  for (let n = from; n < to; n++) c.out[n] = referenceTokenLogProb(hiddenRow(c.hidden.data, c.hidden.dtype, c.rows[n], c.hidden.H), W, c.head.V, c.targets[n]);
}

/**
 * log P(targets[n] | hidden row rows[n]) under the head, for every n: a Float32Array [N].
 * The native form runs off the event loop on the cpu thread pool; the js backend works a
 * few rows per turn of the loop. Both own their inputs from the call on (rows and targets
 * are copied; hidden.data and the head's weight are held, so do not write to them until the
 * Promise settles).
 */
export async function tokenLogProbs(args: TokenLogProbsArgs, options?: TokenLogProbsOptions): Promise<Float32Array> {
  const c = check(args, options);
  if (c.binding) {
    // the native glue copies rows and targets itself
    await fromCaller(c.binding.tokenLogProbs(nativeArgs(c)));
    return c.out;
  }
  const own: Checked = { ...c, rows: c.rows.slice(), targets: c.targets.slice() };
  const W = headFloats(own.head);
  for (let n = 0; n < own.rows.length; n += JS_SLICE_ROWS) {
    if (n > 0) await new Promise((r) => setImmediate(r));
    referenceRows(own, W, n, Math.min(own.rows.length, n + JS_SLICE_ROWS));
  }
  return c.out;
}

/** The same as `tokenLogProbs`, on the calling thread. */
export function tokenLogProbsSync(args: TokenLogProbsArgs, options?: TokenLogProbsOptions): Float32Array {
  const c = check(args, options);
  if (c.binding) c.binding.tokenLogProbsSync(nativeArgs(c));
  else referenceRows(c, headFloats(c.head), 0, c.rows.length);
  return c.out;
}

/** Which instruction set the native LM-head kernel uses ('avx512f', 'avx2+fma', 'scalar'), or 'js'. */
export function lmHeadBackend(): string {
  return native().binding?.lmHeadInfo().simd ?? 'js';
}
