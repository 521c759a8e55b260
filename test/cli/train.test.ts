// prmkit train: JSONL in, a head written into the converted folder, which `prmkit score` then
// reads by default; flag and data mistakes are one line naming the flag, or the file, line
// and field, before any model work.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readManifest } from '../../lib/model/manifest.js';
import { chains, tinyFolder } from '../train/helpers.js';
import type { TinyFolder } from '../train/helpers.js';
import { prmkit } from './helpers.js';

let f: TinyFolder;
let data: string;
beforeAll(async () => {
  f = await tinyFolder();
  data = join(f.root, 'train.jsonl');
  writeFileSync(data, chains(30, 2).map((c) => JSON.stringify(c)).join('\n') + '\n');
});
afterAll(() => f?.cleanup());

describe('prmkit train', () => {
  it('trains a head from JSONL, writes it as the active head, and score reads it', async () => {
    const r = await prmkit(['train', '-m', f.dir, '--data', data, '--name', 'cli', '--epochs', '5', '--seed', '3', '--class-weights', 'balanced']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^trained PRM head "cli" \(linear, 1 output\) on \d+ rows, \d+ held out\n/);
    expect(r.stdout).toContain(`written: ${f.dir}/heads/cli.safetensors`);
    expect(readManifest(f.dir)!.activeHead).toBe('cli');
    // again: refused without --force; with other options the rows come from the cache
    const again = await prmkit(['train', '-m', f.dir, '--data', data, '--name', 'cli']);
    expect([again.code, again.stderr]).toEqual([1, `prmkit train: ${f.dir} already has a head named "cli"; pass force (--force) to replace it\n`]);
    const json = await prmkit(['train', '-m', f.dir, '--data', data, '--name', 'cli', '--force', '--head', 'mlp', '--outputs', '2', '--mlp-hidden', '8', '--epochs', '3', '--json', '--no-activate']);
    expect(json.code).toBe(0);
    const out = JSON.parse(json.stdout) as { entry: { head: unknown }; gather: { chains: number } };
    expect(out.entry.head).toEqual({ kind: 'mlp', hidden: 8, activation: 'softmax', outputs: 2, positive: 1 });
    expect(out.gather.chains).toBe(0);
    const input = join(f.root, 'score.jsonl');
    writeFileSync(input, JSON.stringify({ id: 'a', problem: 'What is 1+1?', steps: ['1+1 = 2'] }) + '\n');
    const scored = await prmkit(['score', '-m', f.dir, '-i', input, '--head-name', 'cli']);
    expect(scored.code).toBe(0);
    expect(JSON.parse(scored.stdout.trim()).stepProbs).toHaveLength(1);
  });

  it('an ORM head from outcome lines: score then reads the folder as an outcome model, the PRM head by name', async () => {
    const orm = join(f.root, 'orm.jsonl');
    writeFileSync(orm, chains(12, 5).map((c) => JSON.stringify({ problem: c.problem, solution: c.steps.join('\n'), label: c.labels[0] })).join('\n') + '\n');
    const r = await prmkit(['train', '-m', f.dir, '--data', orm, '--name', 'outcome', '--epochs', '3']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toMatch(/^trained ORM head "outcome"/);
    const input = join(f.root, 'score-orm.jsonl');
    writeFileSync(input, JSON.stringify({ id: 'a', problem: 'What is 1+1?', steps: ['1+1 = 2'] }) + '\n');
    const outcome = JSON.parse((await prmkit(['score', '-m', f.dir, '-i', input])).stdout.trim()) as Record<string, unknown>;
    expect(Object.keys(outcome).sort()).toEqual(['id', 'probability', 'reward', 'tokens', 'truncated']);
    const steps = JSON.parse((await prmkit(['score', '-m', f.dir, '-i', input, '--head-name', 'cli'])).stdout.trim()) as Record<string, unknown>;
    expect(steps.stepProbs).toHaveLength(1);
    const unknown = await prmkit(['score', '-m', f.dir, '-i', input, '--head-name', 'nope']);
    expect([unknown.code, unknown.stderr.split('\n')[0]]).toEqual([2, `prmkit score: headName "nope", which is not a head of ${f.dir} (it has converted, cli, outcome)`]);
  });

  it('--progress shows the gather and the epochs on stderr; without it a pipe gets none', async () => {
    const r = await prmkit(['train', '-m', f.dir, '--data', data, '--name', 'progress', '--epochs', '2', '--no-cache', '--no-activate', '--progress']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/30\/30 chains gathered/);
    expect(r.stderr).toMatch(/2\/2 epochs/);
  });

  it('a bad line is named with its field, before the model runs', async () => {
    const bad = join(f.root, 'bad.jsonl');
    writeFileSync(bad, [JSON.stringify({ problem: 'p', steps: ['a'], labels: [true] }), JSON.stringify({ problem: 'p', steps: ['a', 'b'], labels: [true, 'no'] })].join('\n') + '\n');
    const r = await prmkit(['train', '-m', f.dir, '--data', bad, '--name', 'bad']);
    expect([r.code, r.stderr]).toEqual([1, `prmkit train: ${bad}:2: labels[1] must be a boolean or a number in [0, 1], got "no" (string)\n`]);
    expect(existsSync(join(f.dir, 'heads', 'bad.safetensors'))).toBe(false);
  });

  it('a folder another live train holds is refused, one line naming the process; nothing is written', async () => {
    const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    const lock = join(f.dir, '.prmkit-train.lock');
    try {
      writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: hostname(), started: '2026-01-01T00:00:00.000Z' }) + '\n');
      const r = await prmkit(['train', '-m', f.dir, '--data', data, '--name', 'second', '--epochs', '2']);
      expect([r.code, r.stderr]).toEqual([1, `prmkit train: ${f.dir} is locked by prmkit train in process ${holder.pid} (since 2026-01-01T00:00:00.000Z); wait for it to end, or remove ${lock} if that process is gone\n`]);
      expect(existsSync(join(f.dir, 'heads', 'second.safetensors'))).toBe(false);
    } finally {
      const gone = new Promise((r) => holder.once('exit', r));
      holder.kill('SIGKILL');
      await gone;
    }
    // its process gone, the lock is stale: the next run takes it over and removes it at the end
    const r = await prmkit(['train', '-m', f.dir, '--data', data, '--name', 'second', '--epochs', '2', '--no-activate']);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(existsSync(lock)).toBe(false);
  });

  it('usage errors exit 2 naming the flag', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--data', data, '--name', 'x'], /train needs --model/],
      [['-m', f.dir, '--name', 'x'], /train needs --data/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--head', 'deep'], /--head must be one of 'linear', 'mlp', got "deep"/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--outputs', '3'], /--outputs must be an integer in \[1, 2\], got 3/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--mlp-hidden', '8'], /--mlp-hidden applies to --head mlp/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--class-weights', 'heavy'], /--class-weights must be balanced or POS,NEG/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--lr', '0'], /--lr must be a number > 0, got 0/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--cache', 'c', '--no-cache'], /--cache and --no-cache contradict/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--no-cache', '--cache-limit', '10'], /--cache-limit bounds MODEL_DIR\/train-cache/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--cache-limit', '1.5'], /--cache-limit must be an integer/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--format', 'plain-orm'], /--format plain-orm is an ORM format/],
      [['-m', f.dir, '--data', data, '--name', 'x', '--epoch', '3'], /Unknown option '--epoch'/],
    ];
    for (const [argv, message] of cases) {
      const r = await prmkit(['train', ...argv]);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const help = await prmkit(['train', '--help']);
    expect([help.code, help.stdout.split('\n')[0]]).toEqual([0, "prmkit train: fit a PRM or ORM head on a converted model's frozen hidden states"]);
    expect(readFileSync(join(f.dir, 'prmkit.json'), 'utf8')).not.toContain('"x"');
  });
});
