// What the kernels run on is visible wherever an operator looks: kernelBackendInfo(), the
// service's /health and its /metrics, and `auto` leaves the (unverified) CUDA kernels alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, kernelBackendInfo, scoreBatchSync } from '../../lib/kernels/index.js';
import { createServer } from '../../lib/server/index.js';
import type { PrmServer } from '../../lib/server/index.js';
import { FakeModel } from '../server/fake-model.js';
import { get } from '../server/http.js';

describe('kernelBackendInfo', () => {
  it('agrees with backends() and says it in one line', () => {
    const b = backends();
    const k = kernelBackendInfo();
    if (!b.cpu.available) {
      expect(k.backend).toBe('js');
      expect(k.reason).toBe(b.cpu.reason);
      expect(k.label).toMatch(/^js /);
      return;
    }
    expect(k).toMatchObject({ backend: 'cpu', source: b.cpu.source, path: b.cpu.path, simd: b.cpu.simd, threads: b.cpu.threads });
    expect(['build', 'prebuild', 'env']).toContain(k.source);
    expect(k.label).toBe(`cpu (${k.source}, ${b.cpu.simd}, ${b.cpu.threads} threads; cuda: ${k.cuda})`);
    expect(k.cuda).toBe(!b.cuda.compiled ? 'not compiled' : !b.cuda.available ? 'no device' : 'opt-in');
  });

  it('auto does not choose cuda without PRMKIT_AUTO_CUDA=1, however large the batch', () => {
    expect(process.env.PRMKIT_AUTO_CUDA).not.toBe('1');
    // 16 MB of boundary rows: over the size at which an opted-in `auto` would go to the device
    const B = 64, T = 64, H = 1024;
    const hidden = { data: new Float32Array(B * T * H), dtype: 'float32', dims: [B, T, H] } as const;
    const positions = Int32Array.from({ length: B * T }, (_, i) => i % T);
    const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * T);
    const head = { kind: 'linear', weight: new Float32Array(H), outputs: 1, activation: 'sigmoid' } as const;
    const r = scoreBatchSync(hidden, { offsets, positions }, head);
    expect(r.backend).toBe(backends().cpu.available ? 'cpu' : 'js');
  });
});

describe('the service reports the kernel backend', () => {
  let server: PrmServer;
  let url = '';
  beforeAll(async () => {
    server = createServer({ model: new FakeModel() });
    ({ url } = await server.listen({ port: 0, host: '127.0.0.1' }));
  });
  afterAll(() => server.close());

  it('in /health and as a /metrics label', async () => {
    const k = kernelBackendInfo();
    const health = JSON.parse((await get(url, '/health')).text);
    expect(health.kernels).toBe(k.label);
    const metrics = (await get(url, '/metrics')).text;
    // labels come out sorted by name
    expect(metrics).toContain(`prmkit_kernel_backend_info{backend="${k.backend}",simd="${k.simd}",source="${k.source ?? 'none'}"} 1\n`);
  });
});
