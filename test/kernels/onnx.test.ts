// Independent check: the same gather + head + log-score run by onnxruntime-node from an ONNX
// graph built here (bench/lib/head-graph.mjs), against the native kernels: linear heads,
// logits heads (picked columns and a softmax over the whole row), and the chain aggregates
// and first error computed in float64 from the graph's step outputs.
import * as ort from 'onnxruntime-node';
import { expect, it } from 'vitest';
import { describeWhen, hasNative, NO_NATIVE } from '../helpers/index.js';

import { flatRows, headGraph } from '../../bench/lib/head-graph.mjs';
import { AGGREGATIONS, scoreBatchSync } from '../../lib/kernels/index.js';
import { fromHalf } from '../../lib/kernels/half.js';
import type { Dtype, Head, LinearHead, ScoreResult } from '../../lib/kernels/types.js';
import { linearHead, mismatch, randomCase } from './fixtures.js';
import { aggregate64, firstError64 } from './float64.js';

async function ortLogProbs(dtype: Dtype, c: ReturnType<typeof randomCase>, head: Head): Promise<Float64Array> {
  const [B, T, H] = c.hidden.dims;
  // onnxruntime-node has no bfloat16 tensors: feed the exact float32 decoding of the bits.
  const feedType = dtype === 'bfloat16' ? 'float32' : dtype;
  const data = dtype === 'bfloat16' ? fromHalf(c.hidden.data as Uint16Array, 'bfloat16') : c.hidden.data;
  const model =
    head.kind === 'linear'
      ? headGraph({ dtype: feedType, H, K: head.outputs, weight: head.weight, bias: head.bias, activation: head.activation })
      : headGraph({ dtype: feedType, H, kind: 'logits', columns: head.columns, activation: head.activation });
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const rows = flatRows(c.boundaries.offsets, c.boundaries.positions, T);
    const out = await session.run({
      hidden: new ort.Tensor(feedType, data, [B, T, H]),
      rows: new ort.Tensor('int64', rows, [rows.length]),
    });
    const lp = out.log_probs.data as Float32Array;
    const K = head.kind === 'linear' ? head.outputs : (head.columns?.length ?? H);
    const positive = head.positive ?? (head.activation === 'sigmoid' ? 0 : K - 1);
    return Float64Array.from({ length: rows.length }, (_, s) => lp[s * K + positive]);
  } finally {
    await session.release();
  }
}

function expectAgrees(got: ScoreResult, expected: Float64Array, offsets: Int32Array, rtol: number, threshold: number) {
  expect(got.stepLogProbs.length).toBeGreaterThan(0);
  const i = mismatch(got.stepLogProbs, expected, rtol, rtol * 1e-2);
  expect(i, i >= 0 ? `step ${i}: prmkit ${got.stepLogProbs[i]} vs onnxruntime ${expected[i]}` : '').toBe(-1);
  // the reductions, in float64 from onnxruntime's step outputs
  const B = offsets.length - 1;
  for (const a of AGGREGATIONS) {
    const want = Array.from({ length: B }, (_, b) => aggregate64(expected.subarray(offsets[b], offsets[b + 1]), a));
    const j = mismatch(got.aggregates[a]!, want, rtol, rtol * 1e-2);
    expect(j, j >= 0 ? `${a}[${j}]: prmkit ${got.aggregates[a]![j]} vs ${want[j]}` : '').toBe(-1);
  }
  let judged = 0;
  for (let b = 0; b < B; b++) {
    const want = firstError64(expected.subarray(offsets[b], offsets[b + 1]), threshold, 1e-3);
    if (want === undefined) continue;
    judged++;
    expect(got.firstError[b], `firstError[${b}]`).toBe(want);
  }
  expect(judged).toBeGreaterThan(B / 2);
}

describeWhen(hasNative, 'native kernels agree with onnxruntime running the same graph', NO_NATIVE, () => {
  const cases: [Dtype, number, number, number, number, 'sigmoid' | 'softmax', number?][] = [
    ['float32', 16, 128, 256, 1, 'sigmoid'],
    ['float32', 32, 256, 1024, 2, 'softmax'],
    ['float32', 9, 64, 100, 4, 'softmax', 2],
    ['float16', 16, 128, 512, 2, 'softmax'],
    ['float16', 8, 64, 384, 1, 'sigmoid'],
    ['bfloat16', 16, 128, 768, 2, 'softmax'],
  ];
  let seed = 300;
  for (const [dtype, B, T, H, K, activation, positive] of cases)
    it(`${dtype} ${B}x${T}x${H} K=${K} ${activation}`, async () => {
      const c = randomCase(seed++, B, T, H, dtype, 16);
      const head = { ...(linearHead(seed++, K, H, activation) as LinearHead), ...(positive !== undefined ? { positive } : {}) };
      const expected = await ortLogProbs(dtype, c, head);
      const got = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu', errorThreshold: 0.5 });
      expectAgrees(got, expected, c.boundaries.offsets, dtype === 'float32' ? 1e-5 : 2e-3, 0.5);
    });

  // logits heads: the backbone's LM-head output, V wide; the PRM reads two or three token columns
  const V = 1000;
  const logitsCases: [string, Dtype, Head, number][] = [
    ['softmax over 2 picked columns', 'float32', { kind: 'logits', activation: 'softmax', columns: Int32Array.from([648, 387]), positive: 0 }, 0.5],
    ['softmax over 3 picked columns, default positive', 'float16', { kind: 'logits', activation: 'softmax', columns: Int32Array.from([7, 999, 500]) }, 0.3],
    ['sigmoid of 1 picked column', 'bfloat16', { kind: 'logits', activation: 'sigmoid', columns: Int32Array.from([123]) }, 0.5],
    ['softmax over the whole row', 'float32', { kind: 'logits', activation: 'softmax', positive: 17 }, 0.001],
    ['softmax over the whole row', 'float16', { kind: 'logits', activation: 'softmax', positive: 998 }, 0.001],
  ];
  for (const [name, dtype, head, threshold] of logitsCases)
    it(`logits ${dtype}: ${name}`, async () => {
      const c = randomCase(seed++, 12, 48, V, dtype, 10, 4);
      const expected = await ortLogProbs(dtype, c, head);
      const got = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu', errorThreshold: threshold });
      expectAgrees(got, expected, c.boundaries.offsets, dtype === 'float32' ? 1e-5 : 2e-3, threshold);
    });
});
