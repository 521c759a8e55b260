// Scores of trained heads on rows, for the report of a training run: P(correct) of rows under
// a head (the same application the backbone uses at inference) and the AUROC of those
// probabilities against the labels.
import { appliedHead, firstLayer } from '../backbones/onnx/applied-head.js';
import { scoreBatch } from '../kernels/index.js';
import type { TrainedHeadSpec } from '../model/heads.js';
import type { RowSource } from './types.js';

const CHUNK = 4096;

/** P(correct) of rows `indices` of `source` under a head. */
export async function rowProbs(source: RowSource, indices: Int32Array, head: TrainedHeadSpec, params: Float32Array): Promise<Float64Array> {
  const H = source.width;
  const a = appliedHead(head, params, H);
  const out = new Float64Array(indices.length);
  const buf = new Float32Array(Math.min(CHUNK, indices.length) * H);
  for (let i = 0; i < indices.length; i += CHUNK) {
    const idx = indices.subarray(i, Math.min(indices.length, i + CHUNK));
    const n = idx.length;
    await source.read(idx, buf.subarray(0, n * H));
    const rows = a.first ? await firstLayer(buf, n, H, a.first) : buf.subarray(0, n * H);
    const D = a.first ? a.first.hidden : H;
    const r = await scoreBatch({ data: rows, dtype: 'float32', dims: [1, n, D] }, { offsets: Int32Array.of(0, n), positions: Int32Array.from({ length: n }, (_, j) => j) }, a.head, { aggregations: [] });
    for (let j = 0; j < n; j++) out[i + j] = Math.exp(r.stepLogProbs[j]);
  }
  return out;
}

/**
 * Area under the ROC curve of `scores` for `positive` rows (the Mann-Whitney statistic, ties
 * counted half); NaN when one class is absent.
 */
export function auroc(scores: ArrayLike<number>, positive: ArrayLike<boolean>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (positive[order[k]]) {
        pos++;
        rankSum += rank;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}
