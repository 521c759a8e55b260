// The Promise API runs off the event loop and holds its inputs until it settles.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';

import { backends, scoreBatch, scoreBatchSync } from '../../lib/kernels/index.js';
import { linearHead, randomCase } from './fixtures.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe.runIf(backends().cpu.available)('async scoring', () => {
  it('keeps the event loop turning while a large batch scores', async () => {
    // 64 x 1024 x 1024 float32 = 256 MiB of hidden states; every token is a boundary eight
    // times over, so the call reads two gigabytes: tens of milliseconds even at full bandwidth.
    const B = 64, T = 1024, H = 1024, repeat = 8;
    const data = new Float32Array(B * T * H);
    for (let i = 0; i < data.length; i += 97) data[i] = (i % 13) / 13 - 0.5;
    const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * T * repeat);
    const positions = Int32Array.from({ length: B * T * repeat }, (_, s) => Math.floor(s / repeat) % T);
    const head = linearHead(3, 2, H, 'softmax');
    const hidden = { data, dtype: 'float32' as const, dims: [B, T, H] as const };

    // Time the same work synchronously first, to know how many ticks to expect.
    const t0 = performance.now();
    const sync = scoreBatchSync(hidden, { offsets, positions }, head, { backend: 'cpu', aggregations: ['prod'] });
    const syncMs = performance.now() - t0;

    let ticks = 0;
    let last = performance.now();
    let maxGap = 0;
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 2);
    const started = (last = performance.now());
    const pending = scoreBatch(hidden, { offsets, positions }, head, { backend: 'cpu', aggregations: ['prod'] });
    const r = await pending;
    const elapsed = performance.now() - started;
    clearInterval(timer);

    expect([...r.stepLogProbs.subarray(0, 1000)]).toEqual([...sync.stepLogProbs.subarray(0, 1000)]);
    expect(r.aggregates.prod).toEqual(sync.aggregates.prod);
    // A blocked loop would fire the interval once, after the call, with a gap as long as the
    // call. Require it to keep firing through the call with gaps well below the work's length.
    expect(syncMs).toBeGreaterThan(20);
    expect(elapsed).toBeGreaterThan(syncMs / 2);
    expect(ticks).toBeGreaterThanOrEqual(3);
    expect(maxGap).toBeLessThan(syncMs / 2);
  });

  it('keeps its inputs alive while it runs, even when the caller drops them', async () => {
    const make = () => randomCase(21, 48, 512, 1024, 'float16', 24);
    const head = linearHead(22, 1, 1024, 'sigmoid');
    const expected = scoreBatchSync(make().hidden, make().boundaries, head, { backend: 'cpu' });
    const pending: Promise<unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const c = make(); // the only references live in this iteration
      pending.push(scoreBatch(c.hidden, c.boundaries, head, { backend: 'cpu' }));
    }
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 1));
      // churn the heap so a freed buffer would be reused
      new Float32Array(1 << 22).fill(123);
    }
    const results = (await Promise.all(pending)) as (typeof expected)[];
    for (const r of results) {
      expect(r.stepLogProbs).toEqual(expected.stepLogProbs);
      expect(r.aggregates.min).toEqual(expected.aggregates.min);
    }
  });

  it('runs many calls concurrently without mixing their outputs', async () => {
    const cases = Array.from({ length: 12 }, (_, i) => randomCase(100 + i, 8, 64, 96, i % 2 ? 'bfloat16' : 'float32', 6));
    const head = linearHead(5, 2, 96, 'softmax');
    const got = await Promise.all(cases.map((c) => scoreBatch(c.hidden, c.boundaries, head, { backend: 'cpu' })));
    cases.forEach((c, i) => expect(got[i].stepLogProbs).toEqual(scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'cpu' }).stepLogProbs));
  });
});

describe('the js backend', () => {
  it('scores a large batch in slices, letting the event loop turn, with the sync result', async () => {
    const c = randomCase(31, 64, 256, 1024, 'float32', 48);
    const head = linearHead(32, 2, 1024, 'softmax');
    const sync = scoreBatchSync(c.hidden, c.boundaries, head, { backend: 'js' });
    let turns = 0;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    let done = false;
    setImmediate(spin);
    const r = await scoreBatch(c.hidden, c.boundaries, head, { backend: 'js' });
    done = true;
    expect(r.backend).toBe('js');
    expect(r.stepLogProbs).toEqual(sync.stepLogProbs);
    expect(r.aggregates.prod).toEqual(sync.aggregates.prod);
    expect(r.firstError).toEqual(sync.firstError);
    // ~1,200 steps x 2,048 multiply-adds, in slices of 2^20: the loop turned between slices
    expect(turns).toBeGreaterThanOrEqual(2);
  });
});
