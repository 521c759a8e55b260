// A script run as `node --input-type=module -e ...` (how one-liners and many shells' heredocs
// run ESM) must be able to score: the ONNX workers would otherwise inherit --input-type and
// refuse to start. Run as a child process on the compiled package, like worker-exit.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { workerExecArgv } from '../../lib/backbones/onnx/worker-argv.js';
import { describeWhen, distDir, hasDist, NO_DIST } from '../helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-input-type-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('workerExecArgv', () => {
  it('drops both spellings of --input-type and keeps every other flag in order', () => {
    expect(workerExecArgv(['--input-type=module', '--expose-gc', '-e', 'code'])).toEqual(['--expose-gc', '-e', 'code']);
    expect(workerExecArgv(['--max-old-space-size=512', '--input-type', 'commonjs', '--trace-warnings'])).toEqual([
      '--max-old-space-size=512',
      '--trace-warnings',
    ]);
    expect(workerExecArgv([])).toEqual([]);
  });
});

function scoreWithFlags(flags: string[], model: string) {
  const dist = (p: string) => JSON.stringify(pathToFileURL(join(distDir, p)).href);
  const code =
    `import { Prm } from ${dist('prm/index.js')};\nimport { createTinyModel } from ${dist('testing/index.js')};\n` +
    `const m = await createTinyModel({ dir: ${JSON.stringify(join(dir, model))}, format: 'math-shepherd', output: 'logits' });\n` +
    `const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'math-shepherd' });\n` +
    `const [s] = await prm.score([{ problem: '1+1?', steps: ['1+1=2', 'so 2'] }]);\n` +
    `await prm.close();\nconsole.log(JSON.stringify(s.stepProbs));\n`;
  // the kill timeout only turns a hang into a failure; it measures nothing
  return spawnSync(process.execPath, [...flags, '-e', code], {
    encoding: 'utf8',
    timeout: 90_000,
    env: { ...process.env, PRMKIT_ALLOW_JS: '1' },
  });
}

describeWhen(hasDist, 'scoring from node --input-type=module -e', NO_DIST, () => {
  for (const flags of [['--input-type=module'], ['--input-type', 'module']]) {
    it(`${flags.join(' ')}: the workers start and the script prints its scores`, () => {
      const r = scoreWithFlags(flags, flags.join('-').replace(/[^a-z-]/g, ''));
      expect(r.error).toBeUndefined();
      expect(r.stderr).not.toContain('ERR_INPUT_TYPE_NOT_ALLOWED');
      expect(r.status).toBe(0);
      const probs = JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
      expect(probs).toHaveLength(2);
      for (const p of probs) expect(p).toBeGreaterThan(0);
    });
  }
});
