// What training leaves in a model folder stays in order: one train runs on a folder at a time
// (a lock file with the owner's pid; a dead owner's lock is taken over), the row caches of
// train-cache/ are bounded, and `convert --force` onto the folder keeps its trained heads
// (their files and manifest entries, scoring as before) or refuses, naming them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { lockFolder, TRAIN_LOCK } from '../../lib/model/lock.js';
import { readManifest } from '../../lib/model/manifest.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import { trainHead } from '../../lib/train/index.js';
import { chains, tinyFolder } from './helpers.js';
import type { TinyFolder } from './helpers.js';

let f: TinyFolder;
beforeAll(async () => {
  f = await tinyFolder();
});
afterAll(() => f?.cleanup());

const ITEMS = chains(12, 3);
const data = (items = ITEMS) => ({ kind: 'prm' as const, items });

/** A pid that no process has any more (a child that has exited). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  return r.pid!;
}

function holdLock(dir: string, pid: number, host = hostname()): void {
  writeFileSync(join(dir, TRAIN_LOCK), JSON.stringify({ pid, host, started: '2026-01-01T00:00:00.000Z' }) + '\n');
}

describe('the train lock', () => {
  it('a second holder is refused while the first lives; a dead owner\'s lock is taken over', () => {
    const a = lockFolder(f.dir, 'prmkit train');
    expect(() => lockFolder(f.dir, 'prmkit train')).toThrow(new RegExp(`is locked by prmkit train in process ${process.pid} \\(since `));
    a.release();
    expect(existsSync(join(f.dir, TRAIN_LOCK))).toBe(false);
    holdLock(f.dir, deadPid());
    const b = lockFolder(f.dir, 'prmkit train');
    expect(JSON.parse(readFileSync(join(f.dir, TRAIN_LOCK), 'utf8')).pid).toBe(process.pid);
    b.release();
    // another host's lock: its process cannot be seen from here, so it holds
    holdLock(f.dir, deadPid(), `${hostname()}-elsewhere`);
    expect(() => lockFolder(f.dir, 'prmkit train')).toThrow(/in process \d+ on .*-elsewhere/);
    // an empty lock just made: another run between creating it and writing its pid
    writeFileSync(join(f.dir, TRAIN_LOCK), '');
    expect(() => lockFolder(f.dir, 'prmkit train')).toThrow(/is locked by prmkit train; wait for it to end/);
    rmSync(join(f.dir, TRAIN_LOCK));
  });

  it('trainHead is refused while a live process holds the folder, and runs once it has gone', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      holdLock(f.dir, child.pid!);
      const cache = join(f.root, 'cache-locked');
      await expect(trainHead({ model: f.dir, data: data(), name: 'locked', cache, fit: { epochs: 2 } }))
        .rejects.toThrow(new RegExp(`${f.dir} is locked by prmkit train in process ${child.pid} .*remove .*\\${TRAIN_LOCK} if that process is gone`));
      expect(existsSync(cache)).toBe(false);
      expect(readManifest(f.dir)!.heads?.locked).toBeUndefined();
    } finally {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    const r = await trainHead({ model: f.dir, data: data(), name: 'locked', cache: join(f.root, 'cache-locked'), activate: false, fit: { epochs: 2 } });
    expect(r.entry.file).toBe('heads/locked.safetensors');
    expect(existsSync(join(f.dir, TRAIN_LOCK))).toBe(false);
  });
});

describe('train-cache', () => {
  it('keeps the caches under the bound, least recently used first, and always this run\'s', async () => {
    const root = join(f.dir, 'train-cache');
    const caches = () => (existsSync(root) ? readdirSync(root).sort() : []);
    const before = caches();
    const o = { model: f.dir, activate: false, fit: { epochs: 1 } };
    await trainHead({ ...o, data: data(chains(6, 31)), name: 'c1' });
    await trainHead({ ...o, data: data(chains(6, 32)), name: 'c2' });
    const two = caches().filter((c) => !before.includes(c));
    expect(two).toHaveLength(2);
    // a bound of 0 keeps only the rows this run used
    const r = await trainHead({ ...o, data: data(chains(6, 33)), name: 'c3', cacheLimit: 0 });
    const left = caches();
    expect(left).toHaveLength(1);
    expect(join(root, left[0]!)).toBe(r.cache);
    // the rows of c1 went: gathered again
    const again = await trainHead({ ...o, data: data(chains(6, 31)), name: 'c1', force: true, cacheLimit: 2 ** 30 });
    expect(again.gather.chains).toBe(6);
    expect(caches()).toHaveLength(2);
  });
});

describe('convert --force onto a folder with trained heads', () => {
  it('keeps them when the new graph can feed them: files, entries, active head, the same scores', async () => {
    const g = await tinyFolder();
    try {
      const ck = join(g.root, 'ckpt');
      await trainHead({ model: g.dir, data: data(), name: 'lin', fit: { epochs: 3 } });
      const score = async () => {
        const prm = await Prm.load({ model: g.dir, workers: { threads: 1 } });
        try {
          return (await prm.score(ITEMS.slice(0, 4))).flatMap((s) => s.stepProbs);
        } finally {
          await prm.close();
        }
      };
      const before = await score();
      const entry = readManifest(g.dir)!.heads!.lin;
      expect(existsSync(join(g.dir, 'train-cache'))).toBe(true);

      const r = await convert({ input: ck, output: g.dir, overwrite: true, hiddenStates: true });
      expect(r.keptHeads).toEqual(['lin']);
      const m = readManifest(g.dir)!;
      expect(m.heads).toEqual({ lin: entry });
      expect(m.activeHead).toBe('lin');
      expect(existsSync(join(g.dir, 'heads', 'lin.safetensors'))).toBe(true);
      // the rows of the graph before are no use to the new one
      expect(existsSync(join(g.dir, 'train-cache'))).toBe(false);
      const after = await score();
      after.forEach((p, i) => expect(Math.abs(p - before[i]!)).toBeLessThan(1e-6));

      // a graph without hidden states, or another checkpoint, could not read them: refused, nothing touched
      const manifest = readFileSync(join(g.dir, 'prmkit.json'), 'utf8');
      await expect(convert({ input: ck, output: g.dir, overwrite: true }))
        .rejects.toThrow(/has trained heads \(lin\) that this conversion could not keep: the new graph has no last_hidden_state output.*--hidden-states/);
      const other = createTinyCheckpoint({ dir: join(g.root, 'other'), layers: 2, hidden: 32, heads: 2, seed: 6 }).dir;
      await expect(convert({ input: other, output: g.dir, overwrite: true, hiddenStates: true }))
        .rejects.toThrow(new RegExp(`has trained heads \\(lin\\) that this conversion could not keep: they were trained on ${ck}, not this one`));
      expect(readFileSync(join(g.dir, 'prmkit.json'), 'utf8')).toBe(manifest);
      expect(readdirSync(g.dir).filter((n) => n.endsWith('.partial') || n.startsWith('.prmkit-convert'))).toEqual([]);
    } finally {
      g.cleanup();
    }
  });
});
