// A StepScorer in front of a PRM, for benchmarks that score the same chains over and over
// (many searches over one policy): each distinct chain goes to the model once, and the score
// calls that many concurrent searches make in one event-loop turn go to it as one batch.
//
// With `prefixClosed`, scoring a chain also answers every prefix of it: right for a causal
// model whose text for steps 0..k is the same tokens whatever follows (the trl layout: the
// problem, then each step and its separator, each tokenized alone), where a prefix's step
// probabilities are the chain's first k (up to float rounding of another batch shape).

const key = (item) => `${item.problem}\u0000${item.steps.join('\u0001')}`;

export class CachedScorer {
  /**
   * @param {{ name: string, score(items: readonly { problem: string, steps: readonly string[] }[]): Promise<{ stepProbs: ArrayLike<number> }[]> }} inner
   * @param {{ prefixClosed?: boolean, maxBatch?: number }} [options]
   */
  constructor(inner, { prefixClosed = false, maxBatch = 1024 } = {}) {
    if (!inner || typeof inner.score !== 'function') throw new TypeError('CachedScorer: inner must be a StepScorer (with score())');
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`CachedScorer: maxBatch must be a positive integer, got ${maxBatch}`);
    this.inner = inner;
    this.name = `cached:${inner.name}`;
    this.prefixClosed = prefixClosed;
    this.maxBatch = maxBatch;
    /** key -> Promise<number[]> (pending or settled) */
    this.cache = new Map();
    this.pending = [];
    this.scheduled = false;
    /** requested: chains asked for; scored: chains sent to the model; calls: model calls. */
    this.stats = { requested: 0, scored: 0, calls: 0 };
  }

  async score(items) {
    if (!Array.isArray(items)) throw new TypeError('CachedScorer.score: items must be an array of { problem, steps }');
    this.stats.requested += items.length;
    const probs = await Promise.all(items.map((it) => this.lookup(it)));
    return probs.map((stepProbs) => ({ stepProbs: [...stepProbs] }));
  }

  lookup(item) {
    const k = key(item);
    let p = this.cache.get(k);
    if (p === undefined) {
      p = new Promise((resolve, reject) => this.pending.push({ k, item: { problem: item.problem, steps: [...item.steps] }, resolve, reject }));
      this.cache.set(k, p);
      if (!this.scheduled) {
        this.scheduled = true;
        // every search of this turn adds its chains before the batch leaves
        setImmediate(() => this.flush());
      }
    }
    return p;
  }

  async flush() {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    for (let s = 0; s < batch.length; s += this.maxBatch) {
      const part = batch.slice(s, s + this.maxBatch);
      let out;
      try {
        this.stats.calls++;
        this.stats.scored += part.length;
        out = await this.inner.score(part.map((e) => e.item));
        if (!Array.isArray(out) || out.length !== part.length) throw new Error(`${this.inner.name} returned ${out?.length} scores for ${part.length} chains`);
      } catch (err) {
        // nothing failed is kept: a later call asks the model again
        for (const e of batch.slice(s)) {
          this.cache.delete(e.k);
          e.reject(err);
        }
        return;
      }
      part.forEach((e, i) => {
        const probs = Array.from(out[i].stepProbs);
        e.resolve(probs);
        if (!this.prefixClosed) return;
        for (let n = 1; n < e.item.steps.length; n++) {
          const pk = key({ problem: e.item.problem, steps: e.item.steps.slice(0, n) });
          if (!this.cache.has(pk)) this.cache.set(pk, Promise.resolve(probs.slice(0, n)));
        }
      });
    }
  }
}
