// Independent check: the same gather + head + log-score run by onnxruntime-node from an ONNX
// graph built here (bench/lib/head-graph.mjs), against the native kernels.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';

import { flatRows, headGraph } from '../../bench/lib/head-graph.mjs';
import { backends, scoreBatchSync } from '../../lib/kernels/index.js';
import { fromHalf } from '../../lib/kernels/half.js';
import type { Dtype, LinearHead } from '../../lib/kernels/types.js';
import { linearHead, mismatch, randomCase } from './fixtures.js';

async function ortLogProbs(dtype: Dtype, c: ReturnType<typeof randomCase>, head: LinearHead): Promise<Float32Array> {
  const [B, T, H] = c.hidden.dims;
  // onnxruntime-node has no bfloat16 tensors: feed the exact float32 decoding of the bits.
  const feedType = dtype === 'bfloat16' ? 'float32' : dtype;
  const data = dtype === 'bfloat16' ? fromHalf(c.hidden.data as Uint16Array, 'bfloat16') : c.hidden.data;
  const model = headGraph({ dtype: feedType, H, K: head.outputs, weight: head.weight, bias: head.bias, activation: head.activation });
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const rows = flatRows(c.boundaries.offsets, c.boundaries.positions, T);
    const out = await session.run({
      hidden: new ort.Tensor(feedType, data, [B, T, H]),
      rows: new ort.Tensor('int64', rows, [rows.length]),
    });
    const lp = out.log_probs.data as Float32Array;
    const K = head.outputs;
    const positive = head.positive ?? (head.activation === 'sigmoid' ? 0 : K - 1);
    return Float32Array.from({ length: rows.length }, (_, s) => lp[s * K + positive]);
  } finally {
    await session.release();
  }
}

describe.runIf(backends().cpu.available)('native kernels agree with onnxruntime running the same graph', () => {
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
      const got = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu', aggregations: [] });
      expect(got.stepLogProbs.length).toBeGreaterThan(0);
      const rtol = dtype === 'float32' ? 1e-5 : 2e-3;
      const i = mismatch(got.stepLogProbs, expected, rtol, rtol * 1e-2);
      expect(i, i >= 0 ? `step ${i}: prmkit ${got.stepLogProbs[i]} vs onnxruntime ${expected[i]}` : '').toBe(-1);
    });
});
