// The first SIGINT as the README promises it, on the real executable: while the model loads,
// exit 130 with one line (it was 13, Node's unsettled top-level await, and no line); while it
// scores, stop reading and scoring new input, so only the model call in flight is still
// written (a 3,200-chain run went on for 1,000+ more chains). Both moments are made exact,
// not guessed: the load blocks on a FIFO until the test has sent its signal, and the scoring
// run is frozen (SIGSTOP) while the test counts its output and signals it.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { announceSkip, describeWhen, NO_DIST } from '../helpers/index.js';
import { until } from '../server/http.js';
import { mainJs, spawnPrmkit } from './helpers.js';

let dir: string;
let tiny: TinyModel;

const chains = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `s${i}`, problem: `Compute ${i} + 2.`, steps: [`${i} + 2 = ${i + 2}`, `so ${i + 2}`] }) + '\n').join('');
/** prmkit's own lines on stderr (not Node's warnings). */
const messages = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('prmkit'));
const lineCount = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean).length : 0);

const hasMkfifo = spawnSync('mkfifo', ['--version'], { stdio: 'ignore' }).status === 0;
if (!hasMkfifo) announceSkip('SIGINT while the model loads', 'mkfifo is not on PATH');

describeWhen(existsSync(mainJs), 'prmkit score and the first SIGINT', NO_DIST, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prmkit-signals-'));
    tiny = await createTinyModel({ dir: join(dir, 'model'), seed: 11, layers: 2, hidden: 64 });
    writeFileSync(join(dir, 'in.jsonl'), chains(3200));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) {
      if (c.exitCode !== null || c.signalCode !== null) continue;
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    }
  });
  const start = (argv: string[]) => {
    const p = spawnPrmkit(argv);
    children.push(p.child);
    return p;
  };

  it.runIf(hasMkfifo)('SIGINT while the model loads: exit 130 with one line, the output untouched', async () => {
    // the tokenizer's config is a FIFO: the load waits on it until the test writes it
    const tok = join(dir, 'fifo-tokenizer');
    mkdirSync(tok);
    copyFileSync(tiny.tokenizer, join(tok, 'tokenizer.json'));
    const config = readFileSync(join(dir, 'model', 'tokenizer_config.json'));
    const fifo = join(tok, 'tokenizer_config.json');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const out = join(dir, 'load.jsonl');
    const p = start(['score', '-m', tiny.model, '-t', join(tok, 'tokenizer.json'), '--head', tiny.head!, '-f', 'math-shepherd', '-i', join(dir, 'in.jsonl'), '-o', out]);
    const writer = await open(fifo, 'w'); // opens once the child reads it: it is loading the model
    p.child.kill('SIGINT');
    await writer.writeFile(config);
    await writer.close();
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(130);
    expect(messages(r.stderr)).toEqual(['prmkit: SIGINT received, stopping (again to stop at once)', 'prmkit score: interrupted while the model was loading']);
    expect(existsSync(out)).toBe(false);
  }, 60_000);

  it('SIGINT while scoring: only the model call in flight is still written, and a rerun scores the rest once', async () => {
    const out = join(dir, 'score.jsonl');
    const batch = 16;
    const args = ['score', '-m', tiny.model, '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd', '-i', join(dir, 'in.jsonl'), '-o', out, '--batch-size', String(batch)];
    const p = start(args);
    await until(() => lineCount(out) > 0, 'the first scored batch', 60_000);
    // frozen, its output is what it is; the signal is handled once it runs again
    p.child.kill('SIGSTOP');
    const before = lineCount(out);
    p.child.kill('SIGINT');
    p.child.kill('SIGCONT');
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(130);
    const after = lineCount(out);
    // at most the call that was running when it froze and one whose answer was being written
    expect(after - before).toBeLessThanOrEqual(2 * batch);
    expect(after).toBeLessThan(3200);
    expect(messages(r.stderr).at(-1)).toBe(`prmkit score: scored ${after} chains; interrupted, rerun the same command to resume`);

    const again = start(args);
    const r2 = await again.exited;
    expect(r2.code, r2.stderr).toBe(0);
    const ids = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);
    expect(ids).toHaveLength(3200);
    expect(new Set(ids).size).toBe(3200);
  }, 180_000);
});
