// The reward-server load of bench:server: OpenRLHF-style /get_reward requests of one sample
// each (what a trainer with a remote reward model sends), first closed-loop to find the most
// the server answers, then open-loop at 70% of that, the sustainable rate. Batch sizes come
// from the server's own metrics: one-sample requests only pay off if they share batches.
import { rng } from './random.mjs';

const words = ['add', 'the', 'two', 'so', 'we', 'get', 'then', 'total', 'is', 'each', 'of', 'times', 'minus', '=', '+', '*'];

/** 64 distinct one-sample bodies shaped as OpenRLHF's remote reward model client sends them. */
export function getRewardBodies(n = 64, seed = 11) {
  const r = rng(seed);
  const sentence = (k) => Array.from({ length: k }, () => (r() < 0.3 ? String(Math.floor(r() * 100)) : words[Math.floor(r() * words.length)])).join(' ');
  return Array.from({ length: n }, (_, i) => {
    const prompt = `<|im_start|>user\nProblem ${i}: ${sentence(18)}?<|im_end|>\n<|im_start|>assistant\n`;
    const steps = Array.from({ length: 3 + (i % 3) }, () => sentence(8 + Math.floor(r() * 6)));
    return JSON.stringify({ query: [prompt + steps.join('\n\n') + '<|im_end|>'], prompts: [prompt], labels: [String(i)] });
  });
}

export async function getRewardLoad({ url, autocannon, scrape, quick }) {
  const requests = getRewardBodies().map((body) => ({ method: 'POST', path: '/get_reward', headers: { 'content-type': 'application/json' }, body }));
  const run = (opts) => autocannon({ url, requests, ...opts });
  const phase = async (name, opts) => {
    const before = await scrape();
    const res = await run(opts);
    const after = await scrape();
    const batches = after.batches - before.batches;
    const items = after.batchItems - before.batchItems;
    return {
      phase: name,
      connections: opts.connections,
      targetRate: opts.overallRate ?? null,
      seconds: opts.duration,
      reqPerSec: res['2xx'] / res.duration,
      latencyP50Ms: res.latency.p50,
      latencyP99Ms: res.latency.p99,
      ok: res['2xx'],
      non2xx: res.non2xx,
      errors: res.errors,
      batches,
      meanBatch: batches > 0 ? items / batches : NaN,
    };
  };
  await run({ connections: 8, amount: 200 });
  const probe = await phase('get_reward probe', { connections: 64, duration: quick ? 4 : 10 });
  const rate = Math.max(1, Math.floor(probe.reqPerSec * 0.7));
  const sustained = await phase('get_reward sustained', { connections: 64, duration: quick ? 8 : 30, overallRate: rate });
  const rows = [probe, sustained];
  const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const header = ['phase', 'conns', 'rate', 'req/s', 'p50 ms', 'p99 ms', '2xx', 'non-2xx', 'batches', 'mean batch'];
  const cells = rows.map((x) => [x.phase, String(x.connections), x.targetRate ? String(x.targetRate) : 'max', fmt(x.reqPerSec), fmt(x.latencyP50Ms, 0), fmt(x.latencyP99Ms, 0), String(x.ok), String(x.non2xx + x.errors), String(x.batches), fmt(x.meanBatch)]);
  const widths = header.map((_, i) => Math.max(header[i].length, ...cells.map((c) => c[i].length)));
  const print = (c) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join('  ');
  const report = [
    `OpenRLHF /get_reward, one sample per request (64 connections; sustained = 70% of the probe's rate):`,
    print(header),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...cells.map(print),
  ];
  return { rows, report };
}
