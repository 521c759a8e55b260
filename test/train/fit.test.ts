// fitHead's contract beyond the convex optimum (convex.test.ts): the same seed gives the same
// weights, early stopping returns the best epoch's weights, the validation split keeps groups
// together, 'balanced' class weights follow the label mass, an MLP head learns what a linear
// one cannot, AdamW steps as PyTorch's formula says, and bad options are refused first.
import { describe, expect, it } from 'vitest';

import { bceLossSync } from '../../lib/kernels/index.js';
import type { TrainHead } from '../../lib/kernels/index.js';
import { AdamW, fitHead, memoryRows, splitRows } from '../../lib/train/index.js';
import type { RowSource } from '../../lib/train/index.js';
import { rng } from '../kernels/fixtures.js';

/** XOR of the signs of the first two features, with noise in the others: no linear head separates it. */
function xorRows(seed: number, N: number, H: number): { source: RowSource; data: Float32Array; labels: Float32Array } {
  const r = rng(seed);
  const data = Float32Array.from({ length: N * H }, () => r() * 2 - 1);
  const labels = Float32Array.from({ length: N }, (_, i) => (data[i * H] > 0 !== data[i * H + 1] > 0 ? 1 : 0));
  const groups = Int32Array.from({ length: N }, (_, i) => Math.floor(i / 4)); // four steps per chain
  return { source: memoryRows({ data, dims: [N, H] }, labels, groups), data, labels };
}

const mlp: TrainHead = { kind: 'mlp', hidden: 16, activation: 'softmax', outputs: 2 };

describe('fitHead', () => {
  it('the same seed gives the same weights bit for bit; another seed other weights', async () => {
    const { source } = xorRows(1, 400, 6);
    const o = { head: mlp, epochs: 5, batchSize: 32, learningRate: 0.01 };
    const a = await fitHead(source, { ...o, seed: 7 });
    const b = await fitHead(source, { ...o, seed: 7, threads: 1 });
    const c = await fitHead(source, { ...o, seed: 8 });
    expect(b.params).toEqual(a.params);
    expect(b.epochs).toEqual(a.epochs);
    expect(c.params).not.toEqual(a.params);
  });

  it('an MLP head learns XOR (a linear head cannot)', async () => {
    const { source } = xorRows(2, 800, 4);
    const o = { epochs: 200, learningRate: 0.03, validation: 0.25, patience: 0, seed: 3 };
    const deep = await fitHead(source, { ...o, head: { kind: 'mlp', hidden: 24, activation: 'sigmoid', outputs: 1 } });
    const flat = await fitHead(source, { ...o, head: { kind: 'linear', activation: 'sigmoid', outputs: 1 } });
    expect(deep.epochs.at(-1)!.validationLoss).toBeLessThan(0.3);
    expect(flat.epochs.at(-1)!.validationLoss).toBeGreaterThan(0.6); // ln 2 = 0.69: chance
  });

  it('early stopping returns the weights of the best validation epoch', async () => {
    // few noisy rows and a wide head: it overfits, and the validation loss turns up
    const r = rng(4);
    const N = 60, H = 20;
    const data = Float32Array.from({ length: N * H }, () => r() * 2 - 1);
    const labels = Float32Array.from({ length: N }, () => (r() < 0.5 ? 1 : 0));
    const source = memoryRows({ data, dims: [N, H] }, labels);
    const fit = await fitHead(source, { head: { kind: 'mlp', hidden: 64, activation: 'sigmoid', outputs: 1 }, epochs: 500, learningRate: 0.02, validation: 0.3, patience: 5, seed: 5 });
    expect(fit.stopReason).toBe('early-stopping');
    expect(fit.epochs.length).toBe(fit.bestEpoch + 5);
    const best = fit.epochs[fit.bestEpoch - 1].validationLoss!;
    expect(Math.min(...fit.epochs.map((e) => e.validationLoss!))).toBe(best);
    // the returned weights give the best epoch's validation loss on the validation rows
    const { validation } = splitRows(source, 0.3, 5);
    const vData = new Float32Array(validation.length * H);
    source.read(validation, vData);
    const vLabels = Float32Array.from(validation, (i) => labels[i]);
    const { loss } = bceLossSync({ rows: { data: vData, dims: [validation.length, H] }, labels: vLabels, head: fit.head, params: fit.params }, { gradient: false });
    expect(loss).toBeCloseTo(best, 12);
  });

  it('the validation split keeps whole groups and is fixed by the seed', () => {
    const { source } = xorRows(6, 200, 3);
    const a = splitRows(source, 0.2, 1);
    expect(a.validation.length).toBeGreaterThanOrEqual(40);
    expect(a.train.length + a.validation.length).toBe(200);
    const groupsIn = (rows: Int32Array) => new Set(Array.from(rows, (i) => source.groups![i]));
    const v = groupsIn(a.validation);
    for (const g of groupsIn(a.train)) expect(v.has(g)).toBe(false);
    expect(splitRows(source, 0.2, 1)).toEqual(a);
    expect(splitRows(source, 0.2, 2).validation).not.toEqual(a.validation);
  });

  it("'balanced' class weights are inverse to each class's label mass in the training rows", async () => {
    const N = 100, H = 2;
    const labels = Float32Array.from({ length: N }, (_, i) => (i < 20 ? 1 : i < 30 ? 0.5 : 0)); // mass 25 positive, 75 negative
    const source = memoryRows({ data: new Float32Array(N * H), dims: [N, H] }, labels);
    const fit = await fitHead(source, { head: { kind: 'linear', activation: 'sigmoid', outputs: 1 }, epochs: 1, validation: 0, classWeights: 'balanced' });
    expect(fit.classWeights).toEqual({ positive: N / (2 * 25), negative: N / (2 * 75) });
  });

  it('refuses bad options before any work', async () => {
    const { source } = xorRows(7, 20, 3);
    await expect(fitHead(source, { head: mlp, epoch: 3 } as never)).rejects.toThrow(/options\.epoch is not an option; did you mean 'epochs'\?/);
    await expect(fitHead(source, { head: mlp, learningRate: 0 })).rejects.toThrow(RangeError);
    await expect(fitHead(source, { head: { ...mlp, hidden: 0 } })).rejects.toThrow(/head\.hidden must be an integer in \[1, 65536\], got 0/);
    await expect(fitHead(source, { head: mlp, validation: 1 })).rejects.toThrow(/options\.validation must be a number in \[0, 1\)/);
    await expect(fitHead(source, { head: mlp, init: new Float32Array(3) })).rejects.toThrow(/options\.init has length 3 but the head has \d+ parameters/);
    await expect(fitHead({ width: 3 } as never, { head: mlp })).rejects.toThrow(/source\.labels must be a non-empty Float32Array/);
  });
});

describe('AdamW', () => {
  it("steps as PyTorch's AdamW: the first step moves each weight by lr against its gradient's sign, after decay", () => {
    const opt = new AdamW(Float32Array.from([1, -2, 0.5]), { betas: [0.9, 0.999], eps: 0, weightDecay: 0.1, decay: Uint8Array.from([1, 1, 0]) });
    opt.step([0.3, -4, 2], 0.01);
    // decoupled decay p *= 1 - lr * wd on the decayed entries, then p -= lr * m^ / sqrt(v^) = lr * sign(g)
    expect(Array.from(opt.values)).toEqual([Math.fround(1 * (1 - 0.001) - 0.01), Math.fround(-2 * (1 - 0.001) + 0.01), Math.fround(0.5 - 0.01)]);
    // second step with the same gradient: m^ = g, v^ = g^2 again, so the same move
    opt.step([0.3, -4, 2], 0.01);
    expect(opt.values[2]).toBe(Math.fround(0.5 - 0.02));
  });
});
