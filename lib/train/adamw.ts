// AdamW (Loshchilov and Hutter, decoupled weight decay) over a flat parameter vector, as
// PyTorch's torch.optim.AdamW computes it. The master copy and both moments are float64, so
// small late steps are not lost to float32 rounding; `values` is the float32 copy the
// kernels read.

export interface AdamWOptions {
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
  /** Which parameters weight decay applies to (1) and which it leaves alone (0); default all. */
  decay?: Uint8Array;
}

export class AdamW {
  readonly values: Float32Array;
  readonly #master: Float64Array;
  readonly #m: Float64Array;
  readonly #v: Float64Array;
  readonly #o: AdamWOptions;
  #t = 0;

  constructor(initial: Float32Array, options: AdamWOptions) {
    this.values = Float32Array.from(initial);
    this.#master = Float64Array.from(initial);
    this.#m = new Float64Array(initial.length);
    this.#v = new Float64Array(initial.length);
    this.#o = options;
  }

  /** One step against `gradient` (float64 or float32, the parameters' layout) at learning rate `lr`. */
  step(gradient: ArrayLike<number>, lr: number): void {
    const [b1, b2] = this.#o.betas;
    const { eps, weightDecay, decay } = this.#o;
    const t = ++this.#t;
    const c1 = 1 - b1 ** t;
    const c2 = 1 - b2 ** t;
    const p = this.#master;
    for (let i = 0; i < p.length; i++) {
      const g = gradient[i];
      const m = (this.#m[i] = b1 * this.#m[i] + (1 - b1) * g);
      const v = (this.#v[i] = b2 * this.#v[i] + (1 - b2) * g * g);
      if (weightDecay !== 0 && (!decay || decay[i])) p[i] *= 1 - lr * weightDecay;
      p[i] -= (lr * (m / c1)) / (Math.sqrt(v / c2) + eps);
      this.values[i] = p[i];
    }
  }
}
