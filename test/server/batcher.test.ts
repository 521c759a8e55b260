import { describe, expect, it, vi } from 'vitest';
import { Batcher } from '../../lib/server/batcher.js';
import { Lane } from '../../lib/server/lane.js';
import type { BatchReport } from '../../lib/server/batcher.js';
import { QueueFullError, ShuttingDownError } from '../../lib/server/errors.js';
import type { BatchingOptions } from '../../lib/server/types.js';

const BASE: BatchingOptions = {
  maxBatchTokens: 100,
  maxBatchItems: 8,
  maxWaitMs: 20,
  concurrency: 1,
  maxQueueRequests: 10,
  maxQueueTokens: 1000,
};

interface Call {
  inputs: string[];
  signal: AbortSignal;
}

/** A run function that records calls and can be held open. */
function recorder() {
  const calls: Call[] = [];
  let gate: Promise<void> | null = null;
  let open: () => void = () => {};
  let running = 0;
  let maxRunning = 0;
  const run = async (inputs: string[], signal: AbortSignal) => {
    calls.push({ inputs, signal });
    running++;
    maxRunning = Math.max(maxRunning, running);
    try {
      if (gate) await gate;
      return inputs.map((x) => x.toUpperCase());
    } finally {
      running--;
    }
  };
  return {
    run,
    calls,
    hold() {
      gate = new Promise((r) => (open = r));
    },
    release() {
      gate = null;
      open();
    },
    get maxRunning() {
      return maxRunning;
    },
  };
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));

describe('Batcher', () => {
  it('merges concurrent requests into one batch and routes results back in order', async () => {
    const r = recorder();
    const b = new Batcher(r.run, BASE, new Lane(1));
    const [x, y, z] = await Promise.all([b.submit(['a', 'b'], [5, 5]), b.submit(['c'], [5]), b.submit(['d', 'e'], [5, 5])]);
    expect(r.calls).toHaveLength(1);
    expect(r.calls[0]!.inputs).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(x).toEqual(['A', 'B']);
    expect(y).toEqual(['C']);
    expect(z).toEqual(['D', 'E']);
  });

  it('closes a batch at maxBatchTokens and splits a large request across batches', async () => {
    const r = recorder();
    const reports: BatchReport[] = [];
    const b = new Batcher(r.run, { ...BASE, maxBatchTokens: 10 }, new Lane(1), (rep) => reports.push(rep));
    const out = await b.submit(['a', 'b', 'c', 'd', 'e'], [4, 4, 4, 4, 30]);
    expect(out).toEqual(['A', 'B', 'C', 'D', 'E']);
    // 4+4 fit, 4+4 fit, the 30-token chain runs alone rather than never
    expect(r.calls.map((c) => c.inputs)).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(reports.map((x) => x.tokens)).toEqual([8, 8, 30]);
    expect(reports.every((x) => x.ok)).toBe(true);
  });

  it('closes a batch at maxBatchItems', async () => {
    const r = recorder();
    vi.useFakeTimers();
    try {
      const b = new Batcher(r.run, { ...BASE, maxBatchItems: 2, maxWaitMs: 1000 }, new Lane(1));
      let out: string[] | undefined;
      void b.submit(['a', 'b', 'c', 'd'], [1, 1, 1, 1]).then((x) => (out = x));
      // full batches go at once: done before the clock reaches maxWaitMs (the clock is fake,
      // so this says nothing about how fast the machine is)
      await vi.advanceTimersByTimeAsync(999);
      expect(out).toEqual(['A', 'B', 'C', 'D']);
      expect(r.calls.map((c) => c.inputs.length)).toEqual([2, 2]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('waits up to maxWaitMs for company before running a small batch', async () => {
    const r = recorder();
    // a fake clock: on a loaded machine a real 5 ms pause can outlast the 40 ms wait
    vi.useFakeTimers();
    try {
      const b = new Batcher(r.run, { ...BASE, maxWaitMs: 40 }, new Lane(1));
      const first = b.submit(['a'], [1]);
      await vi.advanceTimersByTimeAsync(30);
      expect(r.calls).toHaveLength(0);
      const second = b.submit(['b'], [1]);
      // the oldest chain's wait ends at 40 ms, not 40 ms after the newest arrival
      await vi.advanceTimersByTimeAsync(9);
      expect(r.calls).toHaveLength(0);
      await vi.advanceTimersByTimeAsync(1);
      expect(r.calls.map((c) => c.inputs)).toEqual([['a', 'b']]);
      await expect(Promise.all([first, second])).resolves.toEqual([['A'], ['B']]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses work beyond the queue bounds with QueueFullError and a Retry-After', async () => {
    const r = recorder();
    r.hold();
    const b = new Batcher(r.run, { ...BASE, maxWaitMs: 0, maxQueueRequests: 2, maxQueueTokens: 50 }, new Lane(1));
    const running = b.submit(['a'], [1]);
    await tick(2);
    expect(r.calls).toHaveLength(1); // 'a' holds the only lane
    const q1 = b.submit(['b'], [10]);
    const q2 = b.submit(['c'], [10]);
    await expect(b.submit(['d'], [1])).rejects.toBeInstanceOf(QueueFullError);
    expect(b.queuedRequests).toBe(2);
    expect(b.queuedTokens).toBe(20);
    r.release();
    await Promise.all([running, q1, q2]);
    // tokens bound: 45 + 10 > 50
    r.hold();
    const busy = b.submit(['e'], [1]);
    await tick(2);
    const big = b.submit(['f'], [45]);
    const err = await b.submit(['g'], [10]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as QueueFullError).status).toBe(503);
    expect((err as QueueFullError).retryAfter).toBeGreaterThanOrEqual(1);
    r.release();
    await Promise.all([busy, big]);
  });

  it('refuses a request that would wait past maxQueueWaitMs at the measured throughput', async () => {
    const r = recorder();
    const opts = { ...BASE, maxWaitMs: 0, maxQueueWaitMs: Number.MAX_SAFE_INTEGER };
    const b = new Batcher(r.run, opts, new Lane(1));
    expect(b.expectedWaitMs(100)).toBe(0); // nothing measured yet: no estimate, no refusal
    r.hold();
    const first = b.submit(['a'], [100]);
    await tick(20);
    r.release();
    await first;
    const per100 = b.expectedWaitMs(100);
    expect(per100).toBeGreaterThan(0);
    // deadline between one and two requests' worth of queue
    opts.maxQueueWaitMs = per100 * 1.5;
    r.hold();
    const running = b.submit(['b'], [100]); // takes the lane
    await tick(2);
    const queued = b.submit(['c'], [100]); // one request's worth ahead of it: admitted
    const err = await b.submit(['d'], [100]).catch((e: unknown) => e); // two: refused
    expect(err).toBeInstanceOf(QueueFullError);
    expect((err as Error).message).toMatch(/deadline/);
    r.release();
    expect(await Promise.all([running, queued])).toEqual([['B'], ['C']]);
  });

  it('drops an aborted request from the queue so the model never sees it', async () => {
    const r = recorder();
    r.hold();
    const b = new Batcher(r.run, { ...BASE, maxWaitMs: 0 }, new Lane(1));
    const first = b.submit(['a'], [1]);
    await tick(2);
    const ac = new AbortController();
    const gone = b.submit(['x', 'y'], [3, 3], ac.signal);
    const kept = b.submit(['b'], [1]);
    expect(b.queuedTokens).toBe(7);
    ac.abort(new Error('client left'));
    await expect(gone).rejects.toThrow('client left');
    expect(b.queuedTokens).toBe(1);
    r.release();
    expect(await kept).toEqual(['B']);
    await first;
    expect(r.calls.flatMap((c) => c.inputs)).toEqual(['a', 'b']);
  });

  it('aborts a running batch once every request in it is gone, but not before', async () => {
    const r = recorder();
    r.hold();
    // the batch's wait on a fake clock: a real timer may fire before the batcher's own clock
    // says 5 ms have passed, and then re-arm past any real pause the test could take
    vi.useFakeTimers();
    try {
      const b = new Batcher(r.run, { ...BASE, maxWaitMs: 5 }, new Lane(1));
      const a1 = new AbortController();
      const a2 = new AbortController();
      const p1 = b.submit(['a'], [1], a1.signal).catch((e: unknown) => e);
      const p2 = b.submit(['b'], [1], a2.signal).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(5);
      expect(r.calls).toHaveLength(1);
      const signal = r.calls[0]!.signal;
      a1.abort(new Error('one'));
      expect(signal.aborted).toBe(false);
      a2.abort(new Error('two'));
      expect(signal.aborted).toBe(true);
      expect(((await p1) as Error).message).toBe('one');
      expect(((await p2) as Error).message).toBe('two');
      r.release();
      await b.drain();
    } finally {
      vi.useRealTimers();
    }
  });

  it('fails the request of a failed batch and keeps serving afterwards', async () => {
    let fail = true;
    const run = async (inputs: string[]) => {
      if (fail) {
        fail = false;
        throw new Error('backbone exploded');
      }
      return inputs.map((x) => x + '!');
    };
    const reports: BatchReport[] = [];
    const b = new Batcher(run, BASE, new Lane(1), (rep) => reports.push(rep));
    const results = await Promise.allSettled([b.submit(['a', 'b'], [1, 1])]);
    expect(results.map((x) => x.status)).toEqual(['rejected']);
    expect((results[0] as PromiseRejectedResult).reason.message).toBe('backbone exploded');
    expect(await b.submit(['c'], [1])).toEqual(['c!']);
    expect(reports.map((x) => x.ok)).toEqual([false, true]);
  });

  it('reruns the requests of a failed batch one by one so a bad request fails alone', async () => {
    const calls: string[][] = [];
    const run = async (inputs: string[]) => {
      calls.push(inputs);
      if (inputs.includes('poison')) throw new RangeError('poison is not a step');
      return inputs.map((x) => x + '!');
    };
    const b = new Batcher(run, BASE, new Lane(1));
    const [good, bad, other] = await Promise.allSettled([b.submit(['a'], [1]), b.submit(['poison', 'p2'], [1, 1]), b.submit(['c'], [1])]);
    expect(good).toEqual({ status: 'fulfilled', value: ['a!'] });
    expect(other).toEqual({ status: 'fulfilled', value: ['c!'] });
    expect(bad.status).toBe('rejected');
    expect((bad as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(calls).toEqual([['a', 'poison', 'p2', 'c'], ['a'], ['poison', 'p2'], ['c']]);
  });

  it('rejects a model that returns the wrong number of results', async () => {
    const b = new Batcher(async () => ['only one'], BASE, new Lane(1));
    await expect(b.submit(['a', 'b'], [1, 1])).rejects.toThrow(/1 results for 2 inputs/);
  });

  it('shares one lane between batchers so the model never runs more batches than allowed', async () => {
    const r = recorder();
    const lane = new Lane(1);
    const b1 = new Batcher(r.run, { ...BASE, maxWaitMs: 0 }, lane);
    const b2 = new Batcher(r.run, { ...BASE, maxWaitMs: 0 }, lane);
    r.hold();
    const ps = [b1.submit(['a'], [1]), b2.submit(['b'], [1]), b1.submit(['c'], [1]), b2.submit(['d'], [1])];
    await tick(5);
    expect(r.calls).toHaveLength(1);
    r.release();
    await Promise.all(ps);
    expect(r.maxRunning).toBe(1);
    expect(r.calls.flatMap((c) => c.inputs).sort()).toEqual(['a', 'b', 'c', 'd']);
  });

  it('runs up to `concurrency` batches at once', async () => {
    const r = recorder();
    r.hold();
    const b = new Batcher(r.run, { ...BASE, maxWaitMs: 0, maxBatchItems: 1 }, new Lane(2));
    const ps = [b.submit(['a'], [1]), b.submit(['b'], [1]), b.submit(['c'], [1])];
    await tick(5);
    expect(r.calls).toHaveLength(2);
    r.release();
    await Promise.all(ps);
    expect(r.maxRunning).toBe(2);
  });

  it('close() runs queued work at once, waits for it, then refuses new work', async () => {
    const r = recorder();
    vi.useFakeTimers();
    try {
      const b = new Batcher(r.run, { ...BASE, maxWaitMs: 60_000 }, new Lane(1));
      let out: string[] | undefined;
      let closed = false;
      void b.submit(['a'], [1]).then((x) => (out = x));
      void b.close().then(() => (closed = true));
      // the queued batch runs without its 60 s wait: both settle while the fake clock is short of it
      await vi.advanceTimersByTimeAsync(59_000);
      expect(out).toEqual(['A']);
      expect(closed).toBe(true);
      await expect(b.submit(['b'], [1])).rejects.toBeInstanceOf(ShuttingDownError);
    } finally {
      vi.useRealTimers();
    }
  });

  it('checks its arguments', () => {
    const b = new Batcher(async (x: string[]) => x, BASE, new Lane(1));
    expect(() => b.submit(['a'], [])).toThrow(RangeError);
    expect(() => new Lane(0)).toThrow(RangeError);
  });
});
