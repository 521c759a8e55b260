// Converted outcome reward models against the rewards each family's published PyTorch recipe
// gives (reference.json, made from the same bf16 weights, one chain per forward pass): all 20
// chains in one orm.score call, per dtype. Head size 8 here, so the graphs use plain attention.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import type { ConvertDtype } from '../../lib/convert/index.js';
import { Orm } from '../../lib/orm/index.js';
import { checkpointsDir, describeWhen } from '../helpers/index.js';
import { ORM_FAMILIES as FAMILIES } from '../convert/helpers.js';
const TOLERANCE: Record<ConvertDtype, number> = { float32: 1e-4, float16: 2e-3, int8: 0.05, int4: 0.25 };

interface Reference {
  kind: string;
  chains: Array<{ id: string; problem: string; steps: string[] }>;
  reference: Array<{ id: string; reward: number; tokens: number }>;
}

const rows: string[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (rows.length > 0) console.log(['family | dtype | max |Δreward| | reference reward range', ...rows].join('\n'));
});

for (const family of FAMILIES) {
  const dir = join(checkpointsDir, family);
  describeWhen(existsSync(join(dir, 'reference.json')), `converted ${family} reproduces its PyTorch rewards`, `the reference checkpoint ${family} is not in ${checkpointsDir}; set PRMKIT_SHARED_DATA to the shared data directory`, () => {
    for (const dtype of ['float32', 'float16', 'int8', 'int4'] as const) {
      it(`${family} ${dtype}`, async () => {
        const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Reference;
        expect(ref.kind).toBe('orm');
        const out = join(mkdtempSync(join(tmpdir(), 'prmkit-orm-fidelity-')), 'out');
        dirs.push(join(out, '..'));
        const { manifest } = await convert({ input: dir, output: out, dtype });
        expect(manifest).toMatchObject({ kind: 'orm', format: family, attention: 'plain' });
        const orm = await Orm.load({ model: out });
        try {
          const scores = await orm.score(ref.chains);
          expect(scores.map((s) => s.id)).toEqual(ref.reference.map((r) => r.id));
          expect(scores.map((s) => s.tokens)).toEqual(ref.reference.map((r) => r.tokens));
          // a raw reward model defines no probability
          for (const s of scores) expect(s).not.toHaveProperty('probability');
          const err = Math.max(...scores.map((s, i) => Math.abs(s.reward - ref.reference[i].reward)));
          const want = ref.reference.map((r) => r.reward);
          rows.push(`${family} | ${dtype} | ${err.toExponential(2)} | [${Math.min(...want).toFixed(3)}, ${Math.max(...want).toFixed(3)}]`);
          expect(err).toBeLessThanOrEqual(TOLERANCE[dtype]);
          if (dtype === 'float32' || dtype === 'float16') {
            // the chains rank as the reference's rewards rank them
            const order = (xs: readonly number[]) => xs.map((_, i) => i).sort((a, b) => xs[b] - xs[a]);
            expect(order(await orm.chainScores(ref.chains))).toEqual(order(want));
          }
        } finally {
          await orm.close();
        }
      });
    }
  });
}
