#!/usr/bin/env node
// Search benchmark (npm run bench:search): accuracy vs compute on the verifiable arithmetic
// task, for majority vote, best-of-N with an outcome-only scorer vs a step scorer (min,
// prod), PRM-weighted vote, beam search, DVTS and MCTS. N is the budget in whole-solution
// equivalents: best-of-N samples N solutions; beam search and DVTS keep N/4 beams (subtrees)
// with 4 proposals each, so every step proposes N steps; MCTS gets N·steps/4 simulations of
// 4 proposals. Actual proposed steps per problem are recorded for every point.
// Writes bench/results/search.json and bench/results/search.svg. Needs `npm run build:ts`.
//   --quick          fewer problems and N up to 64
//   --problems=K     problems (default 200)
import { existsSync, writeFileSync } from 'node:fs';
import { benchHeader, resultsDir, writeResult } from './lib/out.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

benchHeader('search');

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
if (!existsSync(join(root, 'dist', 'search', 'index.js'))) {
  console.error('bench:search needs the compiled library: run `npm run build:ts` first');
  process.exit(1);
}
const S = { ...(await import('../dist/search/index.js')), ...(await import('../dist/testing/arithmetic.js')) };

const quick = process.argv.includes('--quick');
const arg = (name, dflt) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : dflt;
};

// ---- the task -----------------------------------------------------------------------------
const CONFIG = {
  problems: arg('problems', quick ? 60 : 200),
  steps: 6,
  slipRate: 0.08,
  systematicShare: 0.5,
  hardStepRate: 0.1,
  // the same per-judgment noise for both scorers: any gap comes from seeing the process
  prmNoise: 1.5,
  ormNoise: 1.5,
  margin: 2,
  expansions: 4,
  Ns: quick ? [1, 2, 4, 8, 16, 32, 64] : [1, 2, 4, 8, 16, 32, 64, 128, 256],
  seed: 2024,
};
const problems = S.createArithmeticProblems(CONFIG.problems, { seed: CONFIG.seed, steps: CONFIG.steps });
const generator = new S.ArithmeticGenerator({
  problems,
  slipRate: CONFIG.slipRate,
  systematicShare: CONFIG.systematicShare,
  hardStepRate: CONFIG.hardStepRate,
  seed: CONFIG.seed,
});
const prm = new S.NoisyPrmScorer({ problems, noise: CONFIG.prmNoise, margin: CONFIG.margin, seed: 1 });
const orm = new S.OutcomeScorer({ problems, noise: CONFIG.ormNoise, margin: CONFIG.margin, seed: 2 });
const M = CONFIG.expansions;

const METHODS = [
  ['pass@N', 'any of N samples correct (oracle ceiling)'],
  ['majority', 'best-of-N, plain majority vote over answers'],
  ['orm', 'best-of-N, outcome-only scorer (ORM-like), best score'],
  ['prm-min', 'best-of-N, step scorer, min aggregation'],
  ['prm-prod', 'best-of-N, step scorer, prod aggregation'],
  ['prm-weighted', 'best-of-N, votes weighted by step-scorer score (min)'],
  ['beam', `step-level beam search, width N/${M}, ${M} proposals per beam, last aggregation, weighted vote`],
  ['beam-best', 'the same beam search runs, best-scored finished beam'],
  ['dvts', `DVTS, N/${M} subtrees of ${M} proposals, last aggregation, weighted vote`],
  ['dvts-best', 'the same DVTS runs, best-scored subtree'],
  ['mcts', `MCTS (PUCT, step scorer as value and prior), N*steps/${M} simulations of ${M} proposals, weighted vote`],
  ['mcts-best', 'the same MCTS runs, best-scored finished chain'],
];

const correct = (p, answer) => answer !== undefined && S.answersEqual(answer, String(p.answer));
const stats = new Map(); // `${method}@${N}` -> { correct, completions, tokens }
function record(method, N, ok, completions, tokens) {
  const k = `${method}@${N}`;
  const s = stats.get(k) ?? { correct: 0, completions: 0, tokens: 0 };
  s.correct += ok ? 1 : 0;
  s.completions += completions;
  s.tokens += tokens;
  stats.set(k, s);
}

const t0 = performance.now();
const timing = {};
const timed = async (name, f) => {
  const t = performance.now();
  await f();
  timing[name] = (timing[name] ?? 0) + (performance.now() - t) / 1000;
};

const Nmax = Math.max(...CONFIG.Ns);
for (const [pi, p] of problems.entries()) {
  // best-of-N family: one pool of Nmax samples per problem, the first N of it for budget N
  await timed('bestOfN', async () => {
    const pool = await S.bestOfN(p.problem, { generator, scorer: prm, n: Nmax, seed: CONFIG.seed + pi, aggregation: 'min', maxSteps: CONFIG.steps + 2 });
    const cands = pool.candidates;
    const items = cands.map((c) => ({ problem: p.problem, steps: c.steps }));
    const ormScore = S.aggregateChains((await orm.score(items)).map((s) => s.stepProbs), 'last');
    const prodScore = S.aggregateChains(cands.map((c) => c.stepProbs), 'prod');
    // tokens and steps of the first N samples: walk each sample's path
    const nodes = pool.tree.nodes;
    const cost = cands.map((c) => {
      let tokens = 0;
      let steps = 0;
      for (let n = nodes[c.nodeId]; n.parent >= 0; n = nodes[n.parent]) {
        tokens += n.tokens;
        steps++;
      }
      return { tokens, steps };
    });
    for (const N of CONFIG.Ns) {
      const cs = cands.slice(0, N);
      const steps = cost.slice(0, N).reduce((a, c) => a + c.steps, 0);
      const tokens = cost.slice(0, N).reduce((a, c) => a + c.tokens, 0);
      const pick = {
        'pass@N': cs.some((c) => correct(p, c.answer)),
        majority: correct(p, S.selectCandidate(cs, 'majority').answer),
        orm: correct(p, S.selectCandidate(cs.map((c, i) => ({ ...c, score: ormScore[i] })), 'best').answer),
        'prm-min': correct(p, S.selectCandidate(cs, 'best').answer),
        'prm-prod': correct(p, S.selectCandidate(cs.map((c, i) => ({ ...c, score: prodScore[i] })), 'best').answer),
        'prm-weighted': correct(p, S.selectCandidate(cs, 'weighted').answer),
      };
      for (const [m, ok] of Object.entries(pick)) record(m, N, ok, steps, tokens);
    }
  });
  for (const N of CONFIG.Ns) {
    const common = { generator, scorer: prm, seed: CONFIG.seed + pi * 7919 + N, maxSteps: CONFIG.steps + 2 };
    const width = Math.max(1, Math.floor(N / M));
    const m = Math.min(M, N);
    await timed('beam', async () => {
      const r = await S.beamSearch(p.problem, { ...common, beamWidth: width, expansions: m });
      record('beam', N, correct(p, r.answer), r.usage.completions, r.usage.tokens);
      record('beam-best', N, correct(p, S.selectCandidate(r.candidates, 'best').answer), r.usage.completions, r.usage.tokens);
    });
    await timed('dvts', async () => {
      const r = await S.dvts(p.problem, { ...common, subtrees: width, expansions: m });
      record('dvts', N, correct(p, r.answer), r.usage.completions, r.usage.tokens);
      record('dvts-best', N, correct(p, S.selectCandidate(r.candidates, 'best').answer), r.usage.completions, r.usage.tokens);
    });
    await timed('mcts', async () => {
      const r = await S.mcts(p.problem, { ...common, simulations: Math.max(1, Math.round((N * CONFIG.steps) / M)), expansions: M });
      record('mcts', N, correct(p, r.answer), r.usage.completions, r.usage.tokens);
      record('mcts-best', N, correct(p, S.selectCandidate(r.candidates, 'best').answer), r.usage.completions, r.usage.tokens);
    });
  }
  if ((pi + 1) % 50 === 0) console.error(`  ${pi + 1}/${problems.length} problems, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
const seconds = (performance.now() - t0) / 1000;

// ---- table --------------------------------------------------------------------------------
const P = problems.length;
const acc = (m, N) => stats.get(`${m}@${N}`).correct / P;
const steps = (m, N) => stats.get(`${m}@${N}`).completions / P;
const names = METHODS.map(([m]) => m);
const pad = (s, n) => String(s).padStart(n);
const header = `${pad('N', 5)} | ${names.map((m) => pad(m, 12)).join(' ')}`;
const report = [
  `Accuracy on ${P} arithmetic problems (${CONFIG.steps} steps; slip ${CONFIG.slipRate}, hard steps ${CONFIG.hardStepRate}; scorer noise ${CONFIG.prmNoise}; ${quick ? 'quick' : 'full'} run)`,
  header,
  '-'.repeat(header.length),
  ...CONFIG.Ns.map((N) => `${pad(N, 5)} | ${names.map((m) => pad(acc(m, N).toFixed(3), 12)).join(' ')}`),
  '',
  `Proposed steps per problem (compute actually spent)`,
  header,
  '-'.repeat(header.length),
  ...CONFIG.Ns.map((N) => `${pad(N, 5)} | ${names.map((m) => pad(steps(m, N).toFixed(1), 12)).join(' ')}`),
];
console.log('\n' + report.join('\n'));
console.log(`\n${seconds.toFixed(1)} s total; ${Object.entries(timing).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}`);

// ---- JSON ---------------------------------------------------------------------------------
const outDir = resultsDir(quick);
const results = [];
for (const N of CONFIG.Ns)
  for (const m of names) {
    const s = stats.get(`${m}@${N}`);
    results.push({ N, method: m, accuracy: +(s.correct / P).toFixed(4), correct: s.correct, stepsPerProblem: +(s.completions / P).toFixed(2), tokensPerProblem: +(s.tokens / P).toFixed(1) });
  }
const jsonFile = writeResult('search', { bench: 'search', config: CONFIG, methods: Object.fromEntries(METHODS), seconds: +seconds.toFixed(1), results }, { quick, report });

// ---- SVG plot -----------------------------------------------------------------------------
const COLORS = {
  'pass@N': '#9e9e9e',
  majority: '#795548',
  orm: '#ff9800',
  'prm-min': '#2196f3',
  'prm-prod': '#3f51b5',
  'prm-weighted': '#009688',
  beam: '#e91e63',
  'beam-best': '#f48fb1',
  dvts: '#9c27b0',
  'dvts-best': '#ce93d8',
  mcts: '#4caf50',
  'mcts-best': '#a5d6a7',
};
function svgPlot() {
  const W = 760;
  const H = 480;
  const L = 60;
  const R = 190;
  const T = 40;
  const B = 50;
  // x is the compute actually spent (proposed steps per problem), so methods whose N buys
  // different amounts of work are compared fairly
  const xs = results.map((r) => Math.log2(r.stepsPerProblem));
  const x0 = Math.floor(Math.min(...xs));
  const x1 = Math.ceil(Math.max(...xs));
  const all = results.map((r) => r.accuracy);
  const y0 = Math.max(0, Math.floor(Math.min(...all) * 10) / 10);
  const y1 = 1;
  const X = (steps) => L + ((Math.log2(steps) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const Y = (a) => T + (1 - (a - y0) / (y1 - y0)) * (H - T - B);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14">Accuracy vs compute, arithmetic task (${P} problems, ${CONFIG.steps} steps)</text>`);
  for (let a = y0; a <= y1 + 1e-9; a += 0.1) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${Y(a).toFixed(1)}" y2="${Y(a).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 8}" y="${(Y(a) + 4).toFixed(1)}" text-anchor="end">${a.toFixed(1)}</text>`);
  }
  for (let e = x0; e <= x1; e++) {
    const v = 2 ** e;
    out.push(`<line x1="${X(v).toFixed(1)}" x2="${X(v).toFixed(1)}" y1="${T}" y2="${H - B}" stroke="#f4f4f4"/>`);
    out.push(`<text x="${X(v).toFixed(1)}" y="${H - B + 18}" text-anchor="middle">${v}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">proposed steps per problem (compute, log scale)</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`);
  names.forEach((m, i) => {
    const pts = CONFIG.Ns.map((N) => `${X(steps(m, N)).toFixed(1)},${Y(acc(m, N)).toFixed(1)}`).join(' ');
    const dash = m === 'pass@N' ? ' stroke-dasharray="4 3"' : '';
    out.push(`<polyline fill="none" stroke="${COLORS[m]}" stroke-width="2"${dash} points="${pts}"/>`);
    for (const N of CONFIG.Ns) out.push(`<circle cx="${X(steps(m, N)).toFixed(1)}" cy="${Y(acc(m, N)).toFixed(1)}" r="2.5" fill="${COLORS[m]}"/>`);
    const ly = T + 10 + i * 20;
    out.push(`<line x1="${W - R + 15}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${COLORS[m]}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${W - R + 46}" y="${ly + 4}">${m}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
writeFileSync(join(outDir, 'search.svg'), svgPlot());
console.log(`wrote ${jsonFile} and ${join(outDir, 'search.svg')}`);
