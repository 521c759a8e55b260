// The converter on outcome reward model checkpoints: each architecture detected as an ORM with
// its format, the manifest saying kind 'orm', and the refusals that keep a PRM format off an
// ORM checkpoint (and an ORM format off a PRM's), before anything is written.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { readManifest } from '../../lib/model/manifest.js';
import { createTinyCheckpoint } from '../../lib/testing/index.js';
import { cleanup, tempDir, tinyFolder } from './helpers.js';

afterAll(cleanup);

describe('ORM checkpoints convert as ORMs', () => {
  it('Qwen2ForRewardModel → qwen2.5-math-rm, the score MLP in the graph', async () => {
    const { manifest, folder } = await tinyFolder('qwen2.5-math-rm');
    expect(manifest).toMatchObject({ kind: 'orm', format: 'qwen2.5-math-rm', head: { kind: 'prm-mlp', outputs: 1 } });
    expect(readManifest(folder)).toEqual(manifest);
  });

  it('LlamaForSequenceClassification with one label → skywork-reward', async () => {
    const { manifest } = await tinyFolder('skywork-reward');
    expect(manifest).toMatchObject({ kind: 'orm', format: 'skywork-reward', head: { kind: 'token-classification', outputs: 1 } });
  });

  it('another one-label classifier needs its format named, and takes any ORM format', async () => {
    const dir = join(tempDir(), 'hf');
    createTinyCheckpoint({ dir, format: 'plain-orm', layers: 1, hidden: 16 });
    await expect(convert({ input: dir, output: join(tempDir(), 'out') })).rejects.toThrow(
      /a Qwen2ForSequenceClassification checkpoint \(an outcome reward model\) needs its format \(--format\): one of qwen2\.5-math-rm, skywork-reward, plain-orm/,
    );
    const r = await convert({ input: dir, output: join(tempDir(), 'out'), format: 'plain-orm' });
    expect(r.manifest).toMatchObject({ kind: 'orm', format: 'plain-orm' });
  });

  it('PRM checkpoints say kind prm', async () => {
    expect((await tinyFolder('skywork')).manifest.kind).toBe('prm');
  });

  it('head size 8 gets plain attention (GroupQueryAttention needs a multiple of 16)', async () => {
    const { manifest } = await tinyFolder('skywork-reward', { hidden: 32, heads: 4, kvHeads: 2 });
    expect(manifest).toMatchObject({ attention: 'plain', decoder: { headDim: 8 } });
    const wide = await tinyFolder('skywork-reward', { hidden: 32, heads: 2 });
    expect(wide.manifest).toMatchObject({ attention: 'gqa', decoder: { headDim: 16 } });
  });
});

describe('formats and heads that do not fit are refused before anything is written', () => {
  it('a PRM format for an ORM checkpoint', async () => {
    const dir = join(tempDir(), 'hf');
    createTinyCheckpoint({ dir, format: 'qwen2.5-math-rm', layers: 1, hidden: 16 });
    const out = join(tempDir(), 'out');
    await expect(convert({ input: dir, output: out, format: 'qwen2.5-math-prm' })).rejects.toThrow(
      /a Qwen2ForRewardModel checkpoint is an outcome reward model \(one score per solution\), but format qwen2\.5-math-prm is a PRM format; pass an ORM format/,
    );
    expect(existsSync(out)).toBe(false);
  });

  it('an ORM format for a PRM head with two classes', async () => {
    const dir = join(tempDir(), 'hf');
    createTinyCheckpoint({ dir, format: 'trl', layers: 1, hidden: 16 });
    await expect(convert({ input: dir, output: join(tempDir(), 'out'), format: 'plain-orm' })).rejects.toThrow(/an outcome reward model's head gives one value, but 'score\.weight' has 2 rows/);
  });

  it('a sequence classifier with several labels is not a reward model', async () => {
    const dir = join(tempDir(), 'hf');
    createTinyCheckpoint({ dir, format: 'trl', layers: 1, hidden: 16 });
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, architectures: ['Qwen2ForSequenceClassification'] }));
    await expect(convert({ input: dir, output: join(tempDir(), 'out') })).rejects.toThrow(/has 2 rows \(a classifier with several labels is not a reward model\)/);
  });

  it('trl settings for an ORM', async () => {
    const dir = join(tempDir(), 'hf');
    createTinyCheckpoint({ dir, format: 'skywork-reward', layers: 1, hidden: 16 });
    await expect(convert({ input: dir, output: join(tempDir(), 'out'), separator: '\n' })).rejects.toThrow(/separator and positive set the trl format; this checkpoint is an outcome reward model/);
  });
});
