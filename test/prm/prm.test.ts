// Prm on the tiny model: heads from files, initializers or the graph; results, rerank,
// chunking, workers, context limits and argument errors.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxBackbone } from '../../lib/backbones/onnx/backbone.js';
import { probeProviders } from '../../lib/backbones/onnx/providers.js';
import { readOnnxInitializer } from '../../lib/model/onnx-initializer.js';
import { Prm } from '../../lib/prm/index.js';
import { writeSafetensors } from '../../lib/testing/index.js';
import { chains, cleanup, tiny } from './helpers.js';
import { itWhen } from '../helpers/index.js';

afterAll(() => cleanup());

/** The ONNX backbone's description (what `prm.backend` says of a local model). */
function onnx(prm: Prm) {
  const b = prm.backend;
  if (b.kind !== 'onnx') throw new Error(`expected an onnx backend, got ${b.kind}`);
  return b;
}

function close(a: number[], b: number[], tol = 1e-5) {
  expect(a.length).toBe(b.length);
  a.forEach((x, i) => expect(Math.abs(x - b[i]), `index ${i}: ${x} vs ${b[i]}`).toBeLessThan(tol));
}

describe('heads', () => {
  for (const format of ['qwen2.5-math-prm', 'math-shepherd', 'skywork'] as const) {
    it(`${format}: a head applied by the kernels on last_hidden_state = the same head in the graph`, async () => {
      const opts = { layers: 2, hidden: 32, seed: 3, format };
      const h = await tiny({ ...opts, output: 'hidden' });
      const l = await tiny({ ...opts, output: 'logits' });
      const a = await Prm.load({ model: h.model, tokenizer: h.tokenizer, head: h.head, format, workers: { threads: 1 } });
      const b = await Prm.load({ model: l.model, tokenizer: l.tokenizer, format, workers: { threads: 1 } });
      try {
        expect(onnx(a).output).toBe('last_hidden_state');
        expect(onnx(b).output).toBe('logits');
        expect(onnx(a).head).toBe('linear');
        expect(onnx(b).head).toBe('logits');
        const items = chains(5, 4);
        const ra = await a.score(items);
        const rb = await b.score(items);
        ra.forEach((r, i) => close(r.stepProbs, rb[i].stepProbs));
        // the probabilities are not degenerate
        const all = ra.flatMap((r) => r.stepProbs);
        expect(Math.max(...all) - Math.min(...all)).toBeGreaterThan(0.05);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }

  it('head weights from an ONNX initializer by name (a tied LM head), with label rows picked', async () => {
    const m = await tiny({ layers: 1, hidden: 16, output: 'hidden' });
    const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: { initializer: 'model.embed_tokens.weight' }, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      // the same two rows ('+', '-') cut out by hand into a file: the same head, the same scores
      const emb = readOnnxInitializer(m.model, 'model.embed_tokens.weight');
      const rows = ['+', '-'].map((t) => prm.tokenizer.encode(t)[0]);
      const file = join(mkdtempSync(join(tmpdir(), 'prmkit-head-')), 'rows.safetensors');
      writeSafetensors(file, { 'rows.weight': { shape: [2, 16], data: Float32Array.from(rows.flatMap((id) => Array.from(emb.data.subarray(id * 16, id * 16 + 16)))) } });
      const byHand = await Prm.load({ model: m.model, tokenizer: m.tokenizer, head: file, format: 'math-shepherd', workers: { threads: 1 } });
      try {
        const items = chains(3, 3);
        const [got, want] = [await prm.score(items), await byHand.score(items)];
        got.forEach((r, i) => expect(r.stepProbs).toEqual(want[i].stepProbs));
        expect(got[0].stepProbs).toHaveLength(3);
      } finally {
        await byHand.close();
      }
    } finally {
      await prm.close();
    }
  });

  it('clear errors for a missing or mismatched head', async () => {
    const m = await tiny({ layers: 1, hidden: 16, output: 'hidden', format: 'skywork' });
    await expect(Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'skywork' })).rejects.toThrow(/outputs last_hidden_state: pass head/);
    await expect(Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm', head: m.head })).rejects.toThrow(/has 1 outputs, the format's head has 2/);
    await expect(Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'skywork', head: { initializer: 'nope' } })).rejects.toThrow(/no initializer 'nope'/);
    await expect(Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'skywork', head: '/no/such.safetensors' })).rejects.toThrow(/does not exist/);
  });
});

describe('Prm', () => {
  let prm: Prm;
  let model: Awaited<ReturnType<typeof tiny>>;
  beforeAll(async () => {
    model = await tiny({ layers: 2, hidden: 32, seed: 9, output: 'hidden', maxPositions: 256 });
    prm = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { threads: 1 } });
  });
  afterAll(async () => prm?.close());

  it('aggregates and first errors follow the step probabilities', async () => {
    const items = chains(6, 2);
    const probs = (await prm.score(items)).map((r) => r.stepProbs);
    const by = async (aggregate: 'prod' | 'min' | 'last' | 'mean' | 'geomean') => (await prm.score(items, { aggregate })).map((r) => r.score);
    const expectClose = (got: number[], want: number[]) => got.forEach((g, i) => expect(Math.abs(g - want[i])).toBeLessThan(1e-5));
    expectClose(await by('prod'), probs.map((p) => p.reduce((a, b) => a * b, 1)));
    expectClose(await by('min'), probs.map((p) => Math.min(...p)));
    expectClose(await by('last'), probs.map((p) => p[p.length - 1]));
    expectClose(await by('mean'), probs.map((p) => p.reduce((a, b) => a + b, 0) / p.length));
    expectClose(await by('geomean'), probs.map((p) => Math.exp(p.reduce((a, b) => a + Math.log(b), 0) / p.length)));
    const fe = (await prm.score(items, { errorThreshold: 0.6 })).map((r) => r.firstError);
    expect(fe).toEqual(probs.map((p) => p.findIndex((x) => x < 0.6)));
    // the format's own aggregation (Math-Shepherd: min) is the default
    expectClose((await prm.score(items)).map((r) => r.score), probs.map((p) => Math.min(...p)));
  });

  it('step log-probabilities come with the probabilities: the backbone\'s float32 logs, exp gives stepProbs', async () => {
    const scored = await prm.score(chains(4, 3));
    for (const r of scored) {
      expect(r.stepLogProbs).toHaveLength(r.stepProbs.length);
      r.stepLogProbs.forEach((lp, k) => {
        expect(lp).toBeLessThanOrEqual(0);
        expect(Math.fround(lp)).toBe(lp);
        expect(Math.exp(lp)).toBe(r.stepProbs[k]);
      });
    }
  });

  it('an empty chain scores NaN with firstError -1; ids are carried through', async () => {
    const [e, f] = await prm.score([{ problem: 'q', steps: [], id: 'empty' }, { problem: 'q', steps: ['x'], id: 'one' }]);
    expect(e.stepProbs).toEqual([]);
    expect(Number.isNaN(e.score)).toBe(true);
    expect(e.firstError).toBe(-1);
    expect(e.id).toBe('empty');
    expect(f.id).toBe('one');
  });

  it('rerank: best first, topN, consistent with score', async () => {
    const cands = chains(8, 5).map((c) => c.steps);
    const ranked = await prm.rerank('What is 6 * 7?', cands, { aggregate: 'prod', topN: 4 });
    expect(ranked).toHaveLength(4);
    const scores = (await prm.score(cands.map((steps) => ({ problem: 'What is 6 * 7?', steps })), { aggregate: 'prod' })).map((r) => r.score);
    const best = scores.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 4).map(([, i]) => i);
    expect(ranked.map((r) => r.index)).toEqual(best);
    for (let i = 1; i < ranked.length; i++) expect(ranked[i - 1].score).toBeGreaterThanOrEqual(ranked[i].score);
    await expect(prm.rerank('p', cands, { topN: -1 })).rejects.toThrow(RangeError);
  });

  it('memory-bounded chunks and several workers give the same scores', async () => {
    const items = chains(12, 6);
    const want = await prm.score(items);
    const small = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { count: 2, threads: 1 }, chunking: { maxOutputBytes: 32 * 4 * 60 } });
    try {
      const got = await small.score(items);
      got.forEach((r, i) => close(r.stepProbs, want[i].stepProbs));
      expect(small.stats.calls).toBeGreaterThan(6);
      expect(onnx(small).workers).toBe(2);
    } finally {
      await small.close();
    }
  });

  it('the backbone runs on worker threads; the event loop keeps turning meanwhile', async () => {
    const { threadId } = await import('node:worker_threads');
    const ids = onnx(prm).threadIds;
    expect(ids).toHaveLength(1);
    expect(ids.every((t) => Number.isInteger(t) && t !== threadId)).toBe(true);
    let ticks = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      ticks++;
      setImmediate(spin);
    };
    const p = prm.score(chains(150, 8)).finally(() => (done = true));
    setImmediate(spin);
    await p;
    expect(ticks).toBeGreaterThan(1);
  });

  it('context limit: from the tokenizer config, clear error or truncate + flag', async () => {
    expect(prm.maxContext).toBe(256);
    const long = { problem: 'long', steps: Array.from({ length: 10 }, (_, k) => `step number ${k} is here, and it is long enough`) };
    await expect(prm.score([long])).rejects.toThrow(/items\[0\] is \d+ tokens, over maxContext 256/);
    const t = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { threads: 1 }, overflow: 'truncate' });
    try {
      const [r] = await t.score([long]);
      expect(r.truncated).toBe(true);
      expect(r.stepProbs.length).toBeGreaterThan(0);
      expect(r.stepProbs.length).toBeLessThan(10);
      expect(r.tokens).toBe(256);
      const [ref] = await prm.score([{ problem: 'long', steps: long.steps.slice(0, r.stepProbs.length) }]);
      close(r.stepProbs, ref.stepProbs);
    } finally {
      await t.close();
    }
  });

  it('countTokens matches the encoding', () => {
    const items = chains(3, 1);
    expect(prm.countTokens(items)).toEqual(prm.encode(items).inputIds.map((r) => r.length));
  });

  it('bad arguments are refused before any work', async () => {
    const base = { model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd' as const };
    await expect(Prm.load({ ...base, workers: 0 })).rejects.toThrow(/options\.workers must be an integer/);
    await expect(Prm.load({ ...base, workers: { count: 0 } })).rejects.toThrow(/options\.workers\.count must be an integer/);
    await expect(Prm.load({ ...base, workers: { threads: -1 } })).rejects.toThrow(/options\.workers\.threads must be an integer/);
    await expect(Prm.load({ ...base, workers: { thread: 1 } as never })).rejects.toThrow(/options\.workers\.thread is not an option; did you mean 'threads'/);
    await expect(Prm.load({ ...base, chunking: { maxOutputBytes: 0 } })).rejects.toThrow(/options\.chunking\.maxOutputBytes must be a positive integer/);
    await expect(Prm.load({ ...base, chunking: { maxPadFraction: -1 } })).rejects.toThrow(/options\.chunking\.maxPadFraction/);
    await expect(Prm.load({ ...base, chunking: { padding: 'middle' as 'left' } })).rejects.toThrow(/options\.chunking\.padding must be one of/);
    // options that moved into a group say where they went
    await expect(Prm.load({ ...base, threads: 1 } as never)).rejects.toThrow(/options\.threads is not an option; did you mean options\.workers\.threads\?/);
    await expect(Prm.load({ ...base, maxBatchTokens: 1 } as never)).rejects.toThrow(/did you mean options\.chunking\.maxPaddedTokens\?/);
    await expect(Prm.load({ ...base, tokenizer: { path: model.tokenizer, added: [] } as never })).rejects.toThrow(/options\.tokenizer\.added is not an option; did you mean 'addedTokens'/);
    await expect(Prm.load({ ...base, format: 'other' as 'skywork' })).rejects.toThrow(/format must be one of/);
    await expect(Prm.load({ ...base, model: '/no/model.onnx' })).rejects.toThrow(/does not exist/);
    await expect(Prm.load({ ...base, output: 'logits' })).rejects.toThrow(/no output 'logits'|no logits output|has no 'logits'/);
    await expect(Prm.load(null as never)).rejects.toThrow(TypeError);
    await expect(prm.score([{ problem: 'q', steps: ['a'] }], { aggregate: 'max' as 'min' })).rejects.toThrow(/aggregate must be one of/);
    await expect(prm.score([{ problem: 'q', steps: ['a'] }], { errorThreshold: 2 })).rejects.toThrow(RangeError);
    await expect(prm.score('x' as never)).rejects.toThrow(/items must be an array/);
    await expect(prm.classifyTokens([[1, -2]])).rejects.toThrow(/non-negative integer token ids/);
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(prm.score(chains(2, 1), { signal: ac.signal })).rejects.toThrow(/stop now/);
  });

  it('errors in a large batch name the item by its index in the whole batch', async () => {
    const items = chains(50, 3);
    items[40] = { problem: 'q', steps: ['fine', 'has the tag ки inside'] };
    await expect(prm.score(items)).rejects.toThrow(/items\[40\]\.steps\[1\] contains "ки"/);
    const big = await prm.score(chains(70, 4));
    const alone = await prm.score([chains(70, 4)[65]]);
    close(big[65].stepProbs, alone[0].stepProbs);
  });

  it('a failing backbone call rejects with the runtime error and leaves the Prm usable', async () => {
    // out-of-vocabulary ids reach onnxruntime, which refuses them: the error comes back, nothing crashes
    await expect(prm.classifyTokens([[1, 99999]])).rejects.toThrow(/onnx backbone:/);
    const [r] = await prm.score([{ problem: 'q', steps: ['a'] }]);
    expect(r.stepProbs).toHaveLength(1);
  });

  it('the backbone refuses malformed forward requests with the field named', async () => {
    const bb = await OnnxBackbone.load(model.model, { threads: 1 });
    try {
      await expect(bb.forward({ B: 1, T: 5, P: 0, ids: new Int32Array(3), mask: new Int32Array(5), positions: new Int32Array(5), output: 'last_hidden_state' })).rejects.toThrow(/ids must be an Int32Array of B x T = 5/);
      await expect(bb.forward({ B: 1, T: 1, P: 0, ids: new Int32Array(1), mask: new Int32Array(1), positions: new Int32Array(1), output: 'nope' })).rejects.toThrow(/no output 'nope'/);
      const ok = await bb.forward({ B: 1, T: 2, P: 0, ids: Int32Array.of(1, 2), mask: Int32Array.of(1, 1), positions: Int32Array.of(0, 1), output: 'last_hidden_state' });
      expect(ok.dims).toEqual([1, 2, 32]);
    } finally {
      await bb.close();
    }
  });

  // one of the two runs; the other says why it was skipped
  const cudaInstalled = probeProviders('auto').providers[0] === 'cuda';
  itWhen(cudaInstalled, 'asking for cuda with the CUDA provider installed runs on cuda', "onnxruntime-node's CUDA provider is not installed", async () => {
    const p = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { executionProvider: 'cuda' } });
    try {
      expect(onnx(p).provider).toBe('cuda');
    } finally {
      await p.close();
    }
  });

  itWhen(!cudaInstalled, 'asking for cuda without the CUDA provider installed fails clearly', "onnxruntime-node's CUDA provider is installed", async () => {
    await expect(Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { executionProvider: 'cuda' } })).rejects.toThrow(/CUDA provider is not installed/);
  });

  it('a closed Prm refuses work', async () => {
    const p = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { threads: 1 } });
    await p.close();
    await expect(p.score([{ problem: 'q', steps: ['a'] }])).rejects.toThrow(/is closed/);
  });
});

describe('createTinyModel', () => {
  it('writes an ONNX decoder with Hugging Face I/O names, deterministically from the seed', async () => {
    const a = await tiny({ seed: 4, kvCache: true, layers: 3, hidden: 32, attention: 'plain' });
    const b = await tiny({ seed: 4, kvCache: true, layers: 3, hidden: 32, attention: 'plain' });
    const c = await tiny({ seed: 5, kvCache: true, layers: 3, hidden: 32, attention: 'plain' });
    expect(readFileSync(a.model).equals(readFileSync(b.model))).toBe(true);
    expect(readFileSync(a.model).equals(readFileSync(c.model))).toBe(false);
    const prm = await Prm.load({ model: a.model, tokenizer: a.tokenizer, head: a.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      const info = onnx(prm);
      expect(info.inputNames).toEqual(['input_ids', 'attention_mask', 'position_ids', ...[0, 1, 2].flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`])]);
      expect(info.outputNames).toEqual(['last_hidden_state', ...[0, 1, 2].flatMap((i) => [`present.${i}.key`, `present.${i}.value`])]);
      expect(info.kv).toEqual({ layers: 3, kvHeads: 2, headDim: 16, type: 'float32', attention: 'plain' });
      expect(info.provider).toBe('cpu');
      expect(info.providerNote).toMatch(/cpu|cuda/);
    } finally {
      await prm.close();
    }
    // GroupQueryAttention with past keys/values reads positions from the mask's length: no position_ids
    const g = await tiny({ seed: 4, kvCache: true, layers: 3, hidden: 32 });
    const gp = await Prm.load({ model: g.model, tokenizer: g.tokenizer, head: g.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      expect(onnx(gp).inputNames).toEqual(['input_ids', 'attention_mask', ...[0, 1, 2].flatMap((i) => [`past_key_values.${i}.key`, `past_key_values.${i}.value`])]);
      expect(onnx(gp).kv?.attention).toBe('gqa');
    } finally {
      await gp.close();
    }
    await expect(tiny({ hidden: 30, heads: 4 })).rejects.toThrow(/divisible/);
    await expect(tiny({ output: 'both' as 'hidden' })).rejects.toThrow(/output must be/);
  });
});

describe('float16 models', () => {
  it('a half-precision export (output and KV cache in float16) scores like the float32 one', async () => {
    const opts = { layers: 2, hidden: 32, seed: 21, kvCache: true } as const;
    const f32 = await tiny({ ...opts });
    const f16 = await tiny({ ...opts, dtype: 'float16' });
    const a = await Prm.load({ model: f32.model, tokenizer: f32.tokenizer, head: f32.head, format: 'math-shepherd', workers: { threads: 1 } });
    const b = await Prm.load({ model: f16.model, tokenizer: f16.tokenizer, head: f16.head, format: 'math-shepherd', workers: { threads: 1 } });
    try {
      expect(onnx(b).kv?.type).toBe('float16');
      const items = chains(5, 12);
      const ra = await a.score(items);
      const rb = await b.score(items);
      ra.forEach((r, i) => close(r.stepProbs, rb[i].stepProbs, 5e-3));
      // and the fp16 KV cache path matches fp16 whole-chain scoring
      const s = await b.session({ problem: items[0].problem, steps: items[0].steps.slice(0, 1) });
      const [inc] = await s.score([items[0].steps.slice(1)]);
      close(inc.stepProbs, rb[0].stepProbs, 1e-3);
      const cls = await b.classifyTokens(['a b ки']);
      expect(cls[0].probs[0]).toHaveLength(2);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
