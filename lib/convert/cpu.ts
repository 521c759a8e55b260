// Which int8 form suits the CPU a conversion targets. onnxruntime's integer GEMM (uint8
// activations × int8 weights) is fast where the CPU multiplies bytes into 32-bit sums in one
// instruction: x86 AVX-512 VNNI, AVX-VNNI or AMX, ARM's dot-product extension. Without them
// (x86 with AVX2 alone) onnxruntime pairs products into 16-bit sums that saturate for
// full-range weights, so the block-wise MatMulNBits form, correct everywhere, is taken.
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import type { Int8Form } from './linear.js';

export interface CpuInt8 {
  form: Int8Form;
  /** The CPU features the choice rests on, in words. */
  why: string;
}

/** The CPU feature flags of /proc/cpuinfo (Linux), or null elsewhere. */
function cpuFlags(): Set<string> | null {
  try {
    const text = readFileSync('/proc/cpuinfo', 'utf8');
    const line = /^(flags|Features)\s*:\s*(.*)$/m.exec(text);
    return line ? new Set(line[2].trim().split(/\s+/)) : null;
  } catch {
    return null;
  }
}

/** `flags`: the CPU's feature flags (default: this machine's; null: unknown). */
export function int8FormFor(flags: Set<string> | null = cpuFlags(), cpu: string = arch(), os: string = platform()): CpuInt8 {
  if (cpu === 'arm64') {
    // every Apple arm64 CPU has the dot-product instructions; Linux lists them as asimddp
    if (os === 'darwin' || flags?.has('asimddp')) return { form: 'integer', why: 'arm64 with dot-product instructions' };
    return { form: 'blockwise', why: 'arm64 without dot-product instructions (no asimddp)' };
  }
  if (!flags) return { form: 'blockwise', why: `the CPU's features could not be read (${os} ${cpu})` };
  const fast = ['amx_int8', 'avx512_vnni', 'avx_vnni'].filter((f) => flags.has(f));
  if (fast.length > 0) return { form: 'integer', why: `the CPU has ${fast.join(', ')}` };
  return { form: 'blockwise', why: 'the CPU has no VNNI/AMX (its u8×s8 GEMM would saturate 16-bit sums)' };
}
