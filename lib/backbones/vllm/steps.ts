// Step log-probabilities from a remote vLLM PRM: the rows at the boundaries (or, with a step
// pooler, the rows in order) give P(correct) at the format's positive class.
import type { Boundaries } from '../../kernels/types.js';
import { VllmPoolingClient } from './client.js';
import { liveRows } from '../step-source.js';
import type { StepSource } from '../step-source.js';

export class VllmSteps implements StepSource {
  constructor(
    readonly client: VllmPoolingClient,
    readonly positive: number,
  ) {}

  async stepLogProbs(inputIds: readonly Int32Array[], boundaries: Boundaries, signal?: AbortSignal): Promise<Float32Array> {
    const { offsets, positions } = boundaries;
    const out = new Float32Array(positions.length);
    const { live, rows } = liveRows(inputIds, boundaries);
    const res = await this.client.poolAll(rows.map((r) => Array.from(r)), signal);
    live.forEach((item, k) => {
      const probs = res[k];
      const n = offsets[item + 1] - offsets[item];
      const T = rows[k].length;
      const stepRows = probs.length === T ? null : probs.length === n ? probs : undefined;
      if (stepRows === undefined)
        throw new Error(`vllm: item ${item} came back with ${probs.length} rows; expected ${T} (one per token) or ${n} (one per step)`);
      for (let s = 0; s < n; s++) {
        const row = stepRows ? stepRows[s] : probs[positions[offsets[item] + s]];
        const p = row?.[this.positive];
        if (typeof p !== 'number' || !(p >= 0 && p <= 1))
          throw new Error(`vllm: item ${item} step ${s}: class ${this.positive} probability is ${String(p)}, not a probability`);
        out[offsets[item] + s] = Math.log(p);
      }
    });
    return out;
  }

  async classify(rows: readonly Int32Array[], signal?: AbortSignal): Promise<number[][][]> {
    return this.client.poolAll(rows.map((r) => Array.from(r)), signal);
  }
}
