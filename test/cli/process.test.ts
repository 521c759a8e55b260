// The real `prmkit` executable in a child process, where the failure mode is the process
// itself: an abort on a second Ctrl-C, a hang on its own stdout pipe, a signal that does not
// end it, a crash on a closed pipe, a stack trace on an unwritable file.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { announceSkip, describeWhen, NO_DIST } from '../helpers/index.js';
import { mainJs, spawnPrmkit, when } from './helpers.js';
import type { ChildProcess } from 'node:child_process';

let dir: string;
let tiny: TinyModel;
let model: string[];

const short = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `s${i}`, problem: `Compute ${i} + 2.`, steps: [`${i} + 2 = ${i + 2}`, `so ${i + 2}`] }) + '\n').join('');
/** prmkit's own lines on stderr (not Node's warnings). */
const messages = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('prmkit'));
const ids = (text: string) => text.split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);

describeWhen(existsSync(mainJs), 'prmkit as a process', NO_DIST, () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'prmkit-proc-'));
    tiny = await createTinyModel({ dir: join(dir, 'model'), seed: 11, layers: 2, hidden: 64 });
    model = ['-m', tiny.model, '-t', tiny.tokenizer, '--head', tiny.head!, '-f', 'math-shepherd'];
    writeFileSync(join(dir, 'short.jsonl'), short(40));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // a failed assertion must not leave a child running
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  const start = (...args: Parameters<typeof spawnPrmkit>) => {
    const p = spawnPrmkit(...args);
    children.push(p.child);
    return p;
  };

  it('a second SIGINT while the model runs ends the process as SIGINT (130), not with an abort', async () => {
    // long chains in big batches: the model is busy when the signals come
    const long = Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: `l${i}`, problem: `Problem ${i}.`, steps: Array.from({ length: 6 }, (_, s) => `step ${s} `.repeat(10)) }) + '\n').join('');
    const input = join(dir, 'long.jsonl');
    writeFileSync(input, long);
    const p = start(['score', ...model, '--workers', '2', '--batch-size', '16', '-i', input]);
    await once(p.child.stdout!, 'data'); // the first batch is written: scoring is under way
    p.child.kill('SIGINT');
    await when(p.child.stderr!, 'data', () => p.stderr().includes('SIGINT received'));
    p.child.kill('SIGINT');
    const r = await p.exited;
    expect(r.stderr).not.toContain('terminate called');
    expect(r.stderr).toContain('prmkit: second SIGINT, stopping now'); // it was still running
    expect(r.signal === 'SIGINT' || r.code === 130, `code ${r.code}, signal ${r.signal}: ${r.stderr}`).toBe(true);
    // whatever was written is whole lines of the input's ids, in order (at most the last one cut)
    const lines = r.stdout.split('\n');
    const whole = lines.slice(0, -1).map((l) => JSON.parse(l).id);
    expect(whole).toEqual(whole.map((_, i) => `l${i}`));
  }, 120_000);

  it('-o /dev/stdout into a pipe writes every line and ends (the output is never read back)', async () => {
    const p = start(['score', ...model, '-i', join(dir, 'short.jsonl'), '-o', '/dev/stdout']);
    const r = await p.exited;
    expect(r.code, r.stderr).toBe(0);
    expect(ids(r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`));
  }, 60_000);

  it('-i /dev/stdin with --progress reads the pipe once (it is not counted first)', async () => {
    // through a shell, so stdin is a real pipe (a child's stdio pipes are sockets, which /dev/stdin cannot reopen)
    const input = join(dir, 'five.jsonl');
    writeFileSync(input, short(5));
    const quote = (a: string) => `'${a.replaceAll("'", `'\\''`)}'`;
    const line = `cat ${quote(input)} | ${[process.execPath, mainJs, 'score', ...model, '-i', '/dev/stdin', '--progress'].map(quote).join(' ')}`;
    const r = spawnSync('sh', ['-c', line], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(ids(r.stdout)).toEqual(['s0', 's1', 's2', 's3', 's4']);
    expect(r.stderr).toContain('5 scored');
  }, 60_000);

  it('SIGTERM ends a run whose stdin never ends, after writing what it read', async () => {
    const p = start(['score', ...model, '--batch-size', '2']);
    p.child.stdin!.write(short(2)); // stdin stays open
    await once(p.child.stdout!, 'data');
    p.child.kill('SIGTERM');
    const r = await p.exited;
    expect(r.code).toBe(130);
    expect(ids(r.stdout)).toEqual(['s0', 's1']);
    expect(r.stderr).toContain('prmkit score: scored 2 chains; interrupted, rerun the same command to resume');
  }, 60_000);

  it('a reader that goes away (| head) is EPIPE in one line with exit 141, not a crash', async () => {
    const p = start(['score', ...model, '--batch-size', '1', '-i', join(dir, 'short.jsonl')]);
    await once(p.child.stdout!, 'data');
    p.child.stdout!.destroy();
    const r = await p.exited;
    expect(r.code).toBe(141);
    expect(messages(r.stderr)).toEqual(['prmkit score: cannot write output stdout: the reader closed the pipe (EPIPE)']);
  }, 60_000);

  // root may write anything, so as root the child runs as an ordinary user, which must be able
  // to read the repository
  const root = process.getuid?.() === 0;
  const asUser = root ? { uid: 65534, gid: 65534 } : {};
  const userCanRun = !root || spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(mainJs)})`], asUser).status === 0;
  if (!userCanRun) announceSkip('EACCES as an ordinary user', `running as root and uid 65534 cannot read ${mainJs}`);

  it.runIf(userCanRun)('an output the user may not write is EACCES in one line with exit 1, and stays as it was', async () => {
    const out = join(dir, 'readonly.jsonl');
    writeFileSync(out, '');
    chmodSync(out, 0o444);
    if (root) chmodSync(dir, 0o755);
    const p = start(['score', ...model, '-i', join(dir, 'short.jsonl'), '-o', out], asUser);
    const r = await p.exited;
    expect(r.code).toBe(1);
    expect(messages(r.stderr)).toEqual([`prmkit score: cannot write output ${out}: permission denied (EACCES)`]);
    expect(readFileSync(out, 'utf8')).toBe('');
  }, 60_000);
});
