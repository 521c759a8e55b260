// The int8/int4 weight layout against onnxruntime itself: a MatMulNBits node fed with
// quantizeBlockwise's codes and scales must give what a plain MatMul gives on the weights
// dequantize() says they stand for (so the packing, the zero point and the block order are
// the operator's, not an assumption).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, expect, it } from 'vitest';
import { dequantize, quantizeBlockwise } from '../../lib/convert/index.js';
import { OnnxWriter } from '../../lib/convert/onnx-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-nbits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

for (const bits of [8, 4] as const) {
  it(`MatMulNBits with ${bits}-bit codes = MatMul on the dequantized weights`, async () => {
    const M = 5;
    const K = 96;
    const N = 40;
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37) * (0.5 + (i % 7) / 7));
    const q = quantizeBlockwise(w, N, K, bits, 32);
    const back = dequantize(q);
    const path = join(dir, `nbits${bits}.onnx`);
    const g = new OnnxWriter(path, `${path}.data`);
    const x = g.input('x', 'float32', [M, K]);
    const codes = g.tensor('codes', 'uint8', [N, K / 32, (32 * bits) / 8], q.codes);
    const scales = g.floats('scales', [N * (K / 32)], q.scales);
    g.op('/y/MatMulNBits', 'MatMulNBits', [x, codes, scales], { K, N, bits, block_size: 32, accuracy_level: 0 }, 'y', 'com.microsoft');
    g.output('y', [M, N]);
    g.finish('nbits', 17);
    const session = await ort.InferenceSession.create(path);
    const xs = Float32Array.from({ length: M * K }, (_, i) => Math.cos(i * 0.11));
    const y = (await session.run({ x: new ort.Tensor('float32', xs, [M, K]) })).y.data as Float32Array;
    let worst = 0;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let ref = 0;
        for (let k = 0; k < K; k++) ref += xs[m * K + k] * back[n * K + k];
        worst = Math.max(worst, Math.abs(y[m * N + n] - ref));
      }
    expect(worst).toBeLessThan(1e-3);
    await session.release();
  });
}
