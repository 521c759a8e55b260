// bench:convert's int8 fidelity table: every shared random-weight checkpoint (PRMs, ORMs, the
// implicit PRM) converted to float32 and to int8 in the form the converter picks for this CPU,
// its 20 reference chains scored, against the published PyTorch recipe's values
// (reference.json) and against float32's picks. The same comparisons as the fidelity tests, here
// so that the table sits beside the speed it pays for; the tests hold the bounds.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const FAMILIES = {
  prm: ['qwen2.5-math-prm', 'math-shepherd', 'rlhflow', 'skywork-prm', 'trl-prm'],
  orm: ['qwen2.5-math-rm', 'skywork-reward'],
  implicit: ['eurus-prm'],
};

/** How often best-of-n over every n-subset picks the same chain by scores a and b. */
export function agreement(a, b, n = 4) {
  let same = 0;
  let total = 0;
  const idx = [];
  const argmax = (s) => idx.reduce((m, i) => (s[i] > s[m] ? i : m), idx[0]);
  const walk = (start) => {
    if (idx.length === n) {
      total++;
      if (argmax(a) === argmax(b)) same++;
      return;
    }
    for (let i = start; i < a.length; i++) {
      idx.push(i);
      walk(i + 1);
      idx.pop();
    }
  };
  walk(0);
  return same / total;
}

const maxDiff = (a, b) => a.reduce((m, row, i) => row.reduce((mm, p, j) => Math.max(mm, Math.abs(p - b[i][j])), m), 0);
const magnitude = (rows) => rows.reduce((m, row) => row.reduce((mm, q) => Math.max(mm, Math.abs(q)), m), 0);

/**
 * Rows { family, kind, form, f32, int8, scale, bestOf4 } for the checkpoints present in
 * `checkpoints`: f32 / int8 are the largest error against the reference (PRMs: |Δp| per step;
 * ORMs: |Δreward| over the reference rewards' range; implicit: |Δq| over max |q|).
 */
export async function int8Fidelity(root, checkpoints) {
  const dist = (p) => import(pathToFileURL(join(root, 'dist', p)).href);
  const { convert } = await dist('convert/index.js');
  const { Prm } = await dist('prm/index.js');
  const { Orm } = await dist('orm/index.js');
  const rows = [];
  const tmp = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-fidelity-'));
  try {
    for (const [kind, families] of Object.entries(FAMILIES)) {
      for (const family of families) {
        const dir = join(checkpoints, family);
        if (!existsSync(join(dir, 'reference.json'))) continue;
        const ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8'));
        const got = {};
        let form = '';
        for (const dtype of ['float32', 'int8']) {
          const out = join(tmp, `${family}-${dtype}`);
          const input = kind === 'implicit' ? { input: join(dir, 'policy'), reference: join(dir, 'reference') } : { input: dir };
          const r = await convert({ ...input, output: out, dtype });
          if (dtype === 'int8') form = r.int8?.form ?? '';
          if (kind === 'orm') {
            const orm = await Orm.load({ model: out });
            try {
              const s = await orm.score(ref.chains);
              got[dtype] = { values: [s.map((x) => x.reward)], scores: s.map((x) => x.reward) };
            } finally {
              await orm.close();
            }
          } else {
            const prm = await Prm.load({ model: out });
            try {
              const s = await prm.score(ref.chains, { aggregate: 'mean' });
              got[dtype] = { values: s.map((x) => (kind === 'implicit' ? x.stepRewards : x.stepProbs)), scores: s.map((x) => x.score) };
            } finally {
              await prm.close();
            }
          }
          rmSync(out, { recursive: true, force: true });
        }
        let want;
        let scale = 1;
        if (kind === 'orm') {
          const rewards = ref.reference.map((r) => r.reward);
          want = [rewards];
          scale = Math.max(...rewards) - Math.min(...rewards);
        } else {
          want = ref.reference.map((r) => (kind === 'implicit' ? r.stepRewards : r.stepProbs));
          if (kind === 'implicit') scale = magnitude(want);
        }
        rows.push({
          family, kind, form,
          f32: maxDiff(got.float32.values, want) / scale,
          int8: maxDiff(got.int8.values, want) / scale,
          scale,
          bestOf4: agreement(got.int8.scores, got.float32.scores),
        });
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return rows;
}

/** The table's lines: the PRM bound (0.02, 99 %) applies to every row, relative for ORMs and implicit PRMs. */
export function fidelityTable(rows) {
  const what = { prm: 'max |Δp| per step', orm: 'max |Δreward| / reward range', implicit: 'max |Δq| / max |q|' };
  const held = (r) => (r.int8 <= 0.02 && r.bestOf4 >= 0.99 ? 'yes' : `no (${r.int8 > 0.02 ? `error ${(r.int8 / 0.02).toFixed(2)}x the bound` : ''}${r.int8 > 0.02 && r.bestOf4 < 0.99 ? ', ' : ''}${r.bestOf4 < 0.99 ? `agreement ${(100 * (0.99 - r.bestOf4)).toFixed(1)} points short` : ''})`);
  return [
    '| checkpoint | measure | float32 | int8 | int8 form | best-of-4 = float32 | within 0.02 and 99 % |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.family} | ${what[r.kind]} | ${r.f32.toExponential(1)} | ${r.int8.toExponential(1)} | ${r.form || '-'} | ${(100 * r.bestOf4).toFixed(1)} % | ${held(r)} |`),
  ];
}
