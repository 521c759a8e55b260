#!/usr/bin/env node
// End-to-end scoring benchmark (npm run bench:e2e) on the tiny ONNX PRM with realistic
// shapes: step and chain lengths are ProcessBench's, in Qwen2.5 tokens, when the shared data
// directory is there (else a fixed synthetic distribution). The tiny tokenizer is byte-level, so a
// step of n Qwen tokens becomes n ASCII characters = n backbone tokens.
//   A. one pass per chain vs the naive loop that re-scores the whole prefix for every step;
//   B. beam search, width 4, 4 proposals per beam, 10 steps: incremental scoring on the
//      prefix cache (KV) vs re-scoring every candidate chain from scratch.
//   C, D (bench/lib/e2e-shared.mjs, on a larger model): best-of-8 groups sharing a problem
//      and beam search with shared prefixes and a prefix cache, per-token costs vs one pass.
// A and B score each chain alone (sharePrefixes: false) on their one-pass sides.
// Prints a table and ratios; writes bench/results/e2e.json (a --quick run writes to a temporary
// folder instead, see bench/lib/out.mjs; --shared-only runs C and D alone, into e2e-shared.json).
// Needs `npm run build:ts` first.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Prm, PrmSession, PrmTokenizer } from '../dist/index.js';
import { createTinyModel } from '../dist/testing/index.js';
import { sharedPrefixCases, sharedPrefixReport } from './lib/e2e-shared.mjs';
import { benchHeader, writeResult } from './lib/out.mjs';
import { rng } from './lib/random.mjs';

benchHeader('e2e');

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const shared = join(root, '..', 'shared', 'data');
const quick = process.argv.includes('--quick');
// only the shared-prefix cases C and D (a quicker look at them; the full run has every case)
const sharedOnly = process.argv.includes('--shared-only');
const THREADS = Math.max(1, Math.min(os.availableParallelism(), 4));

const r = rng(42);
const LETTERS = 'abcdefghijklmnopqrstuvwxyz0123456789 +=*()';
const text = (n) => Array.from({ length: Math.max(1, n) }, () => LETTERS[Math.floor(r() * LETTERS.length)]).join('');

// ---- shapes -------------------------------------------------------------------------------
function shapes() {
  const pb = join(shared, 'processbench');
  if (!existsSync(join(pb, 'gsm8k.json'))) {
    return { source: 'synthetic (shared ProcessBench data absent)', chains: Array.from({ length: 48 }, () => ({ problem: 60 + Math.floor(r() * 60), steps: Array.from({ length: 4 + Math.floor(r() * 6) }, () => 20 + Math.floor(r() * 60)) })) };
  }
  const qwen = PrmTokenizer.load(join(root, 'node_modules', '@lenml', 'tokenizer-qwen2_5', 'models'));
  const all = [...JSON.parse(readFileSync(join(pb, 'gsm8k.json'), 'utf8')), ...JSON.parse(readFileSync(join(pb, 'math.json'), 'utf8'))];
  const pick = all.filter((_, i) => i % Math.floor(all.length / (quick ? 16 : 48)) === 0).slice(0, quick ? 16 : 48);
  return {
    source: `ProcessBench (${pick.length} chains, Qwen2.5 token counts)`,
    chains: pick.map((x) => ({ problem: qwen.encode(x.problem).length, steps: x.steps.map((s) => qwen.encode(s).length) })),
  };
}

const shape = shapes();
const items = shape.chains.map((c, i) => ({ problem: `Q${i}: ${text(c.problem)}`, steps: c.steps.map((n) => text(n)) }));
const stepPool = shape.chains.flatMap((c) => c.steps);
const maxChain = Math.max(...items.map((it) => it.problem.length + it.steps.reduce((a, s) => a + s.length + 2, 0)));

const dir = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-'));
const model = await createTinyModel({ dir, layers: 2, hidden: 64, heads: 4, seed: 1, kvCache: true, output: 'hidden', maxPositions: Math.max(4096, maxChain + 2048) });
const prm = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { threads: THREADS } });

// The sides of a comparison run alternately (warm once each, then A, B, A, B, ... until
// minMs has passed), so load from other processes on a shared machine hits them alike.
async function timed(model, fns, minMs = quick ? 600 : 3000) {
  const sides = fns.map((fn) => ({ fn, times: [], tokens: 0, padded: 0 }));
  for (const s of sides) await s.fn();
  const t0 = performance.now();
  while (performance.now() - t0 < minMs || sides[0].times.length < 3) {
    for (const s of sides) {
      const before = model.stats;
      const start = performance.now();
      await s.fn();
      s.times.push(performance.now() - start);
      const after = model.stats;
      s.tokens = after.tokens - before.tokens;
      s.padded = after.paddedTokens - before.paddedTokens;
    }
  }
  return sides.map((s) => {
    const t = [...s.times].sort((a, b) => a - b);
    return { ms: t[Math.floor(t.length / 2)], runs: t.length, tokens: s.tokens, padded: s.padded };
  });
}

async function midCases() {
  const MID = { layers: 4, hidden: 256, heads: 4, kvHeads: 2 };
  const midModel = await createTinyModel({ dir: join(dir, 'mid'), ...MID, seed: 2, kvCache: true, output: 'hidden', maxPositions: Math.max(4096, maxChain + 2048) });
  const mid = await Prm.load({ model: midModel.model, tokenizer: midModel.tokenizer, head: midModel.head, format: 'math-shepherd', workers: { threads: THREADS } });
  const sharedCases = await sharedPrefixCases({ prm: mid, shape, text, quick, timed, progress });
  const midInfo = `${MID.layers} layers, hidden ${MID.hidden}, ${MID.heads} heads / ${MID.kvHeads} kv heads, ${mid.backend.kv?.attention ?? 'no'} KV attention`;
  await mid.close();
  return { MID, sharedCases, midInfo };
}

const fmt = (x, d = 1) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

/** --shared-only: C and D, printed and written (as e2e-shared.json), then exit. */
async function sharedOnlyRun() {
  const { MID, sharedCases, midInfo } = await midCases();
  const report = [`shared prefixes: model ${midInfo}, float32, ${THREADS} intra-op threads; shapes: ${shape.source}`, ...sharedPrefixReport(sharedCases, fmt)];
  console.log(`\nprmkit e2e bench, shared prefixes only (${quick ? 'quick' : 'full'} run), ${os.cpus()[0]?.model ?? 'cpu'}`);
  console.log(report.join('\n'));
  const file = writeResult('e2e-shared', { config: { threads: THREADS, model: MID, shapes: shape.source }, ...sharedCases }, { quick, report });
  console.log(`\nwrote ${file}`);
  await prm.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

// ---- A: one pass vs naive prefix loop -----------------------------------------------------
const prefixItems = items.flatMap((it) => it.steps.map((_, k) => ({ problem: it.problem, steps: it.steps.slice(0, k + 1) })));
// progress on stderr: a loaded machine makes a full run long
const t0 = performance.now();
const progress = (what) => console.error(`[e2e ${((performance.now() - t0) / 1000).toFixed(0)} s] ${what}`);
const alone = { sharePrefixes: false };
if (sharedOnly) await sharedOnlyRun();
const [onePass, naive] = await timed(prm, [() => prm.score(items, alone), () => prm.score(prefixItems, alone)]);
// same scores both ways (a check, not a timing)
const a = await prm.score(items, alone);
const b = await prm.score(prefixItems, alone);
let q = 0;
let maxDiff = 0;
for (const x of a) for (const p of x.stepProbs) maxDiff = Math.max(maxDiff, Math.abs(p - b[q++].stepProbs.at(-1)));

progress('A done');
// ---- B: beam search, incremental vs rescoring ---------------------------------------------
const WIDTH = 4;
const PROPOSALS = 4;
const DEPTH = quick ? 4 : 10;
const problems = items.slice(0, quick ? 2 : 4).map((it) => it.problem);
function proposals(seed) {
  const rr = rng(seed);
  return Array.from({ length: DEPTH }, () => Array.from({ length: WIDTH * PROPOSALS }, () => text(stepPool[Math.floor(rr() * stepPool.length)]).slice(0, 400)));
}
const plans = problems.map((_, i) => proposals(1000 + i));

// candidates each strategy actually scored (the first round has one beam, so fewer than
// width x proposals): the candidates/s figures divide by these counts
const scoredCandidates = { rescore: 0, incremental: 0 };

async function beamRescore(problem, plan) {
  let beams = [[]];
  for (let d = 0; d < DEPTH; d++) {
    const cands = beams.flatMap((steps, bi) => plan[d].slice(bi * PROPOSALS, (bi + 1) * PROPOSALS).map((s) => [...steps, s]));
    scoredCandidates.rescore += cands.length;
    const scored = await prm.score(cands.map((steps) => ({ problem, steps })), { aggregate: 'min', sharePrefixes: false });
    beams = scored.map((s, i) => [s.score, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, WIDTH).map(([, i]) => cands[i]);
  }
  return beams;
}

async function beamIncremental(problem, plan) {
  let beams = [{ steps: [], session: await prm.session({ problem, steps: [] }) }];
  for (let d = 0; d < DEPTH; d++) {
    // all beams' proposals in shared backbone calls, each on its own cached prefix
    const scored = await PrmSession.scoreMany(
      beams.map((bm, bi) => ({ session: bm.session, continuations: plan[d].slice(bi * PROPOSALS, (bi + 1) * PROPOSALS).map((s) => [s]) })),
      { aggregate: 'min', keep: true },
    );
    const flat = scored.flatMap((rs, bi) => rs.map((res, k) => ({ res, steps: [...beams[bi].steps, plan[d][bi * PROPOSALS + k]] })));
    scoredCandidates.incremental += flat.length;
    const order = flat.map((f, i) => [f.res.score, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, WIDTH);
    beams = order.map(([, i]) => ({ steps: flat[i].steps, session: flat[i].res.session }));
  }
  return beams.map((bm) => bm.steps);
}

const runAll = (fn) => async () => {
  const out = [];
  for (let i = 0; i < problems.length; i++) out.push(await fn(problems[i], plans[i]));
  return out;
};
const [rescore, incremental] = await timed(prm, [runAll(beamRescore), runAll(beamIncremental)], quick ? 600 : 6000);
// one more run of each, counted: the same beams, and the candidates one run scores
scoredCandidates.rescore = scoredCandidates.incremental = 0;
const same = JSON.stringify(await runAll(beamRescore)()) === JSON.stringify(await runAll(beamIncremental)());
if (scoredCandidates.rescore !== scoredCandidates.incremental) {
  throw new Error(`the two beam searches scored ${scoredCandidates.rescore} and ${scoredCandidates.incremental} candidates`);
}

progress('B done');
// ---- C, D: shared prefixes, on a model where a token's compute is what is timed ----------
const { MID, sharedCases, midInfo } = await midCases();

// ---- report -------------------------------------------------------------------------------
const candidates = items.length;
const beamCandidates = scoredCandidates.rescore;
const rows = [
  ['A one-pass', onePass, candidates],
  ['A naive prefix loop', naive, candidates],
  ['B beam rescoring', rescore, beamCandidates],
  ['B beam incremental (KV)', incremental, beamCandidates],
].map(([name, m, n]) => ({ name, ms: m.ms, runs: m.runs, candidatesPerSec: (n / m.ms) * 1000, backboneTokens: m.tokens, paddedTokens: m.padded, tokensPerSec: (m.tokens / m.ms) * 1000 }));

const ratios = {
  onePassVsNaiveSpeedup: naive.ms / onePass.ms,
  naiveTokensOverOnePass: naive.tokens / onePass.tokens,
  incrementalVsRescoreSpeedup: rescore.ms / incremental.ms,
  rescoreTokensOverIncremental: rescore.tokens / incremental.tokens,
};
const report = [
  `tiny model (2 layers, hidden 64, 4 heads), onnxruntime cpu, ${THREADS} intra-op threads; shapes: ${shape.source}; ${candidates} chains, ${stepPool.length} steps; ` +
    `beam: ${problems.length} problems x width ${WIDTH} x ${PROPOSALS} proposals x ${DEPTH} steps = ${beamCandidates} candidates scored per run`,
  '',
  '| case | median ms/run | runs | candidates/s | backbone tokens/run | padded tokens/run | backbone tokens/s |',
  '|---|---:|---:|---:|---:|---:|---:|',
  ...rows.map((x) => `| ${x.name} | ${fmt(x.ms)} | ${x.runs} | ${fmt(x.candidatesPerSec)} | ${x.backboneTokens.toLocaleString('en-US')} | ${x.paddedTokens.toLocaleString('en-US')} | ${fmt(x.tokensPerSec, 0)} |`),
  '',
  `one-pass vs naive: ${fmt(ratios.onePassVsNaiveSpeedup, 2)}x faster, ${fmt(ratios.naiveTokensOverOnePass, 2)}x fewer backbone tokens (max |Δp| ${maxDiff.toExponential(1)})`,
  `incremental (KV) vs rescoring: ${fmt(ratios.incrementalVsRescoreSpeedup, 2)}x faster, ${fmt(ratios.rescoreTokensOverIncremental, 2)}x fewer backbone tokens (same beams: ${same ? 'yes' : 'NO'})`,
  '',
  `shared prefixes: model ${midInfo}, float32, ${THREADS} intra-op threads`,
  ...sharedPrefixReport(sharedCases, fmt),
];
console.log(`\nprmkit e2e bench (${quick ? 'quick' : 'full'} run), ${os.cpus()[0]?.model ?? 'cpu'}`);
console.log(report.join('\n'));

const file = writeResult(
  'e2e',
  {
    config: {
      threads: THREADS,
      model: { layers: 2, hidden: 64, heads: 4, provider: prm.backend.provider, format: 'math-shepherd' },
      shapes: shape.source,
      chains: candidates,
      beam: { problems: problems.length, width: WIDTH, proposals: PROPOSALS, depth: DEPTH, candidatesPerRun: beamCandidates },
      minMs: { onePass: quick ? 600 : 3000, beam: quick ? 600 : 6000 },
    },
    sameBeams: same,
    rows,
    ratios,
    onePassMaxAbsDiff: maxDiff,
    sharedPrefixes: { model: { ...MID, attention: midInfo }, ...sharedCases },
  },
  { quick, report },
);
console.log(`\nwrote ${file}`);
await prm.close();
rmSync(dir, { recursive: true, force: true });
