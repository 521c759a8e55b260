#!/usr/bin/env node
// Evaluation and data benchmark (node bench/eval.mjs, after `npm run build:ts`):
//   1. ProcessBench: scoring + deciding + tallying throughput on the real files, and exact
//      threshold tuning against a 1001-point grid search (time and F1 reached);
//   2. Math-Shepherd labelling on the arithmetic task: prefixes per second and generator calls
//      with and without batching across chains;
//   3. PRM800K: records per second through the streaming reader;
//   4. the whole path with a real (tiny, random-weight) ONNX PRM on 60 GSM8K chains: tokenizer,
//      onnxruntime, kernels, decision and tally (pipeline cost; its F1 means nothing).
// Prints a table; writes bench/results/eval.json (--quick: one repeat each, written to a
// temporary folder). The scorer is synthetic (seeded noise around
// the labels), so the numbers measure prmkit's own overhead, not a model.
import { mkdtempSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

import {
  computeMetrics,
  evaluateProcessBench,
  firstBelowThreshold,
  labelSteps,
  readPrm800k,
  readProcessBench,
  tuneThreshold,
} from '../dist/eval/index.js';
import { ArithmeticGenerator, createArithmeticProblems } from '../dist/search/arithmetic.js';
import { Prm } from '../dist/prm/index.js';
import { createTinyModel } from '../dist/testing/index.js';
import { benchHeader, writeResult } from './lib/out.mjs';
import { median, rng } from './lib/random.mjs';

benchHeader('eval');

const here = dirname(fileURLToPath(import.meta.url));
const dataDir = join(here, '..', '..', 'shared', 'data', 'processbench');
const quick = process.argv.includes('--quick');
const REPEATS = quick ? 1 : 5;

async function time(fn, repeats = REPEATS) {
  const ms = [];
  let out;
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    out = await fn();
    ms.push(performance.now() - t);
  }
  return { ms: median(ms), out };
}


/** A scorer that knows the labels through noise: P(correct) around 0.75 before the error, 0.3 after. */
class NoisyLabelScorer {
  name = 'noisy-labels';
  constructor(records, seed) {
    const r = rng(seed);
    this.probs = new Map(
      records.map((rec) => [rec.id, rec.steps.map((_, i) => {
        const wrong = rec.label !== -1 && i >= rec.label;
        return Math.min(1, Math.max(0, (wrong ? 0.3 : 0.75) + 0.25 * (r() + r() - 1) * 2));
      })]),
    );
  }
  async score(items) {
    return items.map((it) => ({ stepProbs: this.probs.get(it.id) }));
  }
}

const rows = [];
const results = {
  machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, node: process.version },
  // what this run did: repeats per case, and whether the real ProcessBench files were there
  config: { repeats: REPEATS, processbenchData: existsSync(join(dataDir, 'gsm8k.json')) ? dataDir : null },
  processbench: null, shepherd: [], prm800k: null, tinyPrm: null };

// 1. ProcessBench
if (existsSync(join(dataDir, 'gsm8k.json'))) {
  const subsets = await readProcessBench(dataDir);
  const all = subsets.flatMap((s) => s.records);
  const steps = all.reduce((a, r) => a + r.steps.length, 0);
  const scorer = new NoisyLabelScorer(all, 1);
  const evalRun = await time(() => evaluateProcessBench(subsets, { scorer, batchSize: 64 }));
  rows.push(['processbench evaluate (threshold 0.5)', `${all.length} chains, ${steps} steps`, evalRun.ms, `${Math.round(all.length / (evalRun.ms / 1000))} chains/s`, `avg F1 ${evalRun.out.metrics.averageF1.toFixed(1)}`]);
  const tunedRun = await time(() => evaluateProcessBench(subsets, { scorer, batchSize: 64, tuneOn: 'gsm8k' }));
  rows.push(['processbench evaluate (tuned on gsm8k)', `${all.length} chains`, tunedRun.ms, `${Math.round(all.length / (tunedRun.ms / 1000))} chains/s`, `avg F1 ${tunedRun.out.metrics.averageF1.toFixed(1)}, t=${tunedRun.out.tuned.threshold.toFixed(4)}`]);
  const pb = { chains: all.length, steps, evaluateMs: evalRun.ms, evaluateTunedMs: tunedRun.ms, averageF1: evalRun.out.metrics.averageF1, averageF1Tuned: tunedRun.out.metrics.averageF1, tuning: [] };
  for (const s of subsets) {
    const exact = await time(() => tuneThreshold(s.records, evalRun.out.stepProbs));
    const grid = await time(() => {
      let best = { f1: -1, t: 0 };
      for (let k = 0; k <= 1000; k++) {
        const t = k / 1000;
        const preds = new Map(s.records.map((r) => [r.id, firstBelowThreshold(evalRun.out.stepProbs.get(r.id), t)]));
        const f1 = computeMetrics([s], preds).subsets[0].f1;
        if (f1 > best.f1) best = { f1, t };
      }
      return best;
    }, 3);
    rows.push([`tune threshold on ${s.name}: exact sweep`, `${exact.out.candidates} candidates`, exact.ms, '', `F1 ${exact.out.f1.toFixed(2)}`]);
    rows.push([`tune threshold on ${s.name}: 1001-pt grid`, '1001 thresholds', grid.ms, `${(grid.ms / exact.ms).toFixed(0)}x slower`, `F1 ${grid.out.f1.toFixed(2)}`]);
    pb.tuning.push({ subset: s.name, exactMs: exact.ms, exactF1: exact.out.f1, candidates: exact.out.candidates, gridMs: grid.ms, gridF1: grid.out.f1 });
  }
  results.processbench = pb;
} else {
  console.warn(`ProcessBench data not found at ${dataDir}; skipping that section`);
}

// 2. Math-Shepherd labelling
{
  const problems = createArithmeticProblems(200, { seed: 11, steps: 6 });
  const writer = new ArithmeticGenerator({ problems, slipRate: 0.2, seed: 5 });
  const stepsOf = problems.map(() => []);
  let live = problems.map((_, i) => i);
  while (live.length) {
    const got = await writer.generate(live.map((i) => ({ problem: problems[i].problem, steps: stepsOf[i], n: 1 })));
    live = live.filter((i, k) => (stepsOf[i].push(got[k][0].text), got[k][0].finishReason === 'stop'));
  }
  const chains = problems.map((p, i) => ({ id: p.id, problem: p.problem, steps: stepsOf[i], goldAnswer: String(p.answer) }));
  // a remote policy costs a round trip per call: 5 ms stands in for it
  const withLatency = (gen, ms) => ({ name: gen.name, generate: async (reqs, o) => (await new Promise((r) => setTimeout(r, ms)), gen.generate(reqs, o)) });
  for (const [chainsPerBatch, latency] of [[1, 0], [32, 0], [200, 0], [1, 5], [32, 5], [200, 5]]) {
    const gen = new ArithmeticGenerator({ problems, slipRate: 0.1, seed: 9 });
    const run = await time(() => labelSteps(chains, { generator: latency ? withLatency(gen, latency) : gen, n: 8, chainsPerBatch }), Math.min(3, REPEATS));
    const c = run.out.cost;
    const label = `shepherd label, ${chainsPerBatch} chain(s)/batch${latency ? `, ${latency} ms/call` : ''}`;
    rows.push([label, `${c.prefixes} prefixes x 8`, run.ms, `${Math.round(c.prefixes / (run.ms / 1000))} prefixes/s`, `${c.calls} calls, ${c.generatedTokens} tokens`]);
    results.shepherd.push({ chainsPerBatch, latencyMs: latency, n: 8, chains: chains.length, prefixes: c.prefixes, ms: run.ms, calls: c.calls, requests: c.requests, completions: c.completions, generatedTokens: c.generatedTokens });
  }
}

// 3. PRM800K reader
{
  const tmp = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-'));
  try {
    const r = rng(3);
    const N = 20000;
    const lines = [];
    for (let i = 0; i < N; i++) {
      const nSteps = 4 + Math.floor(r() * 12);
      const steps = [];
      for (let s = 0; s < nSteps; s++) {
        const k = 1 + Math.floor(r() * 3);
        const completions = Array.from({ length: k }, (_, j) => ({ text: `Step ${s} candidate ${j}: we compute ${Math.floor(r() * 1000)} + ${Math.floor(r() * 1000)}.`, rating: [-1, 0, 1][Math.floor(r() * 3)], flagged: false }));
        steps.push({ completions, human_completion: null, chosen_completion: Math.floor(r() * k) });
      }
      lines.push(JSON.stringify({
        labeler: 'bench', timestamp: '2023-01-01T00:00:00', generation: 1, is_quality_control_question: false, is_initial_screening_question: false,
        question: { problem: `Problem ${i}`, ground_truth_answer: '42' },
        label: { steps, total_time: 1000, finish_reason: r() < 0.6 ? 'found_error' : 'solution' },
      }));
    }
    const file = join(tmp, 'phase2_bench.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const mb = statSync(file).size / 1e6;
    const run = await time(() => readPrm800k(file, { alternatives: true }), Math.min(3, REPEATS));
    rows.push(['prm800k read (+alternatives)', `${N} records, ${mb.toFixed(1)} MB`, run.ms, `${Math.round(N / (run.ms / 1000))} records/s`, `${run.out.stats.chains} chains + ${run.out.stats.alternatives} alt.`]);
    results.prm800k = { records: N, megabytes: mb, ms: run.ms, chains: run.out.stats.chains, alternatives: run.out.stats.alternatives };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

// 4. a real ONNX PRM (tiny, random weights) end to end
if (existsSync(join(dataDir, 'gsm8k.json'))) {
  const tmp = mkdtempSync(join(os.tmpdir(), 'prmkit-bench-'));
  let prm;
  try {
    const m = await createTinyModel({ dir: tmp, output: 'logits', format: 'math-shepherd', layers: 2, hidden: 64, seed: 3, maxPositions: 8192 });
    prm = await Prm.load({ model: m.model, tokenizer: m.tokenizer, format: 'math-shepherd' });
    const [gsm8k] = await readProcessBench(dataDir, { subsets: ['gsm8k'] });
    // 30 erroneous + 30 correct chains, so both accuracies exist
    const pick = [...gsm8k.records.filter((r) => r.label >= 0).slice(0, 30), ...gsm8k.records.filter((r) => r.label === -1).slice(0, 30)];
    const subset = { name: 'gsm8k-60', records: pick };
    const steps = pick.reduce((a, r) => a + r.steps.length, 0);
    const tokens = prm.countTokens(pick).reduce((a, b) => a + b, 0);
    const run = await time(() => evaluateProcessBench([subset], { scorer: prm, batchSize: 16 }), Math.min(3, REPEATS));
    rows.push(['processbench with tiny ONNX PRM', `60 chains, ${steps} steps, ${tokens} tok`, run.ms, `${(60 / (run.ms / 1000)).toFixed(1)} chains/s`, `${Math.round(tokens / (run.ms / 1000))} tok/s`]);
    results.tinyPrm = { chains: 60, steps, tokens, ms: run.ms, model: { layers: 2, hidden: 64, format: 'math-shepherd' }, backend: prm.backend };
  } finally {
    await prm?.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const header = ['benchmark', 'work', 'median ms', 'rate', 'result'];
const cells = rows.map(([a, b, ms, d, e]) => [a, b, ms.toFixed(1), d, e]);
const w = header.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i].length)));
const fmt = (r) => r.map((v, i) => (i === 2 ? v.padStart(w[i]) : v.padEnd(w[i]))).join('  ');
const report = [`prmkit eval bench (${results.machine.cpus} cpus, node ${process.version}${quick ? ', quick run' : ''})`, fmt(header), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(fmt)];
console.log(report.join('\n'));
console.log(`wrote ${writeResult('eval', results, { quick, report })}`);
