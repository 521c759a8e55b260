// GRPO advantages from step rewards: the public API over the native cpu kernel
// (native/core/advantages.cpp) and the float64 js reference. Arguments are checked here
// before any work, with errors that name the argument; the native glue checks them again.
//
// Every property of the caller's objects is read once, and every backend works from what was
// checked. The Promise forms own their inputs until they settle: the native call copies the
// five small arrays itself, the js backend (which yields to the event loop between slices)
// copies them here, so a caller may rewrite or transfer them as soon as the Promise exists.
import { knownKeys, nonNegativeInt, number, object, oneOf } from '../is.js';
import { fromCaller } from './native.js';
import type { NativeAdvantageArgs } from './binding.js';
import { referenceAdvantageGroups, responseStarts } from './advantages-reference.js';
import type { AdvantageArrays, AdvantageOptions, ResolvedAdvantageOptions } from './advantages-types.js';
import { checkFixedLength, checkOffsets } from './validate.js';
import { cpuBinding } from './backend.js';
import { MAX_THREADS } from './env.js';

export type * from './advantages-types.js';

/** Default `eps`, added to the group's standard deviation. */
export const ADVANTAGE_EPS = 1e-6;

/** Tokens the js backend writes per event-loop turn in the Promise form. */
const JS_SLICE_TOKENS = 1 << 20;

const OPTION_KEYS = ['mode', 'std', 'eps', 'backend', 'threads', 'out'] as const;

export function checkAdvantageOptions(options: AdvantageOptions | undefined): ResolvedAdvantageOptions {
  const o = options === undefined ? {} : object(options, 'options');
  knownKeys(o, OPTION_KEYS);
  const { mode, std, eps, backend: given, threads, out } = o;
  const backend = given === undefined ? 'auto' : given;
  if (backend === 'cuda') throw new RangeError("options.backend: the advantages kernel has no CUDA backend yet; use 'auto', 'cpu' or 'js'");
  const resolved: ResolvedAdvantageOptions = {
    mode: mode === undefined ? 'process' : oneOf(mode, 'options.mode', ['process', 'outcome'] as const),
    std: std === undefined ? 'sample' : oneOf(std, 'options.std', ['sample', 'population'] as const),
    eps: eps === undefined ? ADVANTAGE_EPS : number(eps, 'options.eps', 0),
    backend: oneOf(backend, 'options.backend', ['auto', 'cpu', 'js'] as const),
    threads: threads === undefined ? 0 : nonNegativeInt(threads, 'options.threads', MAX_THREADS),
    out: out === undefined ? undefined : typed(out, 'options.out', Float32Array),
  };
  if (resolved.out) checkFixedLength(resolved.out, 'options.out');
  return resolved;
}

function typed<T extends Float32Array | Int32Array>(v: unknown, name: string, ctor: { new (n: number): T; name: string }): T {
  if (!(v instanceof ctor)) throw new TypeError(`${name} must be a ${ctor.name}, got ${v === null ? 'null' : typeof v === 'object' ? `a ${(v as object).constructor?.name}` : typeof v}`);
  checkFixedLength(v, name);
  return v as T;
}

/** The caller's arrays, each property read once, type-checked and on a fixed-length buffer. */
function readArrays(a: AdvantageArrays): AdvantageArrays {
  const { stepRewards, stepOffsets, responseOffsets, stepEnds, responseTokens } = object(a, 'inputs') as Partial<AdvantageArrays>;
  return {
    stepRewards: typed(stepRewards, 'stepRewards', Float32Array),
    stepOffsets: typed(stepOffsets, 'stepOffsets', Int32Array),
    responseOffsets: typed(responseOffsets, 'responseOffsets', Int32Array),
    stepEnds: typed(stepEnds, 'stepEnds', Int32Array),
    responseTokens: typed(responseTokens, 'responseTokens', Int32Array),
  };
}

/** Private copies (on ordinary buffers), for a computation that spans turns of the event loop. */
function copyArrays(a: AdvantageArrays): AdvantageArrays {
  return {
    stepRewards: Float32Array.from(a.stepRewards),
    stepOffsets: Int32Array.from(a.stepOffsets),
    responseOffsets: Int32Array.from(a.responseOffsets),
    stepEnds: Int32Array.from(a.stepEnds),
    responseTokens: Int32Array.from(a.responseTokens),
  };
}

/** Sum of responseTokens, the output length (each entry checked >= 0). */
function totalTokens(tokens: Int32Array): number {
  let total = 0;
  for (let r = 0; r < tokens.length; r++) {
    if (tokens[r] < 0) throw new RangeError(`responseTokens[${r}] = ${tokens[r]} must be >= 0`);
    total += tokens[r];
  }
  return total;
}

/** Shapes and indices of arrays already read (readArrays); returns the output length. */
function checkShapes(a: AdvantageArrays): number {
  const { stepRewards: x, stepOffsets: so, responseOffsets: ro, stepEnds: ends, responseTokens: tokens } = a;
  const R = checkOffsets(so, x.length, 'stepOffsets', 'stepRewards.length');
  checkOffsets(ro, R, 'responseOffsets', 'the number of responses (stepOffsets.length - 1)');
  if (ends.length !== x.length)
    throw new RangeError(`stepEnds must have one entry per step (stepRewards.length = ${x.length}), got ${ends.length}`);
  if (tokens.length !== R) throw new RangeError(`responseTokens must have one entry per response (${R}), got ${tokens.length}`);
  const total = totalTokens(tokens);
  for (let r = 0; r < R; r++) {
    const T = tokens[r];
    for (let k = so[r]; k < so[r + 1]; k++) {
      if (ends[k] < 0 || ends[k] >= T)
        throw new RangeError(`stepEnds[${k}] = ${ends[k]} (response ${r}) is outside [0, responseTokens[${r}] = ${T})`);
      if (k > so[r] && ends[k] < ends[k - 1])
        throw new RangeError(`stepEnds must be non-decreasing within a response: stepEnds[${k}] = ${ends[k]} < stepEnds[${k - 1}] = ${ends[k - 1]} (response ${r})`);
    }
  }
  return total;
}

/** Checks types, shapes and indices; returns the total number of policy tokens (the output length). */
export function checkAdvantageArrays(a: AdvantageArrays): number {
  return checkShapes(readArrays(a));
}

/** `spans`: the call yields to the event loop before it is done (the Promise form). */
function prepare(inputs: AdvantageArrays, options: AdvantageOptions | undefined, spans: boolean) {
  const o = checkAdvantageOptions(options);
  const binding = cpuBinding(o.backend);
  const read = readArrays(inputs);
  // the native call copies (and checks) the arrays itself; the js one checks what it reads
  const arrays = spans && !binding ? copyArrays(read) : read;
  // the native glue checks shapes and indices itself, with the same messages, before any work
  const total = binding ? totalTokens(arrays.responseTokens) : checkShapes(arrays);
  if (o.out && o.out.length !== total) throw new RangeError(`options.out must have length sum(responseTokens) = ${total}, got ${o.out.length}`);
  const out = o.out ?? new Float32Array(total);
  const args: NativeAdvantageArgs = { ...arrays, out, mode: o.mode, std: o.std, eps: o.eps, threads: o.threads };
  return { o, binding, arrays, args, out };
}

/**
 * Per-token GRPO advantages `[sum of responseTokens]`, responses end to end. A group whose
 * rewards are all equal gets zeros; a NaN reward makes only its own group NaN. The native
 * form runs off the event loop; the js backend works in slices with turns of the loop between
 * them. Both own their inputs from the call on: rewriting or transferring them afterwards
 * does not change the result. `options.out` is written until the Promise settles.
 */
export async function grpoAdvantages(inputs: AdvantageArrays, options?: AdvantageOptions): Promise<Float32Array> {
  const { o, binding, arrays, args, out } = prepare(inputs, options, true);
  if (binding) {
    await fromCaller(binding.advantages(args));
    return out;
  }
  const starts = responseStarts(arrays.responseTokens);
  const ro = arrays.responseOffsets;
  const G = ro.length - 1;
  for (let g = 0; g < G; ) {
    let end = g + 1;
    while (end < G && starts[ro[end + 1]] - starts[ro[g]] <= JS_SLICE_TOKENS) end++;
    referenceAdvantageGroups(arrays, o, starts, out, g, end);
    g = end;
    if (g < G) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** The same as `grpoAdvantages`, on the calling thread. */
export function grpoAdvantagesSync(inputs: AdvantageArrays, options?: AdvantageOptions): Float32Array {
  const { o, binding, arrays, args, out } = prepare(inputs, options, false);
  if (binding) binding.advantagesSync(args);
  else referenceAdvantageGroups(arrays, o, responseStarts(arrays.responseTokens), out, 0, arrays.responseOffsets.length - 1);
  return out;
}
