// The ONNX worker threads must not keep a process alive once its work is done: a script
// that scores and forgets prm.close() exits by itself, and work still in flight when the
// script's own code has finished is completed first. Run as a child process on the compiled
// package (a worker thread cannot load TypeScript sources).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWhen, distDir, hasDist, NO_DIST } from '../helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-exit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runScript(body: string) {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  const dist = (p: string) => JSON.stringify(pathToFileURL(join(distDir, p)).href);
  writeFileSync(
    file,
    `import { Prm } from ${dist('prm/index.js')};\nimport { createTinyModel } from ${dist('testing/index.js')};\n` +
      `const m = await createTinyModel({ dir: ${JSON.stringify(join(dir, 'model'))}, format: 'math-shepherd', output: 'logits', kvCache: true });\n` +
      `const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'math-shepherd', workers: 2 });\n${body}\n`,
  );
  // the kill timeout only turns a hang into a failure; it measures nothing
  return spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, PRMKIT_ALLOW_JS: '1' } });
}

describeWhen(hasDist, 'idle ONNX workers let the process exit', NO_DIST, () => {
  it('a script that scores and never calls close() exits with its results printed', () => {
    const r = runScript(`const [s] = await prm.score([{ problem: '1+1?', steps: ['1+1=2', 'so 2'] }]);\nconsole.log(JSON.stringify(s.stepProbs));`);
    expect(r.error).toBeUndefined();
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    const probs = JSON.parse(r.stdout.trim().split('\n').pop()!) as number[];
    expect(probs).toHaveLength(2);
    for (const p of probs) expect(p).toBeGreaterThan(0);
  });

  it('work in flight when the script body ends still completes before the exit', () => {
    // nothing awaits these: only the in-flight forward passes keep the process alive
    const r = runScript(
      `for (let i = 0; i < 4; i++) prm.score([{ problem: 'p' + i, steps: ['a step', 'another step ' + i] }]).then((s) => console.log('done', i, s[0].stepProbs.length));\n` +
        `prm.session({ problem: 'q', steps: ['one'] }).then((s) => s.score([['two']])).then((r) => console.log('session', r[0].stepProbs.length));`,
    );
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').sort();
    expect(lines).toEqual(['done 0 2', 'done 1 2', 'done 2 2', 'done 3 2', 'session 2']);
  });
});
