// A converted model's weight file changed in place under a running process: onnxruntime maps
// external data, so a truncated file used to kill the process with SIGBUS at the next
// forward pass. Prm.load, Orm.load and trainHead's gather open a private snapshot instead;
// the process keeps running, with the same scores. Run as child processes on the compiled
// package (a crash must not take the test runner with it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { externalDataFiles } from '../../lib/model/onnx-initializer.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import { describeWhen, distDir, hasDist, NO_DIST } from '../helpers/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-data-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A fresh converted folder (each case damages its own): a PRM with hidden states too, or an ORM. */
async function converted(name: string, format: 'math-shepherd' | 'plain-orm' = 'math-shepherd'): Promise<string> {
  const ck = join(dir, `${name}-checkpoint`);
  createTinyCheckpoint({ dir: ck, layers: 2, hidden: 32, format });
  const out = join(dir, name);
  await convert({ input: ck, output: out, ...(format === 'plain-orm' ? { format } : { hiddenStates: true }) });
  return out;
}

const url = (rel: string) => JSON.stringify(pathToFileURL(join(distDir, rel)).href);

/**
 * Loads `model` (with `Prm`, or `Orm`), scores, runs `damage` on its data file, scores twice
 * more; prints each result.
 */
function runScript(model: string, damage: string, load = '', kind: 'Prm' | 'Orm' = 'Prm') {
  const score = kind === 'Prm' ? '(await model.score(items))[0].stepProbs' : '(await model.score(items))[0].reward';
  return runChild(
    `import { ${kind} } from ${url(`${kind.toLowerCase()}/index.js`)};\n` +
      `const data = ${JSON.stringify(join(model, 'model.onnx.data'))};\n` +
      `const model = await ${kind}.load({ model: ${JSON.stringify(model)}, workers: { threads: 1 }${load} });\n` +
      `const items = [{ problem: 'what is 1 + 1', steps: ['1 + 1 = 2', 'so the answer is 2'] }];\n` +
      `console.log(JSON.stringify(${score}));\n${damage}\n` +
      `for (let i = 0; i < 2; i++) console.log(JSON.stringify(${score}));\n` +
      `await model.close();\n`,
  );
}

/** trainHead over three chains, a block each; the data file is truncated once the first block is gathered. */
function runGather(model: string, load = '') {
  return runChild(
    `import { trainHead } from ${url('train/index.js')};\n` +
      `const data = ${JSON.stringify(join(model, 'model.onnx.data'))};\n` +
      `const items = [1, 2, 3].map((k) => ({ problem: 'what is ' + k + ' + 1', steps: [k + ' + 1 = ' + (k + 1), 'so ' + (k + 1)], labels: [true, k !== 2] }));\n` +
      `const r = await trainHead({ model: ${JSON.stringify(model)}, data: { kind: 'prm', items }, name: 'h', cache: false, blockChains: 1, workers: { threads: 1 }, fit: { epochs: 1 }${load},\n` +
      `  onProgress: (p) => { if (p.phase === 'gather' && p.chains === 1) truncateSync(data, 0); } });\n` +
      `console.log(JSON.stringify(r.gather.chains));\n`,
  );
}

function runChild(script: string) {
  const file = join(dir, `script-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(file, `import { openSync, writeSync, closeSync, truncateSync, statSync } from 'node:fs';\n` + script);
  // the kill timeout only turns a hang into a failure; it measures nothing
  return spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 90_000, env: { ...process.env, PRMKIT_ALLOW_JS: '1' } });
}

describeWhen(hasDist, 'model.onnx.data changed in place under a running process', NO_DIST, () => {
  let truncated: string;
  let rewritten: string;
  let mapped: string;
  beforeAll(async () => {
    [truncated, rewritten, mapped] = await Promise.all(['truncated', 'rewritten', 'mapped'].map((n) => converted(n)));
  });

  it('truncated to nothing: the process keeps scoring, with the same scores, and exits 0', () => {
    const r = runScript(truncated, 'truncateSync(data, 0);');
    expect(r.signal).toBeNull();
    expect(r.stderr).not.toMatch(/Bus error/);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(new Set(lines).size).toBe(1);
    expect(JSON.parse(lines[0])).toHaveLength(2);
    // the snapshot is gone from the folder once the model is open
    expect(readdirSync(truncated).filter((f) => f.startsWith('.prmkit-open-'))).toEqual([]);
  });

  it('overwritten in place (same size, other bytes): the scores do not change', () => {
    const r = runScript(rewritten, 'const fd = openSync(data, "r+"); writeSync(fd, Buffer.alloc(statSync(data).size, 0x7f), 0, undefined, 0); closeSync(fd);');
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(new Set(r.stdout.trim().split('\n')).size).toBe(1);
  });

  it('with snapshot: false the files are mapped themselves, and truncating one kills the process (what the snapshot prevents)', () => {
    const r = runScript(mapped, 'truncateSync(data, 0);', ', snapshot: false');
    expect(r.signal).toBe('SIGBUS');
  });

  it('an ORM (Orm.load) keeps scoring too, and maps the files themselves only with snapshot: false', async () => {
    const [kept, mappedOrm] = await Promise.all([converted('orm-kept', 'plain-orm'), converted('orm-mapped', 'plain-orm')]);
    const r = runScript(kept, 'truncateSync(data, 0);', '', 'Orm');
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(new Set(lines).size).toBe(1);
    expect(Number.isFinite(JSON.parse(lines[0]))).toBe(true);
    expect(runScript(mappedOrm, 'truncateSync(data, 0);', ', snapshot: false', 'Orm').signal).toBe('SIGBUS');
  });

  it('a training gather (trainHead) gathers every block after the file is cut, and is killed with snapshot: false', async () => {
    const [kept, mappedGather] = await Promise.all([converted('gather-kept'), converted('gather-mapped')]);
    const r = runGather(kept);
    expect(r.signal).toBeNull();
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('3');
    expect(readdirSync(kept).filter((f) => f.startsWith('.prmkit-open-'))).toEqual([]);
    expect(runGather(mappedGather, ', snapshot: false').signal).toBe('SIGBUS');
  });

  it('a data file already cut when the model opens is a clear error naming the model, not a crash', async () => {
    const cut = await converted('cut');
    truncateSync(join(cut, 'model.onnx.data'), 4096);
    await expect(Prm.load({ model: cut, workers: { threads: 1 } })).rejects.toThrow(new RegExp(`cannot open ${cut}/model\\.onnx: .*out of bounds`));
    expect(readdirSync(cut).filter((f) => f.startsWith('.prmkit-open-'))).toEqual([]);
  });

  it('a bare .onnx names its external data files, which are what the snapshot copies', () => {
    expect(externalDataFiles(join(truncated, 'model.onnx'))).toEqual(['model.onnx.data']);
  });
});
