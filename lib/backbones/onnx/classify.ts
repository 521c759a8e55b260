// Per-token class probabilities (vLLM's token_classify answer), from gathered rows [N, D]:
// the head applied to every row, with all K probabilities kept.
import type { Head } from '../../kernels/types.js';

/** `activation: false` keeps the head's raw outputs (logits), as vLLM's `use_activation: false`. */
export function classProbs(rows: Float32Array, N: number, D: number, head: Head, activation = true): number[][] {
  const out: number[][] = new Array(N);
  const cols = head.kind === 'logits' ? head.columns : undefined;
  const K = head.kind === 'linear' ? head.outputs : cols ? cols.length : D;
  const z = new Float64Array(K);
  for (let n = 0; n < N; n++) {
    const r = rows.subarray(n * D, (n + 1) * D);
    for (let k = 0; k < K; k++) {
      if (head.kind === 'linear') {
        let acc = head.bias ? head.bias[k] : 0;
        for (let h = 0; h < D; h++) acc += head.weight[k * D + h] * r[h];
        z[k] = acc;
      } else z[k] = r[cols ? cols[k] : k];
    }
    if (!activation) {
      out[n] = Array.from(z.subarray(0, head.activation === 'sigmoid' ? 1 : K));
    } else if (head.activation === 'sigmoid') {
      out[n] = [1 / (1 + Math.exp(-z[0]))];
    } else {
      let m = -Infinity;
      for (let k = 0; k < K; k++) m = Math.max(m, z[k]);
      let sum = 0;
      const p = new Array<number>(K);
      for (let k = 0; k < K; k++) sum += p[k] = Math.exp(z[k] - m);
      for (let k = 0; k < K; k++) p[k] /= sum;
      out[n] = p;
    }
  }
  return out;
}
