// Closing a Prm while onnxruntime runs a forward pass must never take the process down:
// calls in flight settle (rejected with a "closed" error), the workers finish the pass,
// release their sessions and end, and the process exits 0. Run as child processes on the
// compiled package (a worker thread cannot load TypeScript sources; an abort would take the
// test runner down with it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { describeWhen, distDir, hasDist, NO_DIST } from '../helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-close-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A script that starts scoring, waits until a forward pass has been handed to a worker (the
 * worker starts a run before it reads a later close message), then runs `body`.
 */
function runScript(workers: number, body: string) {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  const dist = (p: string) => JSON.stringify(pathToFileURL(join(distDir, p)).href);
  writeFileSync(
    file,
    `import { Prm } from ${dist('prm/index.js')};\nimport { createTinyModel } from ${dist('testing/index.js')};\n` +
      `const m = await createTinyModel({ dir: ${JSON.stringify(join(dir, 'model'))}, format: 'math-shepherd', output: 'logits', layers: 2, hidden: 64, maxPositions: 4096 });\n` +
      `const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'math-shepherd', workers: { count: ${workers}, threads: 1 } });\n` +
      `const steps = Array.from({ length: 40 }, (_, i) => 'step ' + i + ' has a few words in it');\n` +
      `const before = prm.stats.calls;\n` +
      `const scoring = prm.score(Array.from({ length: 4 }, (_, i) => ({ problem: 'p' + i, steps }))).then(() => 'finished', (e) => 'rejected: ' + e.message);\n` +
      `while (prm.stats.calls === before) await new Promise((r) => setImmediate(r));\n${body}\n`,
  );
  // the kill timeout only turns a hang into a failure; it measures nothing
  return spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, PRMKIT_ALLOW_JS: '1' } });
}

describeWhen(hasDist, 'prm.close() while a forward pass runs', NO_DIST, () => {
  for (const workers of [1, 2]) {
    it(`settles the call, ends the ${workers === 1 ? 'worker' : 'workers'} and exits 0`, () => {
      const r = runScript(
        workers,
        `await Promise.all([prm.close(), prm.close()]);\nconsole.log('closed');\nconsole.log(await scoring);\n` +
          `console.log(await prm.score([{ problem: 'q', steps: ['a'] }]).then(() => 'scored', (e) => 'after close: ' + e.message));`,
      );
      expect(r.stderr).not.toMatch(/terminate called|Napi::Error/);
      expect(r.signal).toBeNull();
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(['closed', 'rejected: onnx backbone is closed', expect.stringMatching(/^after close: .* is closed$/)]);
    });
  }

  it('a script that closes without awaiting it still exits 0 once the workers have ended', () => {
    const r = runScript(1, `void prm.close();\nscoring.then((s) => console.log(s));`);
    expect(r.stderr).not.toMatch(/terminate called|Napi::Error/);
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('rejected: onnx backbone is closed');
  });
});
