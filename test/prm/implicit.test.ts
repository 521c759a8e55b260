// Implicit PRMs on two tiny causal LMs (seeded, the same tokenizer): converted with a
// reference into one folder both ways (the native LM-head kernel over hidden states, and
// log-softmax inside the graph), loaded by Prm.load({ model }) alone. The two ways are two
// independent computations of each token's log-probability (the kernel's streamed
// log-sum-exp, onnxruntime's ReduceLogSumExp over the full logits) and must agree; the
// rewards' algebra (cumulative vs per step, beta, aggregates, first error, ranking) is checked
// against the per-step values; option and input errors come before any work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { convert } from '../../lib/convert/index.js';
import { Prm } from '../../lib/prm/index.js';
import type { PrmScore } from '../../lib/prm/index.js';
import { createTinyCheckpoint } from '../../lib/testing/tiny-checkpoint.js';
import { chains, cleanup, tempDir } from './helpers.js';

let kernelDir: string;
let graphDir: string;
let prm: Prm;
const items = chains(9, 7);

beforeAll(async () => {
  const root = tempDir();
  const policy = join(root, 'policy');
  const reference = join(root, 'reference');
  createTinyCheckpoint({ dir: policy, format: 'eurus-prm', seed: 3, hidden: 32, layers: 2, heads: 2 });
  createTinyCheckpoint({ dir: reference, format: 'eurus-prm', seed: 4, hidden: 32, layers: 2, heads: 2 });
  kernelDir = join(root, 'kernel');
  graphDir = join(root, 'graph');
  mkdirSync(kernelDir);
  await convert({ input: policy, reference, output: kernelDir, overwrite: true });
  await convert({ input: policy, reference, output: graphDir, logProbs: 'graph' });
  prm = await Prm.load({ model: kernelDir });
}, 120_000);

afterAll(async () => {
  await prm?.close();
  cleanup();
});

const rel = (a: number[][], b: number[][]) => {
  let err = 0;
  let mag = 0;
  a.forEach((r, i) => r.forEach((x, k) => ((err = Math.max(err, Math.abs(x - b[i][k]))), (mag = Math.max(mag, Math.abs(b[i][k]))))));
  return err / mag;
};
const rewardsOf = (s: PrmScore[]) => s.map((x) => x.stepRewards!);

describe('an implicit PRM folder', () => {
  it('loads from the folder alone and says what it is', () => {
    expect(prm.format.name).toBe('eurus-prm');
    expect(prm.implicit).toEqual({ beta: 0.001, rewards: 'cumulative' });
    expect(prm.backend).toMatchObject({ kind: 'implicit', logProbs: 'kernel', kvCache: false });
    expect(prm.defaultAggregate).toBe('min');
  });

  it('the native kernel and the in-graph log-softmax give the same rewards', async () => {
    const viaKernel = await prm.score(items);
    const g = await Prm.load({ model: graphDir });
    try {
      expect(g.backend).toMatchObject({ kind: 'implicit', logProbs: 'graph' });
      const viaGraph = await g.score(items);
      expect(rel(rewardsOf(viaKernel), rewardsOf(viaGraph))).toBeLessThan(1e-4);
      expect(viaKernel.map((s) => s.tokens)).toEqual(viaGraph.map((s) => s.tokens));
    } finally {
      await g.close();
    }
  });

  it('results: rewards per step, no probabilities; a chain without steps scores NaN', async () => {
    const [a, empty] = await prm.score([items[0], { problem: 'nothing yet', steps: [] }]);
    expect(a.stepRewards).toHaveLength(items[0].steps.length);
    expect(a.stepProbs).toEqual([]);
    expect(a.stepLogProbs).toEqual([]);
    expect(a.stepRewards!.every(Number.isFinite)).toBe(true);
    expect(empty.stepRewards).toEqual([]);
    expect(empty.score).toBeNaN();
    expect(empty.firstError).toBe(-1);
  });

  it('per-step rewards are the differences of the cumulative ones; beta scales both', async () => {
    const cum = await prm.score(items);
    const step = await prm.score(items, { rewards: 'step', beta: 0.5 });
    cum.forEach((c, i) => {
      const q = c.stepRewards!;
      step[i].stepRewards!.forEach((d, k) => expect(d).toBeCloseTo((q[k] - (k > 0 ? q[k - 1] : 0)) * 500, 6));
    });
  });

  it('aggregates are taken over the rewards: min (the default), last, mean', async () => {
    const byMin = await prm.score(items);
    const byLast = await prm.score(items, { aggregate: 'last' });
    const byMean = await prm.score(items, { aggregate: 'mean' });
    byMin.forEach((s, i) => {
      const r = s.stepRewards!;
      expect(s.score).toBe(Math.min(...r));
      expect(byLast[i].score).toBe(r[r.length - 1]);
      expect(byMean[i].score).toBeCloseTo(r.reduce((a, b) => a + b, 0) / r.length, 12);
    });
  });

  it('the first error is the first reward below rewardThreshold', async () => {
    const all = await prm.score(items, { rewards: 'step', rewardThreshold: 0 });
    for (const s of all) expect(s.firstError).toBe(s.stepRewards!.findIndex((x) => x < 0));
    const none = await prm.score(items, { rewardThreshold: -1e9 });
    expect(none.every((s) => s.firstError === -1)).toBe(true);
  });

  it('rerank orders candidates by their aggregate reward, higher first', async () => {
    const problem = items[0].problem;
    const cands = items.map((c) => c.steps);
    const ranked = await prm.rerank(problem, cands, { aggregate: 'last' });
    const scores = (await prm.score(cands.map((steps) => ({ problem, steps })), { aggregate: 'last' })).map((s) => s.score);
    expect(ranked.map((r) => r.score)).toEqual([...scores].sort((a, b) => b - a));
    expect(ranked[0].stepRewards).toBeDefined();
  });

  it('the two models in parallel or one after the other give the same numbers', async () => {
    const seq = await Prm.load({ model: kernelDir, implicit: { concurrency: 'sequential', beta: 0.01, rewards: 'step' } });
    try {
      expect(seq.implicit).toEqual({ beta: 0.01, rewards: 'step' });
      const a = await seq.score(items);
      const b = await prm.score(items, { beta: 0.01, rewards: 'step' });
      expect(rewardsOf(a)).toEqual(rewardsOf(b));
    } finally {
      await seq.close();
    }
  });

  it('encodings carry each response start; scoreEncoded gives what score gives', async () => {
    const enc = prm.encode(items);
    expect(enc.starts).toBeInstanceOf(Int32Array);
    enc.starts!.forEach((st, i) => expect(st).toBeLessThanOrEqual(enc.boundaries.positions[enc.boundaries.offsets[i]]));
    expect(rewardsOf(await prm.scoreEncoded(enc))).toEqual(rewardsOf(await prm.score(items)));
    await expect(prm.scoreEncoded({ ...enc, starts: undefined })).rejects.toThrow(/encoded.starts must be an Int32Array/);
    await expect(prm.scoreEncoded({ ...enc, starts: new Int32Array(items.length) })).rejects.toThrow(/encoded.starts\[0\] = 0 must be in \[1, /);
  });

  it('refuses what does not apply to rewards, before any work', async () => {
    await expect(prm.score(items, { errorThreshold: 0.5 })).rejects.toThrow(/errorThreshold is a probability; an implicit PRM's rewards are not: pass rewardThreshold/);
    await expect(prm.score(items, { aggregate: 'prod' })).rejects.toThrow(/aggregate 'prod' multiplies probabilities/);
    await expect(prm.score(items, { beta: 0 })).rejects.toThrow(RangeError);
    await expect(prm.score(items, { rewards: 'delta' as never })).rejects.toThrow(/rewards must be one of 'cumulative', 'step'/);
    await expect(prm.session(items[0])).rejects.toThrow(/incremental scoring \(prm.session\) of an implicit PRM/);
    await expect(prm.denseRewards([{ problem: 'p', response: 'a' }] as never)).rejects.toThrow(/is an implicit PRM: its step rewards are in prm.score/);
    await expect(prm.classifyTokens(['abc'])).rejects.toThrow(/gives step rewards .* not per-token classes/);
    await expect(Prm.load({ model: kernelDir, implicit: { concurrency: 'both' as never } })).rejects.toThrow(/options.implicit.concurrency/);
    await expect(Prm.load({ model: kernelDir, aggregate: 'geomean' })).rejects.toThrow(/multiplies probabilities/);
    await expect(Prm.load({ model: kernelDir, format: 'rlhflow' })).rejects.toThrow(/is an implicit PRM \(two causal LMs\); format rlhflow reads one model's head/);
  });

  it('a probability PRM refuses the reward options', async () => {
    const { createTinyModel } = await import('../../lib/testing/index.js');
    const t = await createTinyModel({ dir: tempDir(), output: 'logits' });
    const p = await Prm.load({ model: t.model, tokenizer: t.tokenizer, format: 'math-shepherd' });
    try {
      await expect(p.score(items, { beta: 1 })).rejects.toThrow(/score options.beta is an option of implicit PRMs/);
      await expect(Prm.load({ model: t.model, tokenizer: t.tokenizer, format: 'eurus-prm' })).rejects.toThrow(/format eurus-prm is an implicit PRM's .* --reference/);
    } finally {
      await p.close();
    }
  });
});

describe('converting an implicit PRM', () => {
  it('refuses a reference that is not a causal LM, a KV cache, and implicit options without a reference', async () => {
    const root = tempDir();
    createTinyCheckpoint({ dir: join(root, 'p'), format: 'eurus-prm', seed: 1 });
    createTinyCheckpoint({ dir: join(root, 'r'), format: 'eurus-prm', seed: 2 });
    createTinyCheckpoint({ dir: join(root, 'score'), format: 'trl', seed: 1 });
    await expect(convert({ input: join(root, 'p'), reference: join(root, 'score'), output: join(root, 'o1') })).rejects.toThrow(/an implicit PRM reads two causal LMs .* has a token-classification head/);
    await expect(convert({ input: join(root, 'p'), reference: join(root, 'p2'), output: join(root, 'o2') })).rejects.toThrow(/has no config.json/);
    await expect(convert({ input: join(root, 'p'), reference: join(root, 'r'), output: join(root, 'o3'), kvCache: true })).rejects.toThrow(/without a KV cache/);
    await expect(convert({ input: join(root, 'p'), reference: join(root, 'p'), output: join(root, 'o7') })).rejects.toThrow(/reference must be another folder than input and output/);
    await expect(convert({ input: join(root, 'p'), reference: join(root, 'r'), output: join(root, 'o8'), backbone: true })).rejects.toThrow(/an implicit PRM has no head to train/);
    await expect(convert({ input: join(root, 'p'), output: join(root, 'o4'), beta: 0.1 })).rejects.toThrow(/beta sets an implicit PRM's conversion; pass reference too/);
    await expect(convert({ input: join(root, 'p'), output: join(root, 'o5'), format: 'eurus-prm' })).rejects.toThrow(/pass its reference LM/);
    await expect(convert({ input: join(root, 'p'), reference: join(root, 'r'), output: join(root, 'o6'), logProbs: 'gpu' as never })).rejects.toThrow(/logProbs must be one of 'kernel', 'graph'/);
  });
});

describe('prmkit convert --reference and prmkit score on the folder', () => {
  it('converts the pair, and score -m OUT writes step rewards', async () => {
    const { prmkit } = await import('../cli/helpers.js');
    const root = tempDir();
    createTinyCheckpoint({ dir: join(root, 'p'), format: 'eurus-prm', seed: 11 });
    createTinyCheckpoint({ dir: join(root, 'r'), format: 'eurus-prm', seed: 12 });
    const out = join(root, 'out');
    const c = await prmkit(['convert', join(root, 'p'), out, '--reference', join(root, 'r'), '--reference-dtype', 'int8', '--beta', '0.01']);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/converted an implicit PRM \(eurus-prm: Qwen2ForCausalLM and its reference, float32 \/ int8, beta 0.01\)/);
    expect(c.stdout).toMatch(/native LM-head kernel/);
    const input = items.slice(0, 3).map((x, i) => JSON.stringify({ id: `x${i}`, ...x })).join('\n') + '\n';
    const s = await prmkit(['score', '-m', out], input);
    expect(s.code, s.stderr).toBe(0);
    const rows = s.stdout.trim().split('\n').map((l) => JSON.parse(l) as { stepRewards: number[]; stepProbs?: number[]; aggregate: string });
    const p = await Prm.load({ model: out });
    try {
      const direct = await p.score(items.slice(0, 3));
      rows.forEach((row, i) => {
        expect(row.stepProbs).toBeUndefined();
        expect(row.aggregate).toBe('min');
        row.stepRewards.forEach((q, k) => expect(q).toBeCloseTo(direct[i].stepRewards![k], 9));
      });
    } finally {
      await p.close();
    }
    expect((await prmkit(['score', '-m', out, '--error-threshold', '0.3'], input)).code).toBe(2);
    expect((await prmkit(['convert', join(root, 'p'), join(root, 'o2'), '--beta', '1'])).stderr).toMatch(/pass --reference REF_DIR too/);
  }, 120_000);
});
