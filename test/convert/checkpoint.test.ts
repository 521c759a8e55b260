// Reading checkpoints: config fields that would change the math are refused by name, a
// sharded F32 checkpoint converts to the same model as the single bf16 file, and block-wise
// quantization round-trips within its step size.
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Checkpoint, convert, dequantize, parseConfig, quantizeBlockwise, UnsupportedConfigError } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import { writeSafetensors } from '../../lib/testing/index.js';
import { checkpointsDir, describeWhen } from '../helpers/index.js';
import { hasCheckpoints, maxAbsDiff, NO_CHECKPOINTS, reference } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'prmkit-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const llama = {
  model_type: 'llama', architectures: ['LlamaForCausalLM'], vocab_size: 100, hidden_size: 32, intermediate_size: 64,
  num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 128,
};

describe('config.json', () => {
  it('reads the shape, GQA, rope scaling and biases', () => {
    const s = parseConfig({ ...llama, rope_parameters: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64, rope_theta: 5e5 } });
    expect(s).toMatchObject({ family: 'llama', hidden: 32, heads: 4, kvHeads: 2, headDim: 8, qkvBias: false, rope: { theta: 5e5, llama3: { factor: 8 } } });
    expect(parseConfig({ ...llama, model_type: 'qwen2' }).qkvBias).toBe(true);
    expect(parseConfig({ ...llama, attention_bias: true }).oBias).toBe(true);
    expect(parseConfig({ ...llama, model_type: 'mistral', sliding_window: 64 }).slidingWindow).toBe(64);
  });

  it('names the field it cannot honour', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ...llama, model_type: 'gpt2' }, /model_type "gpt2" is not supported/],
      [{ ...llama, hidden_act: 'gelu' }, /hidden_act 'gelu' is not supported/],
      [{ ...llama, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /rope_scaling\.rope_type 'yarn' is not supported/],
      [{ ...llama, num_key_value_heads: 3 }, /num_key_value_heads \(3\) must divide/],
      [{ ...llama, logits_soft_cap: 30 }, /logits_soft_cap \(30\) is not understood/],
      [{ ...llama, quantization_config: { bits: 4 } }, /quantization_config is set/],
      [{ ...llama, model_type: 'qwen2', use_sliding_window: true, sliding_window: 64 }, /use_sliding_window is true/],
    ];
    for (const [cfg, msg] of cases) {
      let err: unknown;
      try {
        parseConfig(cfg);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UnsupportedConfigError);
      expect((err as Error).message).toMatch(msg);
    }
  });
});

describe('block-wise quantization', () => {
  it('rounds to the nearest step, clips only where that lowers the block error, for 8 and 4 bits', () => {
    const N = 6;
    const K = 64;
    const w = Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 1.7) * (1 + (i % 5)) * (i % 31 === 0 ? 4 : 1));
    for (const bits of [8, 4] as const) {
      const qmax = bits === 4 ? 7 : 127;
      const q = quantizeBlockwise(w, N, K, bits, 32);
      expect(q.codes.length).toBe((N * 2 * (32 * bits)) / 8);
      const back = dequantize(q);
      for (let n = 0; n < N; n++)
        for (let b = 0; b < 2; b++) {
          const step = q.scales[n * 2 + b];
          let amax = 0;
          let err = 0;
          let plainErr = 0;
          for (let k = b * 32; k < b * 32 + 32; k++) amax = Math.max(amax, Math.abs(w[n * K + k]));
          const plain = amax / qmax;
          for (let k = b * 32; k < b * 32 + 32; k++) {
            const x = w[n * K + k];
            const y = back[n * K + k];
            // codes span [-(qmax + 1), qmax] steps: inside, the nearest step; outside, the end
            if (x >= -(qmax + 1.5) * step && x <= (qmax + 0.5) * step) expect(Math.abs(y - x)).toBeLessThanOrEqual(step / 2 + 1e-6);
            else expect(y).toBeCloseTo(x > 0 ? qmax * step : -(qmax + 1) * step, 5);
            err += (y - x) ** 2;
            plainErr += (Math.max(-qmax, Math.min(qmax, Math.round(x / plain))) * plain - x) ** 2;
          }
          expect(err).toBeLessThanOrEqual(plainErr * (1 + 1e-4) + 1e-12);
        }
    }
    expect(() => quantizeBlockwise(w, N, K, 4, 48)).toThrow(/multiple of the block size/);
  });
});

describeWhen(hasCheckpoints, 'checkpoint files', NO_CHECKPOINTS, () => {
  it('a sharded float32 checkpoint converts to the same model as the single bf16 file', async () => {
    const src = join(checkpointsDir, 'math-shepherd');
    const ck = Checkpoint.open(src);
    const names = [...ck.tensors.keys()];
    const sharded = join(dir, 'sharded');
    mkdirSync(sharded);
    const weightMap: Record<string, string> = {};
    const halves = [names.slice(0, names.length >> 1), names.slice(names.length >> 1)];
    halves.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(sharded, file), Object.fromEntries(part.map((n) => [n, { shape: ck.info(n).shape, data: ck.read(n) }])));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(join(sharded, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(sharded, f));
    expect(Checkpoint.open(sharded).info(names[0]).dtype).toBe('F32');

    const out = join(dir, 'sharded-out');
    const r = await convert({ input: sharded, output: out });
    expect(r.sourceBytes).toBe(2 * ck.bytes);
    const ref = reference('math-shepherd');
    const prm = await Prm.load({ model: out });
    try {
      const scores = await prm.score(ref.chains);
      expect(maxAbsDiff(scores.map((s) => s.stepProbs), ref.reference.map((x) => x.stepProbs))).toBeLessThanOrEqual(1e-4);
    } finally {
      await prm.close();
    }

    // a checkpoint missing a tensor is refused before the output is touched: the earlier
    // conversion there stays whole (a failure mid-write is test/convert/hostile.test.ts's)
    const partial = join(dir, 'partial');
    mkdirSync(partial);
    for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(src, f), join(partial, f));
    writeSafetensors(join(partial, 'model.safetensors'), Object.fromEntries(names.filter((n) => n !== 'model.norm.weight').map((n) => [n, { shape: ck.info(n).shape, data: ck.read(n) }])));
    const before = readdirSync(out).sort();
    await expect(convert({ input: partial, output: out, overwrite: true })).rejects.toThrow(/no tensor 'model\.norm\.weight'/);
    expect(readdirSync(out).sort()).toEqual(before);
    const again = await Prm.load({ model: out });
    await again.close();
  });

  it('a missing shard, a missing config or a non-checkpoint folder is a clear error', async () => {
    const broken = join(dir, 'broken');
    mkdirSync(broken);
    await expect(convert({ input: broken, output: join(dir, 'o1') })).rejects.toThrow(/has no config\.json/);
    writeFileSync(join(broken, 'config.json'), readFileSync(join(checkpointsDir, 'math-shepherd', 'config.json')));
    await expect(convert({ input: broken, output: join(dir, 'o2') })).rejects.toThrow(/has no model\.safetensors/);
    writeFileSync(join(broken, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { 'a.weight': 'model-00001-of-00009.safetensors' } }));
    await expect(convert({ input: broken, output: join(dir, 'o3') })).rejects.toThrow(/names model-00001-of-00009\.safetensors, which is missing/);
    await expect(convert({ input: broken, output: join(dir, 'o4'), dtype: 'int2' as never })).rejects.toThrow(/dtype must be one of/);
    await expect(convert({ input: broken, output: join(dir, 'o5'), kvcache: true } as never)).rejects.toThrow(/did you mean 'kvCache'/);
  });
});
