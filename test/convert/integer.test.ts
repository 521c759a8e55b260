// The int8 integer form against onnxruntime itself: a projection the converter writes
// (per-channel int8 weights, each row of the input quantized to uint8 around 128 with its own
// scale, MatMulIntegerToFloat) must give what the same integer arithmetic gives done here in
// plain JavaScript, and stay within the rounding bound of the float product. Plus the CPU
// rule that picks the form.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { int8FormFor } from '../../lib/convert/cpu.js';
import { Linears } from '../../lib/convert/linear.js';
import { OnnxWriter } from '../../lib/convert/onnx-writer.js';
import { dequantizePerChannel, quantizePerChannel } from '../../lib/convert/quantize.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-integer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Round half to even, as onnxruntime's QuantizeLinear does. */
const roundEven = (v: number) => {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
};

describe('per-channel weights', () => {
  it('codes are the nearest steps of one scale per output channel, within half a step', () => {
    const N = 7;
    const K = 33;
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)));
    w[3 * K + 4] = 40; // an outlier in channel 3 sets that channel's step, not the others'
    const q = quantizePerChannel(w, N, K);
    const back = dequantizePerChannel(q);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++) {
        const code = q.codes[k * N + n];
        expect(Math.abs(code)).toBeLessThanOrEqual(127);
        // clipping may cost the largest weight of a channel more than half a step
        if (Math.abs(w[n * K + k]) < 127 * q.scales[n]) expect(Math.abs(back[n * K + k] - w[n * K + k])).toBeLessThanOrEqual(q.scales[n] / 2 + 1e-7);
      }
    expect(q.scales[3]).toBeGreaterThan(5 * q.scales[2]);
  });
});

describe('an integer projection in onnxruntime', () => {
  for (const bias of [false, true]) {
    it(`equals the same integer arithmetic done in JavaScript${bias ? ', bias added after the row scale' : ''}`, async () => {
      const [B, T, K, N] = [2, 5, 48, 24];
      const path = join(dir, `proj-${bias}.onnx`);
      const g = new OnnxWriter(path, `${path}.data`);
      const ids = g.input('ids', 'int64', ['batch', 'sequence']);
      const x = g.input('x', 'float32', ['batch', 'sequence', K]);
      const linears = new Linears(g, { dtype: 'int8', int8Form: 'integer', block: 16, accuracyLevel: 4 });
      linears.useRowsOf(ids);
      const w = Float32Array.from({ length: N * K }, (_, i) => Math.cos(i * 0.37) * (0.2 + (i % 11) / 11));
      const b = Float32Array.from({ length: N }, (_, i) => i / 10 - 1);
      const y = linears.project(x, '/p', { weight: w, N, K, ...(bias ? { bias: b } : {}) }, { layer: 0, role: 'o' });
      g.op('/out/Identity', 'Identity', [y], {}, 'y');
      g.output('y', ['batch', 'sequence', N]);
      g.finish('integer', 17);
      const xs = Float32Array.from({ length: B * T * K }, (_, i) => Math.sin(i * 0.53) * (i % 17 === 0 ? 30 : 1));
      const session = await ort.InferenceSession.create(path);
      const out = (await session.run({ ids: new ort.Tensor('int64', new BigInt64Array(B * T), [B, T]), x: new ort.Tensor('float32', xs, [B, T, K]) })).y;
      expect(out.dims).toEqual([B, T, N]);
      const got = out.data as Float32Array;
      const q = quantizePerChannel(w, N, K);
      const back = dequantizePerChannel(q);
      let worst = 0;
      let bound = 0;
      for (let r = 0; r < B * T; r++) {
        let amax = 0;
        for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(xs[r * K + k]));
        const s = Math.fround(Math.fround(amax) * Math.fround(1 / 127));
        const codes = Array.from({ length: K }, (_, k) => Math.min(255, Math.max(0, roundEven(xs[r * K + k] / s) + 128)) - 128);
        for (let n = 0; n < N; n++) {
          let acc = 0;
          let exact = 0;
          let slack = 0;
          for (let k = 0; k < K; k++) {
            acc += codes[k] * q.codes[k * N + n];
            exact += xs[r * K + k] * back[n * K + k];
            slack += (Math.abs(back[n * K + k]) * s) / 2;
          }
          const want = acc * s * q.scales[n] + (bias ? b[n] : 0);
          worst = Math.max(worst, Math.abs(got[r * N + n] - want) / (1 + Math.abs(want)));
          // and the product itself is off by at most half an activation step per term
          bound = Math.max(bound, Math.abs(got[r * N + n] - (exact + (bias ? b[n] : 0))) - slack);
        }
      }
      expect(worst).toBeLessThan(1e-5);
      expect(bound).toBeLessThanOrEqual(1e-4);
      await session.release();
    });
  }
});

describe('the form a CPU gets', () => {
  it('integer GEMMs where bytes multiply into 32-bit sums in one instruction, block-wise elsewhere', () => {
    const flags = (s: string) => new Set(s.split(' '));
    expect(int8FormFor(flags('fpu sse avx2 avx512f avx512_vnni'), 'x64', 'linux')).toMatchObject({ form: 'integer', why: /avx512_vnni/ });
    expect(int8FormFor(flags('fpu avx2 avx_vnni'), 'x64', 'linux')).toMatchObject({ form: 'integer', why: /avx_vnni/ });
    expect(int8FormFor(flags('avx2 amx_int8 amx_tile'), 'x64', 'linux')).toMatchObject({ form: 'integer', why: /amx_int8/ });
    expect(int8FormFor(flags('fpu sse avx2 fma'), 'x64', 'linux')).toMatchObject({ form: 'blockwise', why: /no VNNI/ });
    expect(int8FormFor(flags('fp asimd asimddp'), 'arm64', 'linux').form).toBe('integer');
    expect(int8FormFor(flags('fp asimd'), 'arm64', 'linux').form).toBe('blockwise');
    expect(int8FormFor(null, 'arm64', 'darwin').form).toBe('integer');
    expect(int8FormFor(null, 'x64', 'win32')).toMatchObject({ form: 'blockwise', why: /could not be read/ });
  });
});
