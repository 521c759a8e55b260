// GRPO advantages from step rewards: the public API over the native cpu kernel
// (native/core/advantages.cpp) and the float64 js reference. Arguments are checked here
// before any work, with errors that name the argument; the native glue checks them again.
import { knownKeys, nonNegativeInt, number, object, oneOf } from '../is.js';
import { native } from './native.js';
import { referenceAdvantageGroups, responseStarts } from './advantages-reference.js';
import type { AdvantageArrays, AdvantageOptions, ResolvedAdvantageOptions } from './advantages-types.js';
import { checkOffsets } from './validate.js';
import { warnIfJsBackend } from './backend.js';

export type * from './advantages-types.js';

/** Default `eps`, added to the group's standard deviation. */
export const ADVANTAGE_EPS = 1e-6;

/** Tokens the js backend writes per event-loop turn in the Promise form. */
const JS_SLICE_TOKENS = 1 << 20;

interface NativeAdvantageArgs extends AdvantageArrays {
  out: Float32Array;
  mode: number;
  std: number;
  eps: number;
  threads: number;
}

interface AdvantageBinding {
  advantagesSync(args: NativeAdvantageArgs): void;
  advantages(args: NativeAdvantageArgs): Promise<void>;
  writeBytes(data: Float32Array, threads: number): void;
}

/** The binding's advantages entry points, or why there are none. */
export function advantageBinding(): { binding?: AdvantageBinding; reason?: string } {
  const n = native();
  if (!n.binding) return { reason: n.reason };
  const b = n.binding as unknown as Partial<AdvantageBinding>;
  if (typeof b.advantagesSync !== 'function' || typeof b.advantages !== 'function')
    return { reason: 'the native addon predates the advantages kernel; run `npm rebuild prmkit`' };
  return { binding: b as AdvantageBinding };
}

const OPTION_KEYS = ['mode', 'std', 'eps', 'backend', 'threads', 'out'] as const;

export function checkAdvantageOptions(options: AdvantageOptions | undefined): ResolvedAdvantageOptions {
  const o = options === undefined ? {} : object(options, 'options');
  knownKeys(o, OPTION_KEYS);
  const backend = o.backend === undefined ? 'auto' : o.backend;
  if (backend === 'cuda') throw new RangeError("options.backend: the advantages kernel has no CUDA backend yet; use 'auto', 'cpu' or 'js'");
  return {
    mode: o.mode === undefined ? 'process' : oneOf(o.mode, 'options.mode', ['process', 'outcome'] as const),
    std: o.std === undefined ? 'sample' : oneOf(o.std, 'options.std', ['sample', 'population'] as const),
    eps: o.eps === undefined ? ADVANTAGE_EPS : number(o.eps, 'options.eps', 0),
    backend: oneOf(backend, 'options.backend', ['auto', 'cpu', 'js'] as const),
    threads: o.threads === undefined ? 0 : nonNegativeInt(o.threads, 'options.threads', 1024),
    out: o.out === undefined ? undefined : typed(o.out, 'options.out', Float32Array),
  };
}

function typed<T extends Float32Array | Int32Array>(v: unknown, name: string, ctor: { new (n: number): T; name: string }): T {
  if (!(v instanceof ctor)) throw new TypeError(`${name} must be a ${ctor.name}, got ${v === null ? 'null' : typeof v === 'object' ? `a ${(v as object).constructor?.name}` : typeof v}`);
  return v as T;
}

function checkTypes(a: AdvantageArrays) {
  object(a, 'inputs');
  return {
    x: typed(a.stepRewards, 'stepRewards', Float32Array),
    so: typed(a.stepOffsets, 'stepOffsets', Int32Array),
    ro: typed(a.responseOffsets, 'responseOffsets', Int32Array),
    ends: typed(a.stepEnds, 'stepEnds', Int32Array),
    tokens: typed(a.responseTokens, 'responseTokens', Int32Array),
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

/** Checks shapes and indices; returns the total number of policy tokens (the output length). */
export function checkAdvantageArrays(a: AdvantageArrays): number {
  const { x, so, ro, ends, tokens } = checkTypes(a);
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

function prepare(inputs: AdvantageArrays, options: AdvantageOptions | undefined) {
  const o = checkAdvantageOptions(options);
  let binding: AdvantageBinding | undefined;
  if (o.backend !== 'js') {
    const b = advantageBinding();
    if (o.backend === 'cpu' && !b.binding) throw new Error(`prmkit: backend 'cpu' is unavailable: ${b.reason}`);
    binding = b.binding;
    if (!binding) warnIfJsBackend();
  }
  // the native glue checks shapes and indices itself, with the same messages, before any work
  const total = binding ? totalTokens(checkTypes(inputs).tokens) : checkAdvantageArrays(inputs);
  if (o.out && o.out.length !== total) throw new RangeError(`options.out must have length sum(responseTokens) = ${total}, got ${o.out.length}`);
  const out = o.out ?? new Float32Array(total);
  const args: NativeAdvantageArgs = {
    stepRewards: inputs.stepRewards,
    stepOffsets: inputs.stepOffsets,
    responseOffsets: inputs.responseOffsets,
    stepEnds: inputs.stepEnds,
    responseTokens: inputs.responseTokens,
    out,
    mode: o.mode === 'process' ? 0 : 1,
    std: o.std === 'sample' ? 0 : 1,
    eps: o.eps,
    threads: o.threads,
  };
  return { o, binding, args, out };
}

/**
 * Per-token GRPO advantages `[sum of responseTokens]`, responses end to end. A group whose
 * rewards are all equal gets zeros; a NaN reward makes only its own group NaN. The native
 * form runs off the event loop and holds its inputs until it settles (do not transfer their
 * buffers meanwhile); the js backend works in slices with turns of the loop between them.
 */
export async function grpoAdvantages(inputs: AdvantageArrays, options?: AdvantageOptions): Promise<Float32Array> {
  const { o, binding, args, out } = prepare(inputs, options);
  if (binding) {
    await binding.advantages(args);
    return out;
  }
  const starts = responseStarts(inputs.responseTokens);
  const ro = inputs.responseOffsets;
  const G = ro.length - 1;
  for (let g = 0; g < G; ) {
    let end = g + 1;
    while (end < G && starts[ro[end + 1]] - starts[ro[g]] <= JS_SLICE_TOKENS) end++;
    referenceAdvantageGroups(inputs, o, starts, out, g, end);
    g = end;
    if (g < G) await new Promise((r) => setImmediate(r));
  }
  return out;
}

/** The same as `grpoAdvantages`, on the calling thread. */
export function grpoAdvantagesSync(inputs: AdvantageArrays, options?: AdvantageOptions): Float32Array {
  const { o, binding, args, out } = prepare(inputs, options);
  if (binding) binding.advantagesSync(args);
  else referenceAdvantageGroups(inputs, o, responseStarts(inputs.responseTokens), out, 0, inputs.responseOffsets.length - 1);
  return out;
}
