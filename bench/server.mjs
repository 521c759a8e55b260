#!/usr/bin/env node
// Load and fault benchmark of `prmkit serve` (npm run bench:server) on the tiny ONNX PRM:
// the server runs as its own process (the real CLI), autocannon drives it over loopback.
//   probe      closed loop, 16 connections, 10 s: the most the server does on this machine;
//   sustained  open loop at 70% of that rate for 120 s: throughput, p50/p99 latency,
//              zero non-2xx expected, memory sampled every 2 s and read as steps, the
//              plateau after the last one and the slope along it (flat = no leak),
//              event-loop responsiveness seen from outside (GET /health latency under load);
//   overload   256 connections, no rate limit, 20 s: the server should shed load with
//              503 + Retry-After (queue bound: 64 requests, or more queued work than fits the
//              5 s deadline at the measured throughput) while memory stays bounded, and be
//              healthy after;
//   peer       the same server with batching across requests turned off (one request per
//              model call, what a plain service does), closed loop like the probe: the ratio
//              is what dynamic batching buys.
// Prints a table; writes bench/results/server.json. Needs `npm run build:ts` first.
// `--quick` shortens every phase (a smoke run; it writes to a temporary folder, never over the
// committed results).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

import { createTinyModel } from '../dist/testing/index.js';
import { benchHeader, writeResult } from './lib/out.mjs';
import { getRewardLoad } from './lib/get-reward-load.mjs';
import { describePlateau, memoryPlateau } from './lib/memory.mjs';
import { rng } from './lib/random.mjs';

benchHeader('server');

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const quick = process.argv.includes('--quick');
const SECONDS = quick ? { probe: 4, sustained: 15, overload: 6 } : { probe: 10, sustained: 120, overload: 20 };
const QUEUE_REQUESTS = 64;
// under autocannon's own 10 s client timeout, so a late answer is a counted 504, not a lost request
const TIMEOUT_MS = 5000;

// ---- the workload: best-of-4 scoring, ~ProcessBench-sized steps ---------------------------
const r = rng(7);
const words = ['add', 'the', 'two', 'so', 'we', 'get', 'then', 'total', 'is', 'each', 'of', 'times', 'minus', '=', '+', '*'];
const sentence = (n) => Array.from({ length: n }, () => (r() < 0.3 ? String(Math.floor(r() * 100)) : words[Math.floor(r() * words.length)])).join(' ');
const bodies = Array.from({ length: 16 }, (_, i) =>
  JSON.stringify({
    items: Array.from({ length: 4 }, (_, c) => ({
      id: `r${i}c${c}`,
      problem: `Problem ${i}: ${sentence(18)}?`,
      steps: Array.from({ length: 3 + ((i + c) % 3) }, () => sentence(8 + Math.floor(r() * 6))),
    })),
  }),
);
const requests = bodies.map((body) => ({ method: 'POST', path: '/v1/prm/score', headers: { 'content-type': 'application/json' }, body }));

// ---- server process ------------------------------------------------------------------------
const dir = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-server-'));
const tiny = await createTinyModel({ dir, layers: 2, hidden: 64, heads: 4, seed: 1 });
/** Starts `prmkit serve` on the tiny model; resolves with its URL and process. */
async function startServer(extra = []) {
  const proc = spawn(
    process.execPath,
    [
      join(root, 'dist', 'cli', 'main.js'),
      'serve',
      ...['-m', tiny.model, '-t', tiny.tokenizer, '--head', tiny.head, '-f', 'math-shepherd', '--name', 'tiny-shepherd'],
      ...['--port', '0', '--queue-requests', String(QUEUE_REQUESTS), '--timeout-ms', String(TIMEOUT_MS), '--threads', '1'],
      ...extra,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  const at = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${log}`)), 60_000);
    proc.stderr.on('data', (d) => {
      log += d;
      const m = /on (http:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
  });
  return { url: at, child: proc };
}

async function stopServer(proc) {
  if (proc.exitCode !== null) return;
  proc.kill('SIGTERM');
  await new Promise((res) => proc.once('exit', res));
}

const { url, child } = await startServer();
/** The peer: the same server with batching across requests turned off (a batch is one request's 4 chains). */
let peer;
// stopped from outside (bench:all's time limit, Ctrl-C): take the server processes along
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    child.kill('SIGTERM');
    peer?.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

async function chainsScoredAt(at) {
  const text = await (await fetch(`${at}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('prmkit_chains_scored_total '));
  return line ? Number(line.split(' ')[1]) : NaN;
}

async function scrape() {
  const text = await (await fetch(`${url}/metrics`)).text();
  const value = (name) => {
    const line = text.split('\n').find((l) => l.startsWith(name + ' '));
    return line ? Number(line.slice(name.length + 1)) : NaN;
  };
  return {
    rss: value('process_resident_memory_bytes'),
    heap: value('nodejs_heap_used_bytes'),
    external: value('nodejs_external_memory_bytes'),
    queue: value('prmkit_queue_depth'),
    loopP50: value('prmkit_event_loop_delay_seconds{quantile="0.5"}'),
    loopP99: value('prmkit_event_loop_delay_seconds{quantile="0.99"}'),
    loopMax: value('prmkit_event_loop_delay_seconds{quantile="1"}'),
    batches: value('prmkit_batch_size_count'),
    batchItems: value('prmkit_batch_size_sum'),
    chainsScored: value('prmkit_chains_scored_total'),
    setting: (name) => value(`prmkit_setting{name="${name}"}`),
  };
}

/** While `work` runs: /metrics every 2 s and a GET /health every 250 ms (latency = loop responsiveness). */
async function observe(work) {
  const samples = [];
  const health = [];
  const t0 = performance.now();
  let running = true;
  const sampler = (async () => {
    while (running) {
      samples.push({ t: (performance.now() - t0) / 1000, ...(await scrape()) });
      await new Promise((res) => setTimeout(res, 2000));
    }
  })();
  const prober = (async () => {
    while (running) {
      const h0 = performance.now();
      const res = await fetch(`${url}/health`);
      await res.text();
      health.push(performance.now() - h0);
      await new Promise((res) => setTimeout(res, 250));
    }
  })();
  const result = await work();
  running = false;
  await Promise.all([sampler, prober]);
  samples.push({ t: (performance.now() - t0) / 1000, ...(await scrape()) });
  health.sort((a, b) => a - b);
  const q = (p) => health[Math.min(health.length - 1, Math.floor(p * health.length))];
  return { result, samples, health: { count: health.length, p50: q(0.5), p99: q(0.99), max: health[health.length - 1] } };
}

/** Waits until the server has nothing queued or in flight, so one phase's backlog does not land in the next. */
async function settle(at = url, limitMs = 120_000) {
  const t0 = performance.now();
  for (;;) {
    const h = await (await fetch(`${at}/health`)).json();
    if (h.queue.requests === 0 && h.inFlight === 0) return;
    if (performance.now() - t0 > limitMs) throw new Error(`server at ${at} still busy after ${limitMs} ms: ${JSON.stringify(h)}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

function cannon(opts) {
  return autocannon({ url, requests, ...opts });
}

function summary(name, opts, res, obs) {
  const codes = Object.fromEntries(Object.entries(res.statusCodeStats ?? {}).map(([k, v]) => [k, v.count]));
  const ok = res['2xx'];
  const shed = codes['503'] ?? 0;
  const rss = obs.samples.map((s) => s.rss / 2 ** 20);
  // chains the server scored during the phase (its own counter), per second of the phase
  const chains = obs.samples[obs.samples.length - 1].chainsScored - obs.samples[0].chainsScored;
  const heap = obs.samples.map((s) => s.heap / 2 ** 20);
  const external = obs.samples.map((s) => s.external / 2 ** 20);
  return {
    phase: name,
    connections: opts.connections,
    targetRate: opts.overallRate ?? null,
    seconds: opts.duration,
    // answered with scores: a 503 is shed load, not throughput
    reqPerSec: ok / res.duration,
    answeredPerSec: res.requests.average,
    chainsPerSec: chains / res.duration,
    chainsScored: chains,
    latencyP50Ms: res.latency.p50,
    latencyP99Ms: res.latency.p99,
    latencyMaxMs: res.latency.max,
    ok,
    shed503: shed,
    otherNon2xx: res.non2xx - shed,
    errors: res.errors,
    timeouts: res.timeouts,
    statusCodes: codes,
    rssMb: { first: rss[0], last: rss[rss.length - 1], max: Math.max(...rss) },
    heapMb: { first: heap[0], last: heap[heap.length - 1], max: Math.max(...heap) },
    externalMb: { first: external[0], last: external[external.length - 1], max: Math.max(...external) },
    maxQueueDepth: Math.max(...obs.samples.map((s) => s.queue)),
    healthUnderLoadMs: obs.health,
    samples: obs.samples.map((s) => ({
      t: +s.t.toFixed(1),
      rssMb: +(s.rss / 2 ** 20).toFixed(1),
      heapMb: +(s.heap / 2 ** 20).toFixed(1),
      externalMb: +(s.external / 2 ** 20).toFixed(1),
      queue: s.queue,
    })),
  };
}

const rows = [];
try {
  // warm-up: first batches compile kernels and fill caches; a burst at high concurrency lets
  // the backbone see its largest batch shapes (onnxruntime's arena grows to the largest
  // shape once), so growth after this point would be a leak, not warm-up
  await cannon({ connections: 4, amount: 100 });
  await cannon({ connections: 64, duration: quick ? 2 : 10 });
  await settle();

  const probeOpts = { connections: 16, duration: SECONDS.probe };
  const probeObs = await observe(() => cannon(probeOpts));
  rows.push(summary('probe', probeOpts, probeObs.result, probeObs));
  const maxRate = probeObs.result['2xx'] / probeObs.result.duration;

  await settle();
  const rate = Math.max(1, Math.floor(maxRate * 0.7));
  const susOpts = { connections: 16, duration: SECONDS.sustained, overallRate: rate };
  const susObs = await observe(() => cannon(susOpts));
  const sustained = summary('sustained', susOpts, susObs.result, susObs);
  // a leak keeps climbing; an allocator or arena settling steps up and stays: a line fitted
  // across a step is neither, so read each series as its steps, then the plateau and its slope
  sustained.memory = {
    rss: memoryPlateau(sustained.samples, 'rssMb'),
    heap: memoryPlateau(sustained.samples, 'heapMb'),
    external: memoryPlateau(sustained.samples, 'externalMb'),
  };
  rows.push(sustained);

  await settle();
  const overOpts = { connections: 256, duration: SECONDS.overload };
  const overObs = await observe(() => cannon(overOpts));
  const overload = summary('overload', overOpts, overObs.result, overObs);
  const healthAfter = await fetch(`${url}/health`);
  overload.healthyAfter = healthAfter.status === 200 && (await healthAfter.json()).status === 'ok';
  rows.push(overload);

  // what a plain "one model call per request" service does on the same machine and load
  peer = await startServer(['--batch-items', '4', '--batch-wait-ms', '0']);
  await settle();
  await autocannon({ url: peer.url, requests, connections: 4, amount: 100 });
  await settle(peer.url);
  const peerOpts = { connections: 16, duration: SECONDS.probe };
  const chainsBefore = await chainsScoredAt(peer.url);
  const peerRes = await autocannon({ url: peer.url, requests, ...peerOpts });
  const peerChains = (await chainsScoredAt(peer.url)) - chainsBefore;
  await stopServer(peer.child);
  const peerRow = {
    phase: 'peer: no cross-request batching (probe)',
    connections: peerOpts.connections,
    seconds: peerOpts.duration,
    reqPerSec: peerRes['2xx'] / peerRes.duration,
    chainsPerSec: peerChains / peerRes.duration,
    latencyP50Ms: peerRes.latency.p50,
    latencyP99Ms: peerRes.latency.p99,
    ok: peerRes['2xx'],
    non2xx: peerRes.non2xx,
  };

  const loop = await scrape();
  const fmt = (v, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const table = [
    ['phase', 'conns', 'rate', 'req/s', 'chains/s', 'p50 ms', 'p99 ms', '2xx', '503', 'other', 'rss MB first→last (max)', 'heap MB first→last', 'health p99 ms', 'max queue'],
    ...rows.map((x) => [
      x.phase,
      String(x.connections),
      x.targetRate ? String(x.targetRate) : 'max',
      fmt(x.reqPerSec),
      fmt(x.chainsPerSec),
      fmt(x.latencyP50Ms, 0),
      fmt(x.latencyP99Ms, 0),
      String(x.ok),
      String(x.shed503),
      String(x.otherNon2xx + x.errors),
      `${fmt(x.rssMb.first, 0)}→${fmt(x.rssMb.last, 0)} (${fmt(x.rssMb.max, 0)})`,
      `${fmt(x.heapMb.first, 0)}→${fmt(x.heapMb.last, 0)}`,
      fmt(x.healthUnderLoadMs.p99),
      String(x.maxQueueDepth),
    ]),
  ];
  const widths = table[0].map((_, i) => Math.max(...table.map((r) => r[i].length)));
  const print = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  // what the server itself says it ran with
  const settings = Object.fromEntries(
    ['maxWaitMs', 'maxBatchTokens', 'maxBatchItems', 'concurrency', 'maxQueueRequests', 'maxQueueTokens', 'requestTimeoutMs', 'maxConnections'].map((k) => [k, loop.setting(k)]),
  );
  const report = [
    `prmkit serve under autocannon (tiny PRM 2x64, ${os.availableParallelism()} cores, ${quick ? 'quick' : 'full'} run; /v1/prm/score, 4 chains/request; ` +
      `batch wait ${settings.maxWaitMs} ms, queue ${settings.maxQueueRequests} requests, deadline ${settings.requestTimeoutMs} ms)`,
    'req/s and chains/s count scored answers only (2xx; chains by the server\'s own counter); 503s are the shed load',
    print(table[0]),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...table.slice(1).map(print),
    `peer, the same server without batching across requests (--batch-items 4 --batch-wait-ms 0), closed loop, ${peerRow.connections} connections: ` +
      `${fmt(peerRow.reqPerSec)} req/s, p50 ${fmt(peerRow.latencyP50Ms, 0)} ms, p99 ${fmt(peerRow.latencyP99Ms, 0)} ms, ${peerRow.non2xx} non-2xx; ` +
      `dynamic batching: ${fmt(rows[0].reqPerSec / peerRow.reqPerSec, 2)}x its req/s`,
    `sustained ${SECONDS.sustained}s memory: rss ${describePlateau(sustained.memory.rss)}`,
    `  heap ${describePlateau(sustained.memory.heap)}; external ${describePlateau(sustained.memory.external)}`,
    `overload: ${overload.shed503} answered 503 (${fmt(overload.answeredPerSec)} answers/s in all), healthy after: ${overload.healthyAfter}`,
    `server event-loop delay over the whole run: p50 ${fmt(loop.loopP50 * 1000, 2)} ms, p99 ${fmt(loop.loopP99 * 1000, 2)} ms, max ${fmt(loop.loopMax * 1000, 1)} ms; ` +
      `mean batch ${fmt(loop.batchItems / loop.batches)} chains over ${loop.batches} batches`,
  ];
  console.log(report.join('\n'));

  // RL trainers' reward-model load (its own section: bench/lib/get-reward-load.mjs)
  const rewardLoad = await getRewardLoad({ url, autocannon, scrape, quick });
  console.log(rewardLoad.report.join('\n'));

  const out = writeResult(
    'server',
    {
      config: {
        model: { layers: 2, hidden: 64, heads: 4, format: 'math-shepherd', threads: 1 },
        workload: { route: '/v1/prm/score', chainsPerRequest: 4, distinctBodies: bodies.length },
        seconds: SECONDS,
        server: settings,
      },
      eventLoopDelayMs: { p50: loop.loopP50 * 1000, p99: loop.loopP99 * 1000, max: loop.loopMax * 1000 },
      meanBatchChains: loop.batchItems / loop.batches,
      rows,
      peer: peerRow,
      probeOverPeer: rows[0].reqPerSec / peerRow.reqPerSec,
      getReward: rewardLoad.rows,
    },
    { quick, report: [...report, ...rewardLoad.report] },
  );
  console.log(`wrote ${out}`);
} finally {
  await stopServer(child);
  if (peer) await stopServer(peer.child);
  rmSync(dir, { recursive: true, force: true });
}
