// The graph builder on tiny checkpoints (no shared data needed): node names read as paths
// through the model, the attention chosen is one onnxruntime runs (GroupQueryAttention only
// where its constraints hold; a forced choice that cannot run is refused with the constraint
// named), and every variant the converter writes loads and scores like the plainest one.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import type { ConvertOptions } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import type { TinyCheckpointOptions } from '../../lib/testing/index.js';
import { maxAbsDiff } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-builder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(dir, `${name}-${n++}`);

function checkpoint(o: Omit<TinyCheckpointOptions, 'dir'>): string {
  return createTinyCheckpoint({ dir: fresh('ckpt'), layers: 2, seed: 4, ...o }).dir;
}

async function convertTo(input: string, o: Omit<ConvertOptions, 'input' | 'output'> = {}) {
  return convert({ input, output: fresh('out'), ...o });
}

const CHAINS = [
  { problem: 'What is 2+2?', steps: ['2+2 = 4', 'so the answer is 4'] },
  { problem: 'Solve 3x = 12.', steps: ['divide both sides by 3', 'x = 4', 'check: 3 * 4 = 12'] },
  { problem: 'A farmer has 12 cows and buys 3 more.', steps: ['12 + 3 = 16'] },
];

async function score(out: string): Promise<number[][]> {
  const prm = await Prm.load({ model: out, workers: { threads: 1 } });
  try {
    return (await prm.score(CHAINS)).map((s) => s.stepProbs);
  } finally {
    await prm.close();
  }
}

describe('graph names', () => {
  it('every node is named by its path and op, every output by its node, constants by their value, once', async () => {
    const r = await convertTo(checkpoint({ hidden: 32, heads: 2, format: 'qwen2.5-math-prm' }), { format: 'qwen2.5-math-prm', fusedNorms: false });
    const model = onnxProto.onnx.ModelProto.decode(readFileSync(join(r.output, 'model.onnx')));
    const nodes = model.graph!.node!;
    const names = nodes.map((x) => x.name!);
    expect(new Set(names).size).toBe(names.length);
    for (const node of nodes) {
      expect(node.name).toMatch(new RegExp(`^/(model|head)/[^ ]*/${node.opType}(_\\w+)?$|^/(model|head)/[^ ]*/\\w+$`));
      for (const [i, out] of node.output!.entries()) if (out !== 'logits') expect(out).toBe(`${node.name}/output_${i}`);
    }
    expect(names).toContain('/model/layers.1/attn/qkv_proj/MatMul');
    expect(names).toContain('/model/layers.0/attn/chunk.0/GroupQueryAttention');
    expect(names).toContain('/model/layers.1/mlp/down_proj/MatMul');
    expect(names).toContain('/head/score/MatMul');
    const inits = model.graph!.initializer!.map((t) => t.name!);
    expect(new Set(inits).size).toBe(inits.length);
    expect(inits).toContain('model.embed_tokens.weight');
    expect(inits).toContain('/model/constants/INT64/[1]');
    // one int64 [1] constant however many nodes read it
    expect(nodes.filter((x) => x.input!.includes('/model/constants/INT64/[1]')).length).toBeGreaterThan(1);
    const casts = nodes.filter((x) => x.opType === 'Cast').map((x) => x.attribute!.find((a) => a.name === 'to')!.i);
    expect(casts.every((t) => [1, 6, 7, 10].includes(Number(t)))).toBe(true);
  });
});

describe('attention that runs', () => {
  it('GroupQueryAttention where its constraints hold, plain attention otherwise, recorded in the manifest', async () => {
    const hd16 = checkpoint({ hidden: 32, heads: 2, format: 'skywork' });
    const hd8 = checkpoint({ hidden: 32, heads: 4, kvHeads: 2, format: 'skywork' });
    const gqa = await convertTo(hd16);
    expect(gqa.manifest.attention).toBe('gqa');
    const kv = await convertTo(hd16, { kvCache: true });
    expect(kv.manifest.attention).toBe('gqa');
    expect(kv.manifest.kvCache?.attention).toBe('gqa');
    expect(kv.attentionReason).toMatch(/with past keys\/values runs for this shape/);
    const kvPlain = await convertTo(hd8, { kvCache: true });
    expect(kvPlain.manifest.kvCache?.attention).toBe('plain');
    const plain = await convertTo(hd8);
    expect(plain.manifest.attention).toBe('plain');
    expect(plain.attentionReason).toMatch(/head size that is a multiple of 16; this model's is 8/);
    // and each loads and scores
    const a = await score(plain.output);
    const b = await score((await convertTo(hd8, { attention: 'plain', fusedNorms: false })).output);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
  });

  it('a forced GroupQueryAttention that cannot run is refused before anything is written, naming the constraint', async () => {
    const hd8 = checkpoint({ hidden: 32, heads: 4, format: 'math-shepherd' });
    const out = fresh('refused');
    await expect(convert({ input: hd8, output: out, attention: 'gqa' })).rejects.toThrow(
      /attention 'gqa' cannot run for this model: onnxruntime's GroupQueryAttention with rotary positions needs a head size that is a multiple of 16; this model's is 8/,
    );
    await expect(convert({ input: hd8, output: out, attention: 'gqa', kvCache: true })).rejects.toThrow(/attention 'gqa' cannot run for this model: .*multiple of 16/);
    await expect(convert({ input: hd8, output: out, attention: 'flash' as never })).rejects.toThrow(/attention must be one of 'gqa', 'plain'/);
  });
});

describe('every variant the converter writes loads and scores like the plainest graph', () => {
  for (const format of ['math-shepherd', 'skywork'] as const) {
    for (const heads of [2, 4]) {
      it(`${format}, head size ${32 / heads}`, async () => {
        const input = checkpoint({ hidden: 32, heads, kvHeads: 2, format, seed: 9 });
        const base = await score((await convertTo(input, { attention: 'plain', fusedNorms: false })).output);
        const variants: Array<[Omit<ConvertOptions, 'input' | 'output'>, number]> = [
          [{}, 1e-5],
          [{ kvCache: true }, 1e-5],
          [{ fusedNorms: false }, 1e-5],
          [{ dtype: 'float16' }, 5e-3],
          [{ attentionChunks: 1 }, 1e-5],
          [{ attentionChunks: 3 }, 1e-5],
          [{ dtype: 'int8', int8Form: 'integer' }, 0.05],
          [{ dtype: 'int8', int8Form: 'blockwise' }, 0.05],
          [{ dtype: 'int4', kvCache: true }, 0.3],
        ];
        for (const [o, tol] of variants) {
          const got = await score((await convertTo(input, o)).output);
          expect(maxAbsDiff(got, base), JSON.stringify(o)).toBeLessThanOrEqual(tol);
        }
      });
    }
  }
});

describe('attention in causal chunks', () => {
  it('gives what one call gives for any length, shorter than the chunk count included', async () => {
    const input = checkpoint({ hidden: 64, heads: 4, kvHeads: 2, format: 'skywork', seed: 5 });
    const one = await convertTo(input, { attentionChunks: 1 });
    const eight = await convertTo(input, { attentionChunks: 8 });
    expect(one.manifest.attentionChunks).toBeUndefined();
    expect(eight.manifest.attentionChunks).toBe(8);
    const open = (d: string) => ort.InferenceSession.create(join(d, 'model.onnx'));
    const [a, b] = await Promise.all([open(one.output), open(eight.output)]);
    for (const T of [1, 3, 7, 8, 9, 50, 131]) {
      const ids = BigInt64Array.from({ length: T }, (_, i) => BigInt((i * 7919) % 200));
      const feeds = { input_ids: new ort.Tensor('int64', ids, [1, T]), attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]) };
      const [x, y] = [(await a.run(feeds)).logits, (await b.run(feeds)).logits];
      expect(y.dims, `T=${T}`).toEqual(x.dims);
      const dx = x.data as Float32Array;
      const dy = y.data as Float32Array;
      let worst = 0;
      for (let i = 0; i < dx.length; i++) worst = Math.max(worst, Math.abs(dx[i] - dy[i]));
      expect(worst, `T=${T}`).toBeLessThan(1e-5);
    }
    await Promise.all([a.release(), b.release()]);
  });

  it('a chunked graph takes one row per call: a larger maxBatch is refused by name', async () => {
    const out = (await convertTo(checkpoint({ hidden: 32, heads: 2, format: 'skywork' }))).output;
    await expect(Prm.load({ model: out, chunking: { maxBatch: 4 } })).rejects.toThrow(/chunking\.maxBatch: .* one row per call; drop maxBatch or convert with attentionChunks 1/);
    const prm = await Prm.load({ model: out, chunking: { maxBatch: 1 } });
    await prm.close();
  });
});
