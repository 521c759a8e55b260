// Step probabilities as the kernels' reductions take them: log P(step correct) per step,
// CSR over chains. The service and the search both hold probabilities and reduce in log
// space, so "prod" is a sum of logs and "min" a min of logs in both.

export interface LogSpaceChains {
  /** log P per step, chain after chain. */
  logs: Float32Array;
  /** Chain i's steps are logs[offsets[i], offsets[i + 1]). */
  offsets: Int32Array;
}

export function toLogSpace(chains: readonly ArrayLike<number>[]): LogSpaceChains {
  const offsets = new Int32Array(chains.length + 1);
  for (let i = 0; i < chains.length; i++) offsets[i + 1] = offsets[i] + chains[i].length;
  const logs = new Float32Array(offsets[chains.length]);
  chains.forEach((p, i) => {
    for (let k = 0; k < p.length; k++) logs[offsets[i] + k] = Math.log(p[k]);
  });
  return { logs, offsets };
}
