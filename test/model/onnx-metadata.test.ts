// A converted graph says how it attends in its own metadata, so a bare .onnx (no prmkit.json
// beside it) is held to what its attention can read: GroupQueryAttention takes right-padded
// rows only, and asking for left padding is refused by name instead of scoring wrong. The
// metadata reader skips the graph unread; onnx-proto's full decode is the reference.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphFacts, onnxMetadata } from '../../lib/model/onnx-metadata.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import type { TinyModel } from '../../lib/testing/index.js';

const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof import('onnx-proto');
const root = mkdtempSync(join(tmpdir(), 'prmkit-onnx-metadata-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Every metadata entry, from a full decode of the model. */
function decoded(path: string): Record<string, string> {
  const m = onnx.ModelProto.decode(readFileSync(path));
  return Object.fromEntries((m.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
}

/** A copy of `path` whose metadata is `metadata` (the graph unchanged). */
function withMetadata(path: string, name: string, metadata: Record<string, string>): string {
  const m = onnx.ModelProto.decode(readFileSync(path));
  m.metadataProps = Object.entries(metadata).map(([key, value]) => onnx.StringStringEntryProto.create({ key, value }));
  const out = join(root, name);
  writeFileSync(out, onnx.ModelProto.encode(m).finish());
  return out;
}

let gqa: TinyModel;
let plain: TinyModel;
beforeAll(async () => {
  gqa = await createTinyModel({ dir: join(root, 'gqa'), layers: 1, hidden: 32, seed: 5 });
  plain = await createTinyModel({ dir: join(root, 'plain'), layers: 1, hidden: 32, seed: 5, attention: 'plain' });
});

describe('onnx metadata', () => {
  it('reads what a full decode reads, past a graph with its weights inline', () => {
    expect(gqa.attention).toBe('gqa');
    const full = decoded(gqa.model);
    expect(full['prmkit.attention']).toBe('gqa');
    expect(onnxMetadata(gqa.model)).toEqual(full);
    expect(onnxMetadata(plain.model)).toEqual(decoded(plain.model));
    expect(graphFacts(plain.model)).toEqual({ attention: 'plain' });
    const chunked = withMetadata(gqa.model, 'chunked.onnx', { 'prmkit.attention': 'gqa', 'prmkit.attentionChunks': '4', other: 'x'.repeat(300) });
    expect(onnxMetadata(chunked)).toEqual(decoded(chunked));
    expect(graphFacts(chunked)).toEqual({ attention: 'gqa', attentionChunks: 4 });
  });

  it('a truncated file is named, and has no facts', () => {
    const bytes = readFileSync(gqa.model);
    const cut = join(root, 'cut.onnx');
    writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
    expect(() => onnxMetadata(cut)).toThrow(new RegExp(`model: ${cut} is not an ONNX model: it ends inside a field`));
    expect(graphFacts(cut)).toEqual({});
    expect(graphFacts(join(root, 'missing.onnx'))).toEqual({});
  });
});

describe('a bare .onnx is held to its attention', () => {
  it('GroupQueryAttention refuses left padding, naming the option', async () => {
    const err = await Prm.load({ model: gqa.model, tokenizer: gqa.tokenizer, head: gqa.head, format: 'math-shepherd', workers: { threads: 1 }, chunking: { padding: 'left' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
    expect((err as Error).message).toMatch(/^chunking\.padding: .*model\.onnx was converted with fused attention \(GroupQueryAttention\), which reads right-padded rows only; drop padding: 'left'/);
  });

  it('plain attention takes left padding and scores as right padding does', async () => {
    const o = { model: plain.model, tokenizer: plain.tokenizer, head: plain.head, format: 'math-shepherd', workers: { threads: 1 } } as const;
    const left = await Prm.load({ ...o, chunking: { padding: 'left', maxBatch: 2 } });
    const right = await Prm.load(o);
    try {
      const chains = [{ problem: 'What is 2+2?', steps: ['2+2 = 4', 'so 4'] }, { problem: 'Is 3 odd?', steps: ['yes'] }];
      const [a, b] = [await left.score(chains), await right.score(chains)];
      a.forEach((r, i) => r.stepProbs.forEach((p, j) => expect(Math.abs(p - b[i]!.stepProbs[j]!)).toBeLessThan(1e-5)));
    } finally {
      await left.close();
      await right.close();
    }
  });

  it('a graph in causal chunks refuses more than one row per call', async () => {
    const chunked = withMetadata(gqa.model, 'chunks.onnx', { 'prmkit.attention': 'gqa', 'prmkit.attentionChunks': '2' });
    await expect(Prm.load({ model: chunked, tokenizer: gqa.tokenizer, head: gqa.head, format: 'math-shepherd', workers: { threads: 1 }, chunking: { maxBatch: 4 } }))
      .rejects.toThrow(/^chunking\.maxBatch: .*chunks\.onnx was converted with attention in causal chunks, which takes one row per call/);
  });
});
