// convert's hiddenStates option: the graph gives last_hidden_state beside the logits (what a
// trained head reads), the converted head scores exactly as without the option, and the
// manifest says so. With backbone, the head is left out: hidden states only, from a plain
// causal LM too, and loading it without a trained head says what to do.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-hidden-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CHAINS = [
  { problem: 'What is 2+2?', steps: ['2+2 = 4', 'so the answer is 4'] },
  { problem: 'Solve 3x = 12.', steps: ['divide both sides by 3', 'x = 4'] },
];

describe('convert --hidden-states', () => {
  for (const format of ['qwen2.5-math-prm', 'math-shepherd'] as const)
    it(`${format}: both outputs, the same step scores as a plain conversion`, async () => {
      const ck = createTinyCheckpoint({ dir: join(dir, `ck-${format}`), layers: 2, hidden: 32, heads: 2, seed: 8, format });
      const plain = await convert({ input: ck.dir, output: join(dir, `plain-${format}`) });
      const both = await convert({ input: ck.dir, output: join(dir, `both-${format}`), hiddenStates: true });
      expect(plain.manifest.hiddenStates).toBeUndefined();
      expect(both.manifest.hiddenStates).toBe(true);
      expect(both.manifest.head).toEqual(plain.manifest.head);
      const score = async (model: string) => {
        const prm = await Prm.load({ model, workers: { threads: 1 } });
        try {
          const info = prm.backend;
          return { names: info.kind === 'onnx' ? [...info.outputNames].sort() : [], output: info.kind === 'onnx' ? info.output : '', probs: (await prm.score(CHAINS)).map((s) => s.stepProbs) };
        } finally {
          await prm.close();
        }
      };
      const a = await score(plain.output);
      const b = await score(both.output);
      expect(a.names).toEqual(['logits']);
      expect(b.names).toEqual(['last_hidden_state', 'logits']);
      expect(b.output).toBe('logits');
      expect(b.probs).toEqual(a.probs);
    });

  it('backbone: a causal LM without its head, trl by default; loading it asks for a trained head', async () => {
    const ck = createTinyCheckpoint({ dir: join(dir, 'ck-lm'), layers: 2, hidden: 32, heads: 2, seed: 8, format: 'rlhflow' });
    const r = await convert({ input: ck.dir, output: join(dir, 'backbone'), backbone: true });
    expect(r.manifest).toMatchObject({ kind: 'prm', format: 'trl', formatOptions: { separator: '\n', positive: 1 }, head: { kind: 'none', outputs: 0 }, hiddenStates: true });
    await expect(Prm.load({ model: r.output })).rejects.toThrow(/a backbone without a head \(convert --backbone\): train one with prmkit train/);
    const orm = await convert({ input: ck.dir, output: join(dir, 'backbone-orm'), backbone: true, format: 'plain-orm' });
    expect(orm.manifest).toMatchObject({ kind: 'orm', format: 'plain-orm', head: { kind: 'none' } });
    await expect(convert({ input: ck.dir, output: join(dir, 'backbone-x'), backbone: true, positive: 0 })).rejects.toThrow(/a backbone has no head/);
  });
});
