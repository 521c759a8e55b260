// Types of the advantages kernel (lib/kernels/advantages.ts).
import type { KernelOptions } from './types.js';

/**
 * A batch of groups in CSR form. Group g owns responses `responseOffsets[g] .. [g+1]-1`;
 * response r owns steps `stepOffsets[r] .. [r+1]-1` and `responseTokens[r]` policy tokens;
 * step s ends at policy token `stepEnds[s]` of its response (non-decreasing within it).
 */
export interface AdvantageArrays {
  stepRewards: Float32Array;
  stepOffsets: Int32Array;
  responseOffsets: Int32Array;
  stepEnds: Int32Array;
  responseTokens: Int32Array;
}

export type AdvantageMode = 'process' | 'outcome';
export type AdvantageStd = 'sample' | 'population';

export interface AdvantageOptions extends KernelOptions {
  /**
   * 'process' (default): every step reward normalized by the mean and standard deviation of
   * its group's step rewards; a token gets the sum of the normalized rewards of its
   * response's steps that end at or after it. 'outcome': each response's last step reward
   * normalized within its group, given to every token of the response.
   */
  mode?: AdvantageMode;
  /** 'sample' (default, n - 1, as torch.std) or 'population' (n). */
  std?: AdvantageStd;
  /** Added to the standard deviation (default 1e-6). */
  eps?: number;
  /** Where to write the result (length: sum of responseTokens); default a new array. Reusing one saves its allocation per call. */
  out?: Float32Array;
}

export interface ResolvedAdvantageOptions {
  mode: AdvantageMode;
  std: AdvantageStd;
  eps: number;
  backend: 'auto' | 'cpu' | 'js';
  threads: number;
  out?: Float32Array;
}
