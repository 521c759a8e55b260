// The environment variables the kernels read, checked before the addon loads with the same
// rules the addon applies (native/core/env.cpp): a bad value names itself instead of
// surfacing as a failed load or, as `PRMKIT_THREADS=100000` once did, an abort.
export const MAX_THREADS = 1024;

/** PRMKIT_THREADS: pool size, an integer in [1, 1024] (unset: all cores). */
export const THREADS_ENV = 'PRMKIT_THREADS';
/** PRMKIT_SIMD: 'auto' (default) or 'scalar' (the portable kernels). */
export const SIMD_ENV = 'PRMKIT_SIMD';

/** What is wrong with the kernels' environment, or undefined when nothing is. */
export function kernelEnvError(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const threads = env[THREADS_ENV];
  if (threads !== undefined && threads !== '') {
    const n = /^[0-9]+$/.test(threads) ? Number(threads) : NaN;
    if (!(n >= 1 && n <= MAX_THREADS)) return `${THREADS_ENV} must be an integer in [1, ${MAX_THREADS}], got '${threads}'`;
  }
  const simd = env[SIMD_ENV];
  if (simd !== undefined && simd !== '' && simd !== 'auto' && simd !== 'scalar')
    return `${SIMD_ENV} must be 'auto' or 'scalar', got '${simd}'`;
  return undefined;
}
