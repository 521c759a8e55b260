// Without a loadable addon prmkit still imports and runs on the js backend; asking for a
// native backend gives one clear error that names the fix. Also checks the portable
// (non-SIMD) kernels against the reference. Runs the built package in child processes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const dist = join(root, 'dist', 'index.js');
const hasDist = existsSync(dist);

function runScript(code: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describe.skipIf(!hasDist)('fallback chain (needs the compiled dist/, built by npm install)', () => {
  it('imports and scores on js when the addon is missing, and explains why', () => {
    const out = runScript(
      `
      const k = await import(${JSON.stringify(dist)});
      const b = k.backends();
      const data = new Float32Array(2 * 3 * 4).map((_, i) => (i % 5) / 5 - 0.4);
      const hidden = { data, dtype: 'float32', dims: [2, 3, 4] };
      const bounds = { offsets: Int32Array.from([0, 2, 2]), positions: Int32Array.from([0, 2]) };
      const head = { kind: 'linear', weight: Float32Array.from([1, 2, 3, 4]), outputs: 1, activation: 'sigmoid' };
      const r = await k.scoreBatch(hidden, bounds, head);
      let cpuError = null, cudaError = null;
      try { k.scoreBatchSync(hidden, bounds, head, { backend: 'cpu' }); } catch (e) { cpuError = e.message; }
      try { k.scoreBatchSync(hidden, bounds, head, { backend: 'cuda' }); } catch (e) { cudaError = e.message; }
      console.log(JSON.stringify({ b, backend: r.backend, lp: [...r.stepLogProbs], cpuError, cudaError }));
      `,
      { PRMKIT_NATIVE_PATH: join(root, 'build', 'nowhere', 'prmkit.node') },
    );
    const r = JSON.parse(out);
    expect(r.b.cpu.available).toBe(false);
    expect(r.b.cpu.reason).toMatch(/not built .*nowhere/);
    expect(r.backend).toBe('js');
    // sigmoid(w . x) by hand for candidate 0's two steps
    const x = (t: number) => [0, 1, 2, 3].map((i) => (((t * 4 + i) % 5) / 5 - 0.4));
    const z = (t: number) => x(t).reduce((s, v, i) => s + v * (i + 1), 0);
    expect(r.lp[0]).toBeCloseTo(-Math.log1p(Math.exp(-z(0))), 5);
    expect(r.lp[1]).toBeCloseTo(-Math.log1p(Math.exp(-z(2))), 5);
    expect(r.cpuError).toMatch(/backend 'cpu' is unavailable: .*npm rebuild prmkit/);
    expect(r.cudaError).toMatch(/backend 'cuda' is unavailable: .*npm rebuild prmkit/);
  });

  it('a binary that fails to load is reported, not thrown at import', () => {
    const broken = join(mkdtempSync(join(tmpdir(), 'prmkit-')), 'prmkit.node');
    writeFileSync(broken, 'not an ELF file');
    const out = runScript(
      `const k = await import(${JSON.stringify(dist)}); console.log(JSON.stringify(k.backends().cpu));`,
      { PRMKIT_NATIVE_PATH: broken },
    );
    const cpu = JSON.parse(out);
    expect(cpu.available).toBe(false);
    expect(cpu.reason).toMatch(/failed to load/);
  });

  it('the portable kernels (PRMKIT_SIMD=scalar) match the reference too', () => {
    const out = runScript(
      `
      const k = await import(${JSON.stringify(dist)});
      const r = [];
      let seed = 9; const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
      for (const dtype of ['float32', 'float16', 'bfloat16']) {
        const B = 9, T = 40, H = 77;
        const v = Float32Array.from({ length: B * T * H }, () => rnd() * 2 - 1);
        const data = dtype === 'float32' ? v : k.toHalf(v, dtype);
        const offsets = Int32Array.from([0, 3, 3, 6, 9, 10, 14, 15, 15, 20]);
        const positions = Int32Array.from({ length: 20 }, (_, i) => (i * 7) % T);
        const head = { kind: 'linear', weight: Float32Array.from({ length: 3 * H }, () => rnd() - 0.5), outputs: 3, activation: 'softmax' };
        const a = k.scoreBatchSync({ data, dtype, dims: [B, T, H] }, { offsets, positions }, head, { backend: 'cpu' });
        const b = k.scoreBatchSync({ data, dtype, dims: [B, T, H] }, { offsets, positions }, head, { backend: 'js' });
        let worst = 0;
        for (let i = 0; i < 20; i++) worst = Math.max(worst, Math.abs(a.stepLogProbs[i] - b.stepLogProbs[i]) / Math.abs(b.stepLogProbs[i]));
        r.push({ dtype, worst });
      }
      console.log(JSON.stringify({ simd: k.backends().cpu.simd, r }));
      `,
      { PRMKIT_SIMD: 'scalar' },
    );
    const { simd, r } = JSON.parse(out);
    expect(simd).toBe('scalar');
    for (const { dtype, worst } of r) expect(worst, dtype).toBeLessThan(dtype === 'float32' ? 1e-5 : 2e-3);
  });
});
