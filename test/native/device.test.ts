// The CUDA backend seen from JS: how it reports itself, its one clear error when no device
// can be used, and (on a machine with a GPU) device-resident scoring against the cpu.
import { expect, it } from 'vitest';
import { describeWhen, NO_CUDA, NO_NATIVE } from '../helpers/index.js';

import {
  backends,
  CUDA_AUTO_MIN_BYTES,
  deviceMemory,
  gatherRows,
  scoreBatch,
  scoreBatchSync,
  uploadHidden,
} from '../../lib/kernels/index.js';
import type { Head } from '../../lib/kernels/index.js';
import { linearHead, mismatch, randomCase } from '../kernels/fixtures.js';

const info = backends();
const cuda = info.cuda;
const nativeLoaded = info.cpu.available;

describeWhen(nativeLoaded, 'cuda backend status', NO_NATIVE, () => {
  it('reports compiled/available/devices consistently, with a reason when unavailable', () => {
    expect(typeof cuda.compiled).toBe('boolean');
    expect(cuda.available).toBe(cuda.compiled && cuda.devices > 0);
    if (!cuda.available) {
      expect(cuda.devices).toBe(0);
      expect(cuda.reason).toMatch(/\w{10,}/);
    } else {
      expect(cuda.deviceName).toMatch(/\w/);
    }
  });

  it('checks arguments before looking for a device', () => {
    const data = new Float32Array(5);
    expect(() => uploadHidden({ data, dtype: 'float32', dims: [1, 2, 3] })).toThrow(RangeError);
    expect(() => uploadHidden({ data, dtype: 'float16', dims: [1, 1, 5] })).toThrow(TypeError);
    expect(() => uploadHidden({ data, dtype: 'float32', dims: [1, 1, 5] }, { threads: -1 })).toThrow(RangeError);
  });
});

describeWhen(nativeLoaded && !cuda.available, 'without a usable CUDA device', nativeLoaded ? 'a CUDA device is present' : NO_NATIVE, () => {
  const c = randomCase(1, 3, 8, 16, 'float32');
  const head = linearHead(2, 2, 16, 'softmax');
  const expected = `prmkit: backend 'cuda' is unavailable: ${cuda.reason}`;

  it("backend: 'cuda' throws the one clear error, sync and async", async () => {
    expect(() => scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cuda' })).toThrow(expected);
    await expect(scoreBatch(c.hidden, c.boundaries, head, { backend: 'cuda' })).rejects.toThrow(expected);
    expect(() => gatherRows(c.hidden, c.boundaries, { backend: 'cuda' })).toThrow(expected);
  });

  it('uploadHidden throws the same error', () => {
    expect(() => uploadHidden(c.hidden)).toThrow(expected);
  });

  it("'auto' stays on the cpu even above the cuda size threshold", () => {
    const H = 2048;
    const T = Math.ceil(CUDA_AUTO_MIN_BYTES / (H * 4)) + 8;
    const data = new Float32Array(T * H);
    const positions = Int32Array.from({ length: T }, (_, i) => i);
    const r = scoreBatchSync({ data, dtype: 'float32', dims: [1, T, H] }, { offsets: Int32Array.of(0, T), positions },
      linearHead(3, 1, H, 'sigmoid', false), { aggregations: ['prod'] });
    expect(positions.length * H * 4).toBeGreaterThanOrEqual(CUDA_AUTO_MIN_BYTES);
    expect(r.backend).toBe('cpu');
    expect(r.stepLogProbs.every((v) => Math.abs(v - Math.log(0.5)) < 1e-6)).toBe(true);
  });

  it('the device memory statistics are all zero', () => {
    expect(deviceMemory()).toEqual({ deviceCached: 0, deviceInUse: 0, pinnedCached: 0, pinnedInUse: 0, deviceMallocs: 0, pinnedMallocs: 0 });
  });
});

// These run only where a GPU is present (not in CI or on the development machine).
describeWhen(cuda.available, 'on a CUDA device', NO_CUDA, () => {
  const heads = (H: number): Head[] => [
    linearHead(5, 1, H, 'sigmoid'),
    linearHead(6, 2, H, 'softmax'),
    { kind: 'logits', activation: 'softmax', columns: Int32Array.of(3, 7), positive: 0 },
  ];

  for (const dtype of ['float32', 'float16', 'bfloat16'] as const) {
    it(`${dtype}: scoreBatch cuda and a resident handle match the cpu for several heads`, async () => {
      const c = randomCase(10, 9, 40, 264, dtype);
      const dev = uploadHidden(c.hidden);
      try {
        for (const head of heads(264)) {
          const cpu = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu' });
          const viaHost = await scoreBatch(c.hidden, c.boundaries, head, { backend: 'cuda' });
          const resident = await dev.score(c.boundaries, head);
          for (const r of [viaHost, resident]) {
            expect(r.backend).toBe('cuda');
            expect(mismatch(r.stepLogProbs, cpu.stepLogProbs, 1e-4, 1e-5)).toBe(-1);
            for (const a of ['prod', 'min', 'last', 'mean', 'geomean'] as const)
              expect(mismatch(r.aggregates[a]!, cpu.aggregates[a]!, 1e-4, 1e-5)).toBe(-1);
          }
          expect(Array.from(dev.scoreSync(c.boundaries, head).firstError)).toEqual(Array.from(cpu.firstError));
        }
        expect(Array.from(dev.gatherRows(c.boundaries))).toEqual(Array.from(gatherRows(c.hidden, c.boundaries, { backend: 'cpu' })));
      } finally {
        dev.free();
      }
      expect(dev.freed).toBe(true);
      expect(() => dev.scoreSync(c.boundaries, heads(264)[0])).toThrow(/freed/);
      dev.free(); // idempotent
    });
  }

  it('reuses device memory across calls (no new raw allocations in steady state)', async () => {
    const c = randomCase(20, 16, 64, 1024, 'bfloat16');
    const head = linearHead(7, 2, 1024, 'softmax');
    for (let i = 0; i < 2; i++) await scoreBatch(c.hidden, c.boundaries, head, { backend: 'cuda' });
    const before = deviceMemory();
    for (let i = 0; i < 5; i++) await scoreBatch(c.hidden, c.boundaries, head, { backend: 'cuda' });
    const after = deviceMemory();
    expect(after.deviceMallocs).toBe(before.deviceMallocs);
    expect(after.pinnedMallocs).toBe(before.pinnedMallocs);
  });
});
