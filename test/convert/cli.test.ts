// `prmkit convert` and the converted folder from the command line: the folder is all that
// score/serve need, bad flags are usage errors, an earlier conversion is never overwritten
// without --force, and a folder of someone else's files is never written into.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { Prm } from '../../lib/prm/index.js';
import { checkpointsDir, describeWhen } from '../helpers/index.js';
import { prmkit } from '../cli/helpers.js';
import { hasCheckpoints, hasFamily, NO_CHECKPOINTS, noFamily, reference } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-convert-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shepherd = join(checkpointsDir, 'math-shepherd');

describeWhen(hasCheckpoints, 'prmkit convert', NO_CHECKPOINTS, () => {
  it('converts, and score -m OUT needs no other model flag', async () => {
    const out = join(dir, 'shepherd');
    const r = await prmkit(['convert', shepherd, out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/converted MistralForCausalLM \(math-shepherd, lm-labels head, float32\)/);
    expect(r.stdout).toMatch(/peak RSS \d+ MiB/);
    const manifest = JSON.parse(readFileSync(join(out, 'prmkit.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'math-shepherd', dtype: 'float32', contextLength: 4096, head: { kind: 'lm-labels', outputs: 2, labels: [{ text: '+', id: 648 }, { text: '-', id: 387 }] } });

    const ref = reference('math-shepherd');
    const input = ref.chains.slice(0, 3).map((c) => JSON.stringify(c)).join('\n') + '\n';
    const s = await prmkit(['score', '-m', out], input);
    expect(s.stderr).not.toMatch(/error|needs/i);
    expect(s.code).toBe(0);
    const rows = s.stdout.trim().split('\n').map((l) => JSON.parse(l) as { stepProbs: number[] });
    rows.forEach((row, i) => row.stepProbs.forEach((p, j) => expect(Math.abs(p - ref.reference[i].stepProbs[j])).toBeLessThan(1e-4)));
  });

  it('refuses to overwrite without --force, and never writes into a folder of other files', async () => {
    const out = join(dir, 'twice');
    expect((await prmkit(['convert', shepherd, out, '--dtype', 'int8'])).code).toBe(0);
    const again = await prmkit(['convert', shepherd, out]);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not empty; pass overwrite \(--force\)/);
    expect(JSON.parse(readFileSync(join(out, 'prmkit.json'), 'utf8')).dtype).toBe('int8');
    expect((await prmkit(['convert', shepherd, out, '--force', '--dtype', 'float16'])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(out, 'prmkit.json'), 'utf8')).dtype).toBe('float16');

    const foreign = join(dir, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'mine');
    const f = await prmkit(['convert', shepherd, foreign, '--force']);
    expect(f.code).toBe(1);
    expect(f.stderr).toMatch(/not a prmkit conversion; refusing to write into it/);
    expect(readFileSync(join(foreign, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('bad flags are usage errors naming the flag', async () => {
    const bad = await prmkit(['convert', shepherd, join(dir, 'x'), '--dtype', 'int3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--dtype must be one of 'float32', 'float16', 'int8', 'int4'/);
    expect((await prmkit(['convert', shepherd])).code).toBe(2);
    const attention = await prmkit(['convert', shepherd, join(dir, 'y'), '--kv-cache', '--attention', 'flash']);
    expect(attention.code).toBe(2);
    expect(attention.stderr).toMatch(/--attention/);
    const help = await prmkit(['convert', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('prmkit convert HF_DIR OUT_DIR');
  });

  it('a converted folder loads with Prm.load({ model }) alone, and its options still apply', async () => {
    const out = join(dir, 'shepherd');
    const prm = await Prm.load({ model: out });
    try {
      expect(prm.format.name).toBe('math-shepherd');
      expect(prm.maxContext).toBe(4096);
      await expect(Prm.load({ model: out, chunking: { padding: 'left' } })).rejects.toThrow(/right-padded rows/);
      await expect(Prm.load({ model: out, format: 'qwen2.5-math-prm' })).rejects.toThrow(/reads a score head, but the converted model \(math-shepherd\) has a lm-labels head/);
    } finally {
      await prm.close();
    }
  });
});

describeWhen(hasFamily('trl-prm'), 'prmkit convert, trl format', noFamily('trl-prm'), () => {
  const trl = join(checkpointsDir, 'trl-prm');
  it('a TRL token classifier converts as trl with no flag; --separator and --correct-class go into the manifest', async () => {
    const out = join(dir, 'trl');
    const r = await prmkit(['convert', trl, out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/converted Qwen2ForTokenClassification \(trl, token-classification head, float32\)/);
    // head size 8: onnxruntime's GroupQueryAttention cannot run it, so plain attention, said why
    expect(r.stdout).toMatch(/attention: plain \(onnxruntime's GroupQueryAttention with rotary positions needs a head size that is a multiple of 16; this model's is 8\)/);
    const manifest = JSON.parse(readFileSync(join(out, 'prmkit.json'), 'utf8'));
    expect(manifest).toMatchObject({ format: 'trl', formatOptions: { separator: '\n', positive: 1 }, attention: 'plain', head: { kind: 'token-classification', outputs: 2 } });
    const ref = reference('trl-prm');
    const input = ref.chains.slice(0, 3).map((c) => JSON.stringify(c)).join('\n') + '\n';
    const s = await prmkit(['score', '-m', out], input);
    expect(s.code).toBe(0);
    const rows = s.stdout.trim().split('\n').map((l) => JSON.parse(l) as { stepProbs: number[] });
    rows.forEach((row, i) => row.stepProbs.forEach((p, j) => expect(Math.abs(p - ref.reference[i].stepProbs[j])).toBeLessThan(1e-4)));

    // the other class read as correct: every step probability is the complement
    const other = join(dir, 'trl-class0');
    expect((await prmkit(['convert', trl, other, '--format', 'trl', '--correct-class', '0'])).code).toBe(0);
    const flipped = await prmkit(['score', '-m', other], input);
    const frows = flipped.stdout.trim().split('\n').map((l) => JSON.parse(l) as { stepProbs: number[] });
    frows.forEach((row, i) => row.stepProbs.forEach((p, j) => expect(Math.abs(1 - p - ref.reference[i].stepProbs[j])).toBeLessThan(1e-4)));

    const sep = join(dir, 'trl-sep');
    expect((await prmkit(['convert', trl, sep, '--separator', '\\n\\n'])).code).toBe(0);
    expect(JSON.parse(readFileSync(join(sep, 'prmkit.json'), 'utf8')).formatOptions).toEqual({ separator: '\n\n', positive: 1 });
    const prm = await Prm.load({ model: sep });
    try {
      expect(prm.format.separator).toBe(JSON.stringify('\n\n'));
      const enc = prm.encode([{ problem: 'p', steps: ['a', 'b'] }]);
      const ids = Array.from(enc.inputIds[0]);
      const nn = prm.tokenizer.encode('\n\n');
      expect(Array.from(enc.boundaries.positions).map((p) => ids[p])).toEqual([nn[nn.length - 1], nn[nn.length - 1]]);
    } finally {
      await prm.close();
    }
  });

  it('trl settings on another format, or a class the head does not have, are refused', async () => {
    const bad = await prmkit(['convert', trl, join(dir, 'trl-bad'), '--correct-class', '2']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/positive must be an integer in \[0, 1\]/);
    const other = await prmkit(['convert', shepherd, join(dir, 'shepherd-sep'), '--separator', 'x']);
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/separator and positive set the trl format; this conversion's format is math-shepherd/);
  });
});
