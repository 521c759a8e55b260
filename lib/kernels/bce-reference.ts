// The js reference of the BCE kernel (and its backend when no addon loads): the same math as
// native/core/bce.cpp, written plainly in float64, one row at a time.

/** A checked call, as every backend receives it. */
export interface ResolvedBce {
  rows: Float32Array;
  N: number;
  H: number;
  labels: Float32Array;
  head: { kind: 'linear' | 'mlp'; activation: 'sigmoid' | 'softmax'; K: number; positive: number; M: number };
  params: Float32Array;
  positiveWeight: number;
  negativeWeight: number;
}

/** Parameters of a head over rows of width H (the layout of `TrainHead`). */
export function paramCount(head: { kind: 'linear' | 'mlp'; K: number; M: number }, H: number): number {
  return head.kind === 'linear' ? head.K * H + head.K : head.M * H + head.M + head.K * head.M + head.K;
}

const softplus = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** Loss of one row from its outputs z; writes d loss / dz into dz. */
function rowLoss(z: Float64Array, y: number, c: ResolvedBce, dz: Float64Array): number {
  const wp = c.positiveWeight * y;
  const wn = c.negativeWeight * (1 - y);
  if (c.head.K === 1) {
    dz[0] = wn * sigmoid(z[0]) - wp * sigmoid(-z[0]);
    return wp * softplus(-z[0]) + wn * softplus(z[0]);
  }
  const pos = c.head.positive;
  const neg = 1 - pos;
  const m = Math.max(z[0], z[1]);
  const lse = m + Math.log(Math.exp(z[0] - m) + Math.exp(z[1] - m));
  dz[pos] = (wp + wn) * Math.exp(z[pos] - lse) - wp;
  dz[neg] = (wp + wn) * Math.exp(z[neg] - lse) - wn;
  return -(wp * (z[pos] - lse) + wn * (z[neg] - lse));
}

/**
 * Sums of the loss and of its gradient over rows, added to in slices (the Promise form
 * yields between them); `result` gives the means.
 */
export class BceAccumulator {
  readonly #c: ResolvedBce;
  readonly #grad: Float64Array | undefined;
  #loss = 0;

  constructor(c: ResolvedBce, gradient: boolean) {
    this.#c = c;
    this.#grad = gradient ? new Float64Array(paramCount(c.head, c.H)) : undefined;
  }

  add(from: number, to: number): void {
    const c = this.#c;
    const { H } = c;
    const { K, M } = c.head;
    const p = c.params;
    const g = this.#grad;
    const z = new Float64Array(K);
    const dz = new Float64Array(K);
    const a = new Float64Array(M);
    for (let i = from; i < to; i++) {
      const x = c.rows.subarray(i * H, (i + 1) * H);
      if (c.head.kind === 'linear') {
        for (let k = 0; k < K; k++) {
          let s = p[K * H + k];
          for (let h = 0; h < H; h++) s += p[k * H + h] * x[h];
          z[k] = s;
        }
        this.#loss += rowLoss(z, c.labels[i], c, dz);
        if (!g) continue;
        for (let k = 0; k < K; k++) {
          for (let h = 0; h < H; h++) g[k * H + h] += dz[k] * x[h];
          g[K * H + k] += dz[k];
        }
        continue;
      }
      // mlp: W1 [M, H], b1 [M], W2 [K, M], b2 [K]
      const b1 = M * H;
      const w2 = b1 + M;
      const b2 = w2 + K * M;
      for (let m = 0; m < M; m++) {
        let s = p[b1 + m];
        for (let h = 0; h < H; h++) s += p[m * H + h] * x[h];
        a[m] = s;
      }
      for (let k = 0; k < K; k++) {
        let s = p[b2 + k];
        for (let m = 0; m < M; m++) s += p[w2 + k * M + m] * Math.max(a[m], 0);
        z[k] = s;
      }
      this.#loss += rowLoss(z, c.labels[i], c, dz);
      if (!g) continue;
      for (let k = 0; k < K; k++) {
        g[b2 + k] += dz[k];
        for (let m = 0; m < M; m++) g[w2 + k * M + m] += dz[k] * Math.max(a[m], 0);
      }
      for (let m = 0; m < M; m++) {
        if (!(a[m] > 0)) continue;
        let d = 0;
        for (let k = 0; k < K; k++) d += p[w2 + k * M + m] * dz[k];
        g[b1 + m] += d;
        for (let h = 0; h < H; h++) g[m * H + h] += d * x[h];
      }
    }
  }

  /** The mean loss, and the mean gradient written into `out` when one was computed. */
  result(out: Float32Array | undefined): number {
    const N = this.#c.N;
    if (this.#grad && out) for (let j = 0; j < out.length; j++) out[j] = this.#grad[j] / N;
    return this.#loss / N;
  }
}
