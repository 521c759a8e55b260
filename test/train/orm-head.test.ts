// ORM heads: trained on one row per solution (its last token) and read by Orm.load as the
// folder's active head: the reward is the head's logit on the gathered row, the probability
// its sigmoid (a 2-class head is folded into that one logit). Prm.load refuses an outcome
// head, and each head stays reachable by name.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Orm } from '../../lib/orm/orm.js';
import { Prm } from '../../lib/prm/index.js';
import { openRowCache, trainHead } from '../../lib/train/index.js';
import type { OrmTrainItem } from '../../lib/train/index.js';
import { chains, tinyFolder } from './helpers.js';
import type { TinyFolder } from './helpers.js';

let f: TinyFolder;
let orm: TinyFolder;
beforeAll(async () => {
  f = await tinyFolder();
  orm = await tinyFolder('plain-orm');
});
afterAll(() => {
  f?.cleanup();
  orm?.cleanup();
});

const ITEMS: OrmTrainItem[] = chains(30, 7).map((c, i) => (i % 2 ? { problem: c.problem, steps: c.steps, label: c.labels.every(Boolean) } : { problem: c.problem, solution: c.steps.join('\n'), label: c.labels[0] }));

async function rows(cache: string) {
  const r = await openRowCache(cache);
  const data = new Float32Array(r.rows * r.width);
  await r.read(Int32Array.from({ length: r.rows }, (_, i) => i), data);
  await r.close();
  return { data, N: r.rows, H: r.width };
}

async function ormScores(options: Parameters<typeof Orm.load>[0]) {
  const m = await Orm.load({ workers: { threads: 1 }, ...options });
  try {
    return { scale: m.chainScale, name: m.name, scores: await m.score(ITEMS) };
  } finally {
    await m.close();
  }
}

describe('an ORM head', () => {
  it('linear on a PRM folder: Orm.load reads the logit at the last token; Prm.load refuses it', async () => {
    const cache = join(f.root, 'cache-orm');
    const r = await trainHead({ model: f.dir, data: { kind: 'orm', items: ITEMS }, name: 'outcome', cache, fit: { epochs: 20 } });
    expect(r.entry).toMatchObject({ kind: 'orm', format: 'plain-orm', head: { kind: 'linear', outputs: 1 } });
    const { data, N, H } = await rows(cache);
    expect(N).toBe(ITEMS.length);
    const p = r.fit.params;
    const got = await ormScores({ model: f.dir });
    expect([got.scale, got.name]).toEqual(['probability', 'plain-orm:model:outcome']);
    got.scores.forEach((s, n) => {
      let z = p[H];
      for (let d = 0; d < H; d++) z += p[d] * data[n * H + d];
      expect(Math.abs(s.reward - z)).toBeLessThan(1e-4);
      expect(Math.abs(s.probability! - 1 / (1 + Math.exp(-z)))).toBeLessThan(1e-5);
    });
    await expect(Prm.load({ model: f.dir })).rejects.toThrow(/head "outcome" of .* is an outcome head .* open it with Orm.load/);
    const prm = await Prm.load({ model: f.dir, headName: 'converted' });
    expect((await prm.score([{ problem: 'p', steps: ['a'] }]))[0].stepProbs).toHaveLength(1);
    await prm.close();
  });

  it('2-class softmax: the probability is the softmax of the gathered row, the reward its logit', async () => {
    const cache = join(f.root, 'cache-orm');
    const r = await trainHead({ model: f.dir, data: { kind: 'orm', items: ITEMS }, name: 'outcome2', cache, head: { kind: 'linear', activation: 'softmax', outputs: 2 }, fit: { epochs: 20 } });
    expect(r.gather.chains).toBe(0);
    const { data, H } = await rows(cache);
    const p = r.fit.params;
    const got = await ormScores({ model: f.dir, headName: 'outcome2' });
    got.scores.forEach((s, n) => {
      const z = [0, 1].map((k) => data.subarray(n * H, (n + 1) * H).reduce((a, x, d) => a + x * p[k * H + d], p[2 * H + k]));
      expect(Math.abs(s.probability! - Math.exp(z[1]) / (Math.exp(z[0]) + Math.exp(z[1])))).toBeLessThan(1e-5);
      expect(Math.abs(s.reward - (z[1] - z[0]))).toBeLessThan(1e-4);
    });
  });

  it('on an ORM folder: the folder format by default; the converted head by name; a PRM head there refused by Orm.load', async () => {
    const r = await trainHead({ model: orm.dir, data: { kind: 'orm', items: ITEMS }, name: 'mine', fit: { epochs: 5 } });
    expect(r.entry.format).toBe('plain-orm');
    const converted = await ormScores({ model: orm.dir, headName: 'converted' });
    const mine = await ormScores({ model: orm.dir });
    expect(converted.name).toBe('plain-orm:model');
    expect(mine.scores.map((s) => s.reward)).not.toEqual(converted.scores.map((s) => s.reward));
    await trainHead({ model: orm.dir, data: { kind: 'prm', items: chains(10, 3) }, name: 'steps', fit: { epochs: 2 } });
    await expect(Orm.load({ model: orm.dir })).rejects.toThrow(/head "steps" of .* is a process head/);
    const prm = await Prm.load({ model: orm.dir });
    expect(prm.format.name).toBe('trl');
    await prm.close();
  });
});
