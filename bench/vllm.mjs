#!/usr/bin/env node
// prmkit's vLLM client (Prm.connect) against the plain client a user would write from vLLM's
// docs (every chain sent, JSON float answers), both talking to a vLLM-shaped /pooling server
// on loopback (`prmkit serve`'s own, in STEP and in ALL mode) on the tiny ONNX PRM. The
// workload is a beam search's scoring: every candidate of every round, so most chains are
// token-prefixes of others. Counts what goes over the wire and what the server runs; checks
// both clients read the same step probabilities.
// Prints a table; writes bench/results/vllm.json (`--quick`: fewer runs, written elsewhere).
// Needs `npm run build:ts` first.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

import { Prm } from '../dist/prm/index.js';
import { createServer, prmServerModel } from '../dist/server/index.js';
import { createTinyModel } from '../dist/testing/index.js';
import { benchHeader, writeResult } from './lib/out.mjs';
import { rng } from './lib/random.mjs';

benchHeader('vllm');
const quick = process.argv.includes('--quick');
const RUNS = quick ? 2 : 7;
const PROBLEMS = quick ? 4 : 8;
const BEAMS = 4;
const DEPTH = 6;

const r = rng(11);
const words = ['add', 'the', 'two', 'so', 'we', 'get', 'then', 'total', 'is', 'each', 'of', 'times', 'minus', '=', '+', '*'];
const sentence = (n) => Array.from({ length: n }, () => (r() < 0.3 ? String(Math.floor(r() * 100)) : words[Math.floor(r() * words.length)])).join(' ');
// each beam's chain at every depth: what a beam search scores over its rounds
const chains = [];
for (let p = 0; p < PROBLEMS; p++) {
  const problem = `Problem ${p}: ${sentence(20)}?`;
  for (let b = 0; b < BEAMS; b++) {
    const steps = Array.from({ length: DEPTH }, () => sentence(10 + Math.floor(r() * 8)));
    for (let d = 1; d <= DEPTH; d++) chains.push({ problem, steps: steps.slice(0, d) });
  }
}

/** A fetch that counts the bytes it sends and receives. */
function counting() {
  const c = { requests: 0, sent: 0, received: 0 };
  const f = async (url, init) => {
    c.requests++;
    c.sent += Buffer.byteLength(init.body);
    const res = await fetch(url, init);
    const buf = Buffer.from(await res.arrayBuffer());
    c.received += buf.length;
    return new Response(buf, { status: res.status, headers: res.headers });
  };
  return { c, f };
}

/** The plain client: every chain, cut after its last step tag, 32 per request, 4 in flight, JSON floats. */
async function plainClient(url, prm, fetchFn) {
  const enc = prm.encode(chains);
  const tag = prm.tokenizer.tokenToId('<extra_0>');
  const inputs = enc.inputIds.map((ids, i) => Array.from(ids.subarray(0, enc.boundaries.positions[enc.boundaries.offsets[i + 1] - 1] + 1)));
  const out = new Array(inputs.length);
  const starts = [];
  for (let s = 0; s < inputs.length; s += 32) starts.push(s);
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < starts.length) {
        const s = starts[next++];
        const res = await fetchFn(`${url}/pooling`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ input: inputs.slice(s, s + 32), task: 'token_classify', add_special_tokens: false }),
        });
        const j = await res.json();
        for (const d of j.data) {
          const ids = inputs[s + d.index];
          // ALL rows: read the tag tokens' rows; STEP rows: already one per step
          const rows = d.data.length === ids.length ? d.data.filter((_, t) => ids[t] === tag) : d.data;
          out[s + d.index] = rows.map((row) => row[1]);
        }
      }
    }),
  );
  return { stepProbs: out, tokens: inputs.reduce((a, x) => a + x.length, 0) };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const dir = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-vllm-'));
const rows = [];
const report = [];
try {
  const m = await createTinyModel({ dir, format: 'qwen2.5-math-prm', output: 'logits', layers: 2, hidden: 64, seed: 3 });
  const prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm' });
  for (const pooling of ['step', 'all']) {
    const server = createServer({ model: prmServerModel(prm), pooling, closeModel: false, batching: { maxWaitMs: 1 } });
    const { url } = await server.listen();
    const tokensOnServer = () => server.context.metrics.render().match(/^prmkit_backbone_tokens_total (\d+)/m)?.[1];
    const cases = {
      plain: async (fetchFn) => plainClient(url, prm, fetchFn),
      prmkit: async (fetchFn) => {
        const remote = await Prm.connect({ vllm: { url, fetch: fetchFn }, tokenizer: m.tokenizer, format: 'qwen2.5-math-prm' });
        const s = await remote.score(chains);
        await remote.close();
        return { stepProbs: s.map((x) => x.stepProbs) };
      },
    };
    const results = {};
    for (const [name, run] of Object.entries(cases)) {
      const ms = [];
      let last;
      let counted;
      for (let i = 0; i < RUNS; i++) {
        const { c, f } = counting();
        const before = Number(tokensOnServer() ?? 0);
        const t0 = performance.now();
        last = await run(f);
        ms.push(performance.now() - t0);
        counted = { ...c, serverTokens: Number(tokensOnServer() ?? 0) - before };
      }
      results[name] = { ms: median(ms), ...counted, stepProbs: last.stepProbs };
    }
    let maxDiff = 0;
    results.plain.stepProbs.forEach((row, i) => row.forEach((p, s) => (maxDiff = Math.max(maxDiff, Math.abs(p - results.prmkit.stepProbs[i][s])))));
    for (const name of ['plain', 'prmkit']) {
      const x = results[name];
      rows.push({ pooling, client: name, ms: x.ms, requests: x.requests, sentKB: x.sent / 1024, receivedKB: x.received / 1024, serverTokens: x.serverTokens });
    }
    const p = results.plain;
    const q = results.prmkit;
    report.push(
      `${pooling.padEnd(4)}  prmkit vs plain: ${(p.ms / q.ms).toFixed(2)}x faster, ${(p.serverTokens / q.serverTokens).toFixed(2)}x fewer tokens run, ` +
        `${(p.sent / q.sent).toFixed(2)}x fewer bytes sent, ${(p.received / q.received).toFixed(2)}x fewer bytes received (max |Δp| ${maxDiff.toExponential(1)})`,
    );
    await server.close();
  }
  await prm.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const header = `Prm.connect vs a plain vLLM /pooling client (tiny PRM 2x64, ${chains.length} beam-search chains: ${PROBLEMS} problems x ${BEAMS} beams x depth 1..${DEPTH}; median of ${RUNS} runs, ${os.availableParallelism()} cores)`;
const table = [
  'pooling  client   median ms  requests  sent KB  received KB  tokens run',
  '-------  -------  ---------  --------  -------  -----------  ----------',
  ...rows.map(
    (x) =>
      `${x.pooling.padEnd(7)}  ${x.client.padEnd(7)}  ${x.ms.toFixed(1).padStart(9)}  ${String(x.requests).padStart(8)}  ${x.sentKB.toFixed(1).padStart(7)}  ${x.receivedKB.toFixed(1).padStart(11)}  ${String(x.serverTokens).padStart(10)}`,
  ),
];
console.log([header, ...table, ...report].join('\n'));
const file = writeResult('vllm', { workload: { problems: PROBLEMS, beams: BEAMS, depth: DEPTH, chains: chains.length, runs: RUNS }, rows }, { quick, report: [header, ...table, ...report] });
console.log(`wrote ${file}`);
