// Without a loadable addon prmkit still imports and runs on the js backend; asking for a
// native backend gives one clear error that names the fix. Also checks the portable
// (non-SIMD) kernels against the reference. Runs the built package in child processes.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeWhen, distDir, hasDist, hasNative, itWhen, NO_DIST, NO_NATIVE, repoRoot as root } from '../helpers/index.js';

const dist = join(distDir, 'index.js');

function runScript(code: string, env: Record<string, string>): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
}

describeWhen(hasDist, 'fallback chain (runs the compiled dist/)', NO_DIST, () => {
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

  it.skipIf(!hasNative)('the portable kernels (PRMKIT_SIMD=scalar) match the reference too', () => {
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

// The js fallback is announced once per process on stderr (as a Node warning), with the
// reason and the fix, at the first kernel call that lands on it.
describeWhen(hasDist, 'fallback warning (runs the compiled dist/)', NO_DIST, () => {
  const missing = { PRMKIT_NATIVE_PATH: join(root, 'build', 'nowhere', 'prmkit.node') };
  const scoreTwice = `
    const k = await import(${JSON.stringify(dist)});
    const hidden = { data: new Float32Array(8).fill(0.5), dtype: 'float32', dims: [1, 2, 4] };
    const bounds = { offsets: Int32Array.from([0, 2]), positions: Int32Array.from([0, 1]) };
    const head = { kind: 'linear', weight: Float32Array.from([1, 2, 3, 4]), outputs: 1, activation: 'sigmoid' };
    const backend = process.env.BACKEND ?? 'auto';
    const r = await k.scoreBatch(hidden, bounds, head, { backend });
    k.scoreBatchSync(hidden, bounds, head, { backend });
    k.aggregate({ stepLogProbs: r.stepLogProbs, offsets: bounds.offsets, how: 'min' }, { backend });
    console.log(r.backend);
  `;
  function run(env: Record<string, string>) {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', scoreTwice], {
      env: { ...process.env, NODE_NO_WARNINGS: '', PRMKIT_ALLOW_JS: '', ...env },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    return { backend: r.stdout.trim(), warnings: r.stderr.split('\n').filter((l) => l.includes('PrmkitWarning')) };
  }

  it('appears once, with the reason and `npm rebuild prmkit`', () => {
    const { backend, warnings } = run(missing);
    expect(backend).toBe('js');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/native kernels are not in use.*not built \(looked for .*nowhere.*npm rebuild prmkit.*PRMKIT_ALLOW_JS=1/);
  });

  it('appears once at Prm.load, before any kernel call, and not again while scoring', () => {
    const dir = mkdtempSync(join(tmpdir(), 'prmkit-warn-'));
    try {
      const code = `
        const { Prm } = await import(${JSON.stringify(dist)});
        const { createTinyModel } = await import(${JSON.stringify(join(distDir, 'testing', 'index.js'))});
        const tiny = await createTinyModel({ dir: ${JSON.stringify(dir)}, output: 'hidden' });
        let warnedBeforeScoring = false;
        process.on('warning', (w) => { if (w.name === 'PrmkitWarning') warnedBeforeScoring = true; });
        const prm = await Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd' });
        await new Promise((r) => setImmediate(r));
        const seen = warnedBeforeScoring;
        await prm.score([{ problem: '1+1?', steps: ['1+1=2', 'so 2'] }]);
        await prm.close();
        console.log(seen);`;
      // a file, not -e: --input-type=module would be inherited by the backbone's worker threads
      writeFileSync(join(dir, 'load.mjs'), code);
      const r = spawnSync(process.execPath, [join(dir, 'load.mjs')], {
        env: { ...process.env, NODE_NO_WARNINGS: '', PRMKIT_ALLOW_JS: '', ...missing },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).toBe('true');
      expect(r.stderr.split('\n').filter((l) => l.includes('PrmkitWarning'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is silenced by PRMKIT_ALLOW_JS=1, by choosing js, and by PRMKIT_DISABLE_NATIVE=1', () => {
    expect(run({ ...missing, PRMKIT_ALLOW_JS: '1' }).warnings).toEqual([]);
    expect(run({ ...missing, BACKEND: 'js' }).warnings).toEqual([]);
    expect(run({ PRMKIT_DISABLE_NATIVE: '1' }).warnings).toEqual([]);
  });

  itWhen(hasNative, 'is absent when the addon loads', NO_NATIVE, () => {
    const { backend, warnings } = run({});
    expect(backend).toBe('cpu');
    expect(warnings).toEqual([]);
  });
});

// The loader's order: a local build, then the prebuilt binary for this platform, libc and
// N-API version, then js. Each case is a copy of the compiled package laid out in a temp dir.
describeWhen(hasDist && hasNative, 'binary fallback chain (a local build, then the prebuilt one, then js)', `${NO_DIST} or ${NO_NATIVE}`, () => {
  const built = join(root, 'build', 'Release', 'prmkit.node');
  const made: string[] = [];
  afterAll(() => {
    for (const d of made) rmSync(d, { recursive: true, force: true });
  });

  function fakePackage(files: { build?: 'good' | 'broken'; prebuild?: string; napi?: number }): string {
    const dir = mkdtempSync(join(tmpdir(), 'prmkit-loader-'));
    made.push(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'prmkit', type: 'module', binary: { napi_versions: [files.napi ?? 8] } }));
    cpSync(distDir, join(dir, 'dist'), { recursive: true });
    if (files.build) {
      mkdirSync(join(dir, 'build', 'Release'), { recursive: true });
      if (files.build === 'good') copyFileSync(built, join(dir, 'build', 'Release', 'prmkit.node'));
      else writeFileSync(join(dir, 'build', 'Release', 'prmkit.node'), 'not an ELF file');
    }
    if (files.prebuild) {
      mkdirSync(join(dir, 'prebuilds', `${process.platform}-${process.arch}`), { recursive: true });
      copyFileSync(built, join(dir, 'prebuilds', `${process.platform}-${process.arch}`, files.prebuild));
    }
    return dir;
  }
  function cpuOf(dir: string) {
    const out = runScript(`const k = await import(${JSON.stringify(join(dir, 'dist', 'kernels', 'index.js'))}); console.log(JSON.stringify(k.backends().cpu));`, {});
    return JSON.parse(out) as { available: boolean; source?: string; path?: string; reason?: string };
  }
  const glibcName = 'prmkit.napi.glibc.node';

  itWhen(process.platform === 'linux', 'loads the prebuilt binary when nothing is compiled', 'the prebuilt binaries are for linux', () => {
    const dir = fakePackage({ prebuild: glibcName });
    const cpu = cpuOf(dir);
    expect(cpu).toMatchObject({ available: true, source: 'prebuild' });
    expect(cpu.path).toBe(join(dir, 'prebuilds', `${process.platform}-${process.arch}`, glibcName));
  });

  itWhen(process.platform === 'linux', 'prefers a local build, and falls through a broken one', 'the prebuilt binaries are for linux', () => {
    expect(cpuOf(fakePackage({ build: 'good', prebuild: glibcName }))).toMatchObject({ available: true, source: 'build' });
    expect(cpuOf(fakePackage({ build: 'broken', prebuild: glibcName }))).toMatchObject({ available: true, source: 'prebuild' });
  });

  it('ignores a binary for another libc or a newer N-API, and says so', () => {
    const other = cpuOf(fakePackage({ prebuild: 'prmkit.napi.musl.node' }));
    expect(other.available).toBe(false);
    expect(other.reason).toMatch(/no prebuilt binary ships for .*npm rebuild prmkit/);
    const napi = cpuOf(fakePackage({ prebuild: glibcName, napi: 999 }));
    expect(napi.available).toBe(false);
    expect(napi.reason).toMatch(/needs N-API 999, this Node has \d+/);
  });

  it('with neither, runs on js and names both places it looked', () => {
    const cpu = cpuOf(fakePackage({}));
    expect(cpu.available).toBe(false);
    expect(cpu.reason).toMatch(/looked for build\/Release\/prmkit\.node and prebuilds\/.*\.node/);
  });
});
