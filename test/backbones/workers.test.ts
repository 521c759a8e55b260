// How many workers a model gets when the caller names none: a converted folder on the cpu
// gets two single-threaded ones where two sessions fit in half the memory (the measured
// default, see defaultWorkerCount), a bare graph keeps one, and a named count always wins.
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultWorkerCount } from '../../lib/backbones/onnx/backbone.js';
import { convert } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import { createTinyCheckpoint, createTinyModel } from '../../lib/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-workers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const GB = 2 ** 30;

describe('the default worker count', () => {
  it('two where two sessions of the model fit in half the memory and there are two cores, else one', () => {
    expect(defaultWorkerCount(0.2 * GB, 2, 24 * GB)).toBe(2);
    expect(defaultWorkerCount(0.2 * GB, 16, 24 * GB)).toBe(2);
    // a 7B int8 model (7.6 GB of files) on a 24 GB machine: one session
    expect(defaultWorkerCount(7.6 * GB, 2, 24 * GB)).toBe(1);
    expect(defaultWorkerCount(7.6 * GB, 16, 128 * GB)).toBe(2);
    expect(defaultWorkerCount(0.2 * GB, 1, 24 * GB)).toBe(1);
  });

  it('a converted folder on the cpu gets it; a named count wins; a bare graph keeps one', async () => {
    const ck = createTinyCheckpoint({ dir: join(dir, 'ck'), layers: 1, hidden: 32, heads: 2, seed: 2, format: 'skywork' }).dir;
    const out = (await convert({ input: ck, output: join(dir, 'out') })).output;
    const want = defaultWorkerCount(0, availableParallelism(), totalmem());
    const prm = await Prm.load({ model: out, workers: { executionProvider: 'cpu' } });
    const named = await Prm.load({ model: out, workers: { count: 1, executionProvider: 'cpu' } });
    const tiny = await createTinyModel({ dir: join(dir, 'tiny'), layers: 1, hidden: 32, heads: 2, seed: 2 });
    const bare = await Prm.load({ model: tiny.model, tokenizer: tiny.tokenizer, head: tiny.head, format: 'math-shepherd', workers: { executionProvider: 'cpu' } });
    try {
      expect(prm.backend.kind === 'onnx' && prm.backend.workers).toBe(want);
      expect(named.backend.kind === 'onnx' && named.backend.workers).toBe(1);
      expect(bare.backend.kind === 'onnx' && bare.backend.workers).toBe(1);
      // and both score alike
      const chains = [{ problem: 'What is 2+2?', steps: ['2+2 = 4', 'so 4'] }, { problem: 'Solve 3x = 12.', steps: ['x = 4'] }];
      const [a, b] = [await prm.score(chains), await named.score(chains)];
      a.forEach((s, i) => s.stepProbs.forEach((p, j) => expect(Math.abs(p - b[i].stepProbs[j])).toBeLessThan(1e-6)));
    } finally {
      await Promise.all([prm.close(), named.close(), bare.close()]);
    }
  });
});
