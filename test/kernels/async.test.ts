// The Promise API runs off the event loop and holds its inputs until it settles.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { describeWhen, hasNative, itWhen, NO_NATIVE } from '../helpers/index.js';

import { scoreBatch, scoreBatchSync } from '../../lib/kernels/index.js';
import { native } from '../../lib/kernels/native.js';
import { linearHead, randomCase } from './fixtures.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// A build without Node's V8 headers cannot hold buffers across turns, so its Promise form
// runs inline (native/addon/pin.h); the first property is about the builds that can.
const offLoop = hasNative && native().binding!.info().pinned;

describeWhen(hasNative, 'async scoring', NO_NATIVE, () => {
  itWhen(offLoop, 'keeps the event loop turning while a call is pending', 'this addon runs Promise-form calls inline (not pinned)', async () => {
    // The property, not a speed: callbacks queued after the call starts run before it
    // settles. A call that blocked the loop (or did its work before returning) would see no
    // turn at all whatever its size, so the work doubles until it outlasts a few turns here,
    // on one core or sixty-four.
    const B = 16, T = 1024, H = 1024;
    const data = new Float32Array(B * T * H);
    for (let i = 0; i < data.length; i += 97) data[i] = (i % 13) / 13 - 0.5;
    const hidden = { data, dtype: 'float32' as const, dims: [B, T, H] as const };
    const head = linearHead(3, 2, H, 'softmax');
    let turnsSeen = 0;
    for (let repeat = 1; repeat <= 512 && turnsSeen < 3; repeat *= 2) {
      // every token is a boundary `repeat` times over: more rows to read, no more memory
      const offsets = Int32Array.from({ length: B + 1 }, (_, b) => b * T * repeat);
      const positions = Int32Array.from({ length: B * T * repeat }, (_, s) => Math.floor(s / repeat) % T);
      let pending = true;
      let turns = 0;
      const tick = () => {
        if (!pending) return;
        turns++;
        setImmediate(tick);
      };
      const call = scoreBatch(hidden, { offsets, positions }, head, { backend: 'cpu', aggregations: ['prod'] });
      setImmediate(tick);
      const r = await call;
      pending = false;
      turnsSeen = turns;
      if (turns >= 3) {
        const sync = scoreBatchSync(hidden, { offsets, positions }, head, { backend: 'cpu', aggregations: ['prod'] });
        expect(r.aggregates.prod).toEqual(sync.aggregates.prod);
        expect([...r.stepLogProbs.subarray(0, 1000)]).toEqual([...sync.stepLogProbs.subarray(0, 1000)]);
      }
    }
    expect(turnsSeen).toBeGreaterThanOrEqual(3);
  });

  it('keeps its inputs alive while it runs, even when the caller drops them', async () => {
    const make = () => randomCase(21, 48, 256, 512, 'float16', 24);
    const head = linearHead(22, 1, 512, 'sigmoid');
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
