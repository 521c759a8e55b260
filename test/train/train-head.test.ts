// trainHead end to end on the tiny converted model: rows gathered once per chain into the
// on-disk cache, the head fitted and written into the folder, and Prm.load scoring with it
// exactly as the kernels' js reference applies the same weights to the gathered rows; an
// interrupted gather resumes to the same rows; the same seed gives the same weights; names
// are never overwritten unless asked.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrmInputError } from '../../lib/errors.js';
import { scoreBatch } from '../../lib/kernels/index.js';
import { readHeadParams } from '../../lib/model/heads.js';
import { readManifest } from '../../lib/model/manifest.js';
import { Prm } from '../../lib/prm/index.js';
import { openRowCache, trainHead } from '../../lib/train/index.js';
import type { PrmTrainItem } from '../../lib/train/index.js';
import { chains, tinyFolder } from './helpers.js';
import type { TinyFolder } from './helpers.js';

let f: TinyFolder;
beforeAll(async () => {
  f = await tinyFolder();
});
afterAll(() => f?.cleanup());

const ITEMS = chains(40);
const iota = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** Every row of a complete cache, in order. */
async function cachedRows(cache: string): Promise<{ data: Float32Array; N: number; H: number; labels: Float32Array }> {
  const rows = await openRowCache(cache);
  const data = new Float32Array(rows.rows * rows.width);
  await rows.read(iota(rows.rows), data);
  await rows.close();
  return { data, N: rows.rows, H: rows.width, labels: rows.labels };
}

async function stepProbs(options: Parameters<typeof Prm.load>[0], items: readonly PrmTrainItem[]): Promise<number[]> {
  const prm = await Prm.load({ workers: { threads: 1 }, ...options });
  try {
    return (await prm.score(items)).flatMap((s) => s.stepProbs);
  } finally {
    await prm.close();
  }
}

describe('a PRM head on the tiny model', () => {
  it('linear: gathered into the cache, written as the active head, and Prm.load scores as the js reference applies it to the rows', async () => {
    const cache = join(f.root, 'cache-linear');
    const r = await trainHead({ model: f.dir, data: { kind: 'prm', items: ITEMS }, name: 'lin', cache, fit: { epochs: 20 } });
    const m = readManifest(f.dir)!;
    expect(m.activeHead).toBe('lin');
    expect(m.heads!.lin).toMatchObject({ file: 'heads/lin.safetensors', kind: 'prm', format: 'math-shepherd', head: { kind: 'linear', outputs: 1, activation: 'sigmoid' }, width: 32 });
    expect(existsSync(join(f.dir, 'heads', 'lin.safetensors'))).toBe(true);
    const { data, N, H, labels } = await cachedRows(cache);
    const steps = ITEMS.reduce((a, c) => a + c.steps.length, 0);
    expect([N, H, r.gather.rows, r.gather.chains]).toEqual([steps, 32, steps, ITEMS.length]);
    expect(Array.from(labels)).toEqual(ITEMS.flatMap((c) => c.labels.map((l) => (l ? 1 : 0))));
    // the file holds what was fitted
    expect(Array.from(readHeadParams(f.dir, r.entry))).toEqual(Array.from(r.fit.params));
    const ref = await scoreBatch({ data, dtype: 'float32', dims: [1, N, H] }, { offsets: Int32Array.of(0, N), positions: iota(N) },
      { kind: 'linear', weight: r.fit.params.slice(0, H), bias: r.fit.params.slice(H), outputs: 1, activation: 'sigmoid' }, { backend: 'js', aggregations: [] });
    const got = await stepProbs({ model: f.dir }, ITEMS);
    expect(got).toHaveLength(N);
    got.forEach((p, i) => expect(Math.abs(p - Math.exp(ref.stepLogProbs[i]))).toBeLessThan(1e-5));
    // the converted head is still there by name, reading the logits
    const prm = await Prm.load({ model: f.dir, headName: 'converted' });
    expect([prm.backend.kind === 'onnx' && prm.backend.output, prm.name]).toEqual(['logits', 'math-shepherd:model']);
    await prm.close();
    await expect(Prm.load({ model: f.dir, headName: 'nope' })).rejects.toThrow(/headName "nope", which is not a head of .* \(it has converted, lin\)/);
  });

  it('MLP with 2 classes (softmax): Prm.load equals a float64 MLP on the gathered rows', async () => {
    const cache = join(f.root, 'cache-linear');
    const r = await trainHead({ model: f.dir, data: { kind: 'prm', items: ITEMS }, name: 'mlp', cache, head: { kind: 'mlp', hidden: 16, activation: 'softmax', outputs: 2 }, fit: { epochs: 20, seed: 3 } });
    expect(r.gather.chains).toBe(0); // every row from the cache
    const { data, N, H } = await cachedRows(cache);
    const p = r.fit.params;
    const M = 16;
    const want = Array.from({ length: N }, (_, n) => {
      const h = Array.from({ length: M }, (_, m) => {
        let z = p[M * H + m];
        for (let d = 0; d < H; d++) z += p[m * H + d] * data[n * H + d];
        return Math.max(0, z);
      });
      const z = [0, 1].map((k) => h.reduce((a, v, m) => a + v * p[M * H + M + k * M + m], p[M * H + M + 2 * M + k]));
      return 1 / (1 + Math.exp(z[0] - z[1]));
    });
    const got = await stepProbs({ model: f.dir, headName: 'mlp' }, ITEMS);
    const prm = await Prm.load({ model: f.dir });
    expect(prm.backend.kind === 'onnx' && prm.backend.head).toBe('mlp');
    await prm.close();
    got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-5));
  });

  it('an interrupted gather resumes where it stopped and gives the same rows as one that ran through', async () => {
    const items = chains(12, 4);
    const whole = join(f.root, 'cache-whole');
    await trainHead({ model: f.dir, data: { kind: 'prm', items }, name: 'whole', cache: whole, blockChains: 4, activate: false, fit: { epochs: 2 } });
    const cut = join(f.root, 'cache-cut');
    const stop = new AbortController();
    const run = trainHead({
      model: f.dir, data: { kind: 'prm', items }, name: 'resumed', cache: cut, blockChains: 4, activate: false, fit: { epochs: 2 }, signal: stop.signal,
      onProgress: (p) => p.phase === 'gather' && p.chains >= 4 && stop.abort(),
    });
    await expect(run).rejects.toThrow();
    expect(JSON.parse(readFileSync(join(cut, 'progress.json'), 'utf8')).chains).toBe(4);
    expect(readManifest(f.dir)!.heads!.resumed).toBeUndefined();
    // a torn block after the last record is cut off
    appendFileSync(join(cut, 'rows.f32'), Buffer.alloc(100, 7));
    const r = await trainHead({ model: f.dir, data: { kind: 'prm', items }, name: 'resumed', cache: cut, blockChains: 4, activate: false, fit: { epochs: 2 } });
    expect([r.gather.resumedChains, r.gather.chains]).toEqual([4, 8]);
    expect(readFileSync(join(cut, 'rows.f32')).equals(readFileSync(join(whole, 'rows.f32')))).toBe(true);
    // other rows in the same folder are refused, never mixed
    await expect(trainHead({ model: f.dir, data: { kind: 'prm', items: chains(3, 9) }, name: 'other', cache: cut })).rejects.toThrow(/holds rows of other data/);
  });

  it('the same seed gives the same weights; another seed other MLP weights', async () => {
    const o = { model: f.dir, data: { kind: 'prm' as const, items: ITEMS }, head: 'mlp' as const, activate: false, fit: { epochs: 5, batchSize: 16 } };
    const a = await trainHead({ ...o, name: 's1', fit: { ...o.fit, seed: 11 } });
    const b = await trainHead({ ...o, name: 's2', fit: { ...o.fit, seed: 11 } });
    const c = await trainHead({ ...o, name: 's3', fit: { ...o.fit, seed: 12 } });
    expect(Buffer.from(readHeadParams(f.dir, a.entry).buffer).equals(Buffer.from(readHeadParams(f.dir, b.entry).buffer))).toBe(true);
    expect(Buffer.from(a.fit.params.buffer).equals(Buffer.from(c.fit.params.buffer))).toBe(false);
    expect(a.entry.head).toEqual({ kind: 'mlp', hidden: 32, activation: 'sigmoid', outputs: 1, positive: 0 });
  });

  it('a head is replaced only with force; the converted head name and bad names are refused', async () => {
    const before = readFileSync(join(f.dir, 'prmkit.json'), 'utf8');
    const o = { model: f.dir, data: { kind: 'prm' as const, items: ITEMS }, fit: { epochs: 2 } };
    await expect(trainHead({ ...o, name: 'lin' })).rejects.toThrow(/already has a head named "lin"; pass force/);
    await expect(trainHead({ ...o, name: 'converted' })).rejects.toThrow(/converted model's own head/);
    await expect(trainHead({ ...o, name: '../x' })).rejects.toThrow(/options.name must be a head name/);
    expect(readFileSync(join(f.dir, 'prmkit.json'), 'utf8')).toBe(before);
    const r = await trainHead({ ...o, name: 'lin', force: true, activate: false, fit: { epochs: 3 } });
    const m = readManifest(f.dir)!;
    expect(m.heads!.lin.training).toMatchObject({ epochs: 3 });
    expect(m.activeHead).toBe('mlp');
    expect(r.entry.kind).toBe('prm');
  });

  it('bad items fail before any gathering, named by their path', async () => {
    const items = [...ITEMS.slice(0, 3), { ...ITEMS[3], labels: ITEMS[3].labels.map((_, j) => (j === 0 ? 2 : true)) }];
    const cache = join(f.root, 'cache-never');
    const err = await trainHead({ model: f.dir, data: { kind: 'prm', items }, name: 'bad', cache }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PrmInputError);
    expect((err as PrmInputError).path).toBe('items[3].labels[0]');
    expect(existsSync(cache)).toBe(false);
    await expect(trainHead({ model: f.dir, data: { kind: 'prm', items: ITEMS }, name: 'x', fit: { epochz: 3 } as never })).rejects.toThrow(/epochz is not an option; did you mean 'epochs'/);
  });

  it('a learnable task: labels a linear function of the rows are learnt (loss falls, validation AUROC high)', async () => {
    const items = chains(150, 21);
    const probe = join(f.root, 'cache-probe');
    await trainHead({ model: f.dir, data: { kind: 'prm', items }, name: 'probe', cache: probe, activate: false, fit: { epochs: 1 } });
    const { data, N, H } = await cachedRows(probe);
    // a fixed teacher direction; the label is which side of its median a row falls
    const w = Array.from({ length: H }, (_, d) => Math.sin(3.7 * d + 1));
    const s = Array.from({ length: N }, (_, n) => w.reduce((a, v, d) => a + v * data[n * H + d], 0));
    const median = [...s].sort((a, b) => a - b)[N >> 1];
    let k = 0;
    const taught = items.map((c) => ({ ...c, labels: c.steps.map(() => s[k++] > median) }));
    const r = await trainHead({ model: f.dir, data: { kind: 'prm', items: taught }, name: 'taught', activate: false, cache: false, fit: { epochs: 300, learningRate: 0.05, validation: 0.2, patience: 0 } });
    const first = r.fit.epochs[0].trainLoss;
    const last = r.fit.epochs[r.fit.epochs.length - 1].trainLoss;
    console.log(`learnable task: ${N} rows, train loss ${first.toFixed(4)} -> ${last.toFixed(4)}, validation AUROC ${r.validationAuroc.toFixed(4)}`);
    expect(last).toBeLessThan(0.5 * first);
    expect(r.validationAuroc).toBeGreaterThan(0.95);
  });
});

describe('a backbone folder (a causal LM converted without its head)', () => {
  it('trains in the trl layout by default, and Prm.load scores with the trained head', async () => {
    const g = await tinyFolder('rlhflow', true, true);
    try {
      const r = await trainHead({ model: g.dir, data: { kind: 'prm', items: ITEMS }, name: 'first', fit: { epochs: 5 } });
      expect(r.entry.format).toEqual({ kind: 'trl', separator: '\n' });
      const prm = await Prm.load({ model: g.dir });
      expect([prm.format.name, prm.name]).toEqual(['trl', 'trl:model:first']);
      expect((await prm.score(ITEMS.slice(0, 2))).map((x) => x.stepProbs.length)).toEqual([ITEMS[0].steps.length, ITEMS[1].steps.length]);
      await prm.close();
    } finally {
      g.cleanup();
    }
  });
});

describe('a trained head through the KV cache', () => {
  it('prm.session scores continuations with a trained MLP head as prm.score does', async () => {
    const g = await tinyFolder('math-shepherd', true, false, true);
    try {
      await trainHead({ model: g.dir, data: { kind: 'prm', items: ITEMS }, name: 'mlp', head: { kind: 'mlp', hidden: 8, activation: 'softmax', outputs: 2 }, fit: { epochs: 3 } });
      const prm = await Prm.load({ model: g.dir, workers: { threads: 1 } });
      try {
        const item = ITEMS[5];
        const session = await prm.session({ problem: item.problem, steps: item.steps.slice(0, 1) });
        const continuations = [['then add 3 to 4'], ['check 7 7', 'so 9']];
        const viaCache = (await session.score(continuations)).map((x) => x.stepProbs);
        const whole = (await prm.score(continuations.map((c) => ({ problem: item.problem, steps: [...item.steps.slice(0, 1), ...c] })))).map((x) => x.stepProbs);
        viaCache.forEach((row, i) => row.forEach((p, j) => expect(Math.abs(p - whole[i][j])).toBeLessThan(1e-5)));
      } finally {
        await prm.close();
      }
    } finally {
      g.cleanup();
    }
  });
});

describe('trainHead refuses what it cannot train on', () => {
  it('a folder converted without hidden states', async () => {
    const g = await tinyFolder('math-shepherd', false);
    try {
      await expect(trainHead({ model: g.dir, data: { kind: 'prm', items: ITEMS }, name: 'h' })).rejects.toThrow(/has no last_hidden_state output .*--hidden-states/);
      expect(readManifest(g.dir)!.heads).toBeUndefined();
    } finally {
      g.cleanup();
    }
  });

  it('an .onnx file or a missing folder', async () => {
    await expect(trainHead({ model: join(f.dir, 'model.onnx'), data: { kind: 'prm', items: ITEMS }, name: 'h' })).rejects.toThrow(/not a folder from prmkit convert/);
  });
});
