// The granite-prm format (IBM Granite's generative PRM recipe) on a tiny causal LM: the
// multi-turn encoding (problem and each step asking "Is this response correct so far (Y/N)?",
// every assistant turn "Y", each step read at the token before its "Y"), and P("Y") under a
// softmax over the whole vocabulary, read by the native LM-head kernel from last_hidden_state
// and the LM head file, against onnxruntime's full logits of the same checkpoint with a float64
// log-softmax written here.
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { convert } from '../../lib/convert/index.js';
import { GRANITE_QUESTION } from '../../lib/formats/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyModel } from '../../lib/testing/index.js';
import { createTinyCheckpoint } from '../../lib/testing/tiny-checkpoint.js';
import type { TinyModel } from '../../lib/testing/index.js';
import { chains, cleanup, tempDir } from './helpers.js';

let hidden: TinyModel;
let logits: TinyModel;
let prm: Prm;
const items = chains(6, 3);

beforeAll(async () => {
  hidden = await createTinyModel({ dir: tempDir(), format: 'granite-prm', output: 'hidden', seed: 9 });
  logits = await createTinyModel({ dir: tempDir(), format: 'granite-prm', output: 'logits', seed: 9 });
  prm = await Prm.load({ model: hidden.model, tokenizer: hidden.tokenizer, head: hidden.head, format: 'granite-prm' });
}, 120_000);

afterAll(async () => {
  await prm?.close();
  cleanup();
});

describe('granite-prm', () => {
  it('encodes each step as a user turn asking the question, read before each assistant "Y"', () => {
    const enc = prm.encode(items);
    const Y = prm.tokenizer.encode('Y')[0];
    items.forEach((it, i) => {
      const pos = enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]);
      expect(pos.length).toBe(it.steps.length);
      for (const p of pos) expect(enc.inputIds[i][p + 1]).toBe(Y);
      const text = prm.tokenizer.decode(Array.from(enc.inputIds[i]));
      expect(text.split(GRANITE_QUESTION).length - 1).toBe(it.steps.length);
      expect(text).toContain(`${it.problem} ${it.steps[0]} ${GRANITE_QUESTION}`);
    });
    expect(prm.defaultAggregate).toBe('mean');
    expect(prm.backend).toMatchObject({ kind: 'onnx', output: 'last_hidden_state', head: 'vocabulary' });
  });

  it('P("Y") over the whole vocabulary equals a float64 softmax of the full logits', async () => {
    const scores = await prm.score(items);
    const enc = prm.encode(items);
    const session = await ort.InferenceSession.create(logits.model, { intraOpNumThreads: 1 });
    const Y = prm.tokenizer.encode('Y')[0];
    try {
      for (let i = 0; i < items.length; i++) {
        const ids = enc.inputIds[i];
        const T = ids.length;
        const feeds: Record<string, ort.Tensor> = {
          input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, T]),
          attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
        };
        if (session.inputNames.includes('position_ids')) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, t) => BigInt(t)), [1, T]);
        const out = await session.run(feeds);
        const z = out.logits.data as Float32Array;
        const V = out.logits.dims[2];
        const pos = enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]);
        pos.forEach((p, k) => {
          const row = z.subarray(p * V, (p + 1) * V);
          let m = -Infinity;
          for (const x of row) m = Math.max(m, x);
          let s = 0;
          for (const x of row) s += Math.exp(x - m);
          expect(scores[i].stepLogProbs[k]).toBeCloseTo(row[Y] - m - Math.log(s), 4);
        });
      }
    } finally {
      await session.release();
    }
    // probabilities, averaged as the authors do
    for (const s of scores) expect(s.score).toBeCloseTo(s.stepProbs.reduce((a, b) => a + b, 0) / s.stepProbs.length, 5);
  });

  it('classifyTokens gives P("Y") at every token', async () => {
    const [c] = await prm.classifyTokens(['a b c']);
    expect(c.probs.every((p) => p.length === 1 && p[0] > 0 && p[0] < 1)).toBe(true);
  });

  it('needs the LM head and the hidden states; the converter refuses the format', async () => {
    await expect(Prm.load({ model: hidden.model, tokenizer: hidden.tokenizer, format: 'granite-prm' })).rejects.toThrow(/reads P\("Y"\) over the whole vocabulary: pass head/);
    await expect(Prm.load({ model: logits.model, tokenizer: logits.tokenizer, head: hidden.head, format: 'granite-prm', output: 'logits' })).rejects.toThrow(/must output last_hidden_state/);
    const root = tempDir();
    createTinyCheckpoint({ dir: join(root, 'ck'), format: 'granite-prm' });
    await expect(convert({ input: join(root, 'ck'), output: join(root, 'out'), format: 'granite-prm' })).rejects.toThrow(/over the whole vocabulary; prmkit convert does not write that reading yet/);
  });
});
