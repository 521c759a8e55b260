#!/usr/bin/env node
// ORM vs PRM with learned models (npm run bench:orm-vs-prm): prmkit's demo reward models
// (models/demo/, trained on the arithmetic task of prmkit/testing/arithmetic) choose among
// the task policy's solutions on held-out problems, over several seeds.
//   best-of-N, N = 1..64, by PRM min, PRM prod, ORM, majority vote, PRM-weighted vote (min),
//   and pass@N (any of N correct); 64 solutions per problem are sampled once and each N is
//   scored on the 64/N disjoint groups of N (every group an independent best-of-N draw)
//   PRM beam search at the same generation budget (generated steps: 4N for 4-step problems)
//   the PRM's first-error F1 against the verifier (ProcessBench's metric, threshold 0.5)
// With models/demo/backbone and heads trained on it by `prmkit train`, the head-only PRM and
// ORM are methods too. Writes bench/results/orm-vs-prm.json and orm-vs-prm.svg.
//   --quick            2 seeds of 40 problems (results to a temporary folder)
//   --problems=K       problems per seed (default 200)      --seeds=a,b,..  (default 5 seeds)
//   --prm=DIR --orm=DIR --backbone=DIR   model folders (default models/demo/*); --head-prm=NAME --head-orm=NAME
//   --orm-stand-in     no ORM folder yet: rank by the PRM's last-step probability, labelled so
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchHeader, resultsDir, writeResult } from './lib/out.mjs';

benchHeader('orm-vs-prm');
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (!existsSync(join(root, 'dist', 'search', 'index.js'))) {
  console.error('bench:orm-vs-prm needs the compiled library: run `npm run build:ts` first');
  process.exit(1);
}
const { Prm, Orm } = await import('../dist/index.js');
const S = await import('../dist/search/index.js');
const A = await import('../dist/testing/arithmetic.js');
const { CachedScorer } = await import('./lib/cached-scorer.mjs');
const H = await import('./lib/orm-vs-prm.mjs');
const { accuracyPlot } = await import('./lib/orm-vs-prm-plot.mjs');
const { openModels } = await import('./lib/orm-vs-prm-models.mjs');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const opt = (name) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const CONFIG = {
  problems: Number(opt('problems') ?? (quick ? 40 : 200)),
  seeds: (opt('seeds') ?? (quick ? '9001,9002' : '9001,9002,9003,9004,9005')).split(',').map(Number),
  Ns: [1, 2, 4, 8, 16, 32, 64],
  pool: 64,
  // the policy whose samples the demo models learned to judge
  policy: A.demoPolicyOptions,
  task: A.demoTaskOptions,
  threshold: 0.5,
  beam: { expansions: 4, aggregation: 'last (library default)', selection: 'weighted (library default); beam-best: best-scored finished beam' },
};
for (const [k, v] of [['problems', CONFIG.problems], ...CONFIG.seeds.map((s) => ['seeds', s])])
  if (!Number.isInteger(v) || v < 1) {
    console.error(`bench:orm-vs-prm: --${k} must be positive integers, got ${v}`);
    process.exit(2);
  }
const STEPS = CONFIG.task.steps;

const models = await openModels({ Prm, Orm, root, opt, standIn: argv.includes('--orm-stand-in') });
for (const line of models.describe) console.log(line);

// methods of best-of-N: a selection rule over the pool's scores (bench/lib/orm-vs-prm.mjs)
const METHODS = [
  ['pass@N', { selection: 'oracle' }, 'any of the N solutions correct (the ceiling of best-of-N selection; beam search, which picks step by step, can pass it)'],
  ['majority', { selection: 'majority' }, 'most frequent final answer'],
  ['orm', { score: 'orm', selection: 'best' }, models.ormLabel],
  ['prm-min', { score: 'min', selection: 'best' }, 'fine-tuned PRM, best chain by its lowest step probability'],
  ['prm-prod', { score: 'prod', selection: 'best' }, 'fine-tuned PRM, best chain by the product of step probabilities'],
  ['prm-weighted', { score: 'min', selection: 'weighted' }, 'answers voted for with weight = PRM min'],
];
if (models.headOnly)
  METHODS.push(
    ['ho-orm', { score: 'hoOrm', selection: 'best' }, `head-only ORM (${models.headOnly.ormName} on the frozen backbone)`],
    ['ho-prm-min', { score: 'hoMin', selection: 'best' }, `head-only PRM (${models.headOnly.prmName}), min`],
    ['ho-prm-prod', { score: 'hoProd', selection: 'best' }, 'head-only PRM, prod'],
    ['ho-prm-weighted', { score: 'hoMin', selection: 'weighted' }, 'head-only PRM, weighted vote (min)'],
  );
const BEAM = [
  ['beam', `fine-tuned PRM beam search: width N/${CONFIG.beam.expansions} (1 below N=${CONFIG.beam.expansions}), ${CONFIG.beam.expansions} proposals per beam (N below), last aggregation, weighted vote`],
  ['beam-best', 'the same beam searches, best-scored finished beam'],
];
const NAMES = [...METHODS.map(([m]) => m), ...BEAM.map(([m]) => m)];

// held out: problems the demo models' training data holds are dropped (its splits, as
// scripts/dev/arithmetic/run.sh makes them with make-data.mjs --seed 1)
const TRAINING = [['lm', 1001, 200_000], ['train', 1002, 40_000], ['eval', 1003, 2000]];
const seen = new Set(TRAINING.flatMap(([, seed, n]) => A.createArithmeticProblems(n, { ...CONFIG.task, seed }).map((p) => p.problem)));
function heldOut(seed) {
  const out = [];
  for (let extra = CONFIG.problems; out.length < CONFIG.problems; extra *= 2) {
    out.length = 0;
    for (const p of A.createArithmeticProblems(CONFIG.problems + extra, { ...CONFIG.task, seed })) if (!seen.has(p.problem) && out.length < CONFIG.problems) out.push(p);
  }
  return out;
}

const acc = new Map(); // `${method}@${N}` -> per-seed accuracy
const put = (m, N, x) => acc.set(`${m}@${N}`, [...(acc.get(`${m}@${N}`) ?? []), x]);
const bestSteps = new Map(); // N -> per-seed generated steps per problem
const beamSteps = new Map();
const f1 = { prm: [], ...(models.headOnly ? { ho: [] } : {}) };
const scorer = new CachedScorer(models.prm, { prefixClosed: models.prefixClosed });
const timing = {};
const timed = async (name, f) => {
  const t = performance.now();
  const r = await f();
  timing[name] = (timing[name] ?? 0) + (performance.now() - t) / 1000;
  console.error(`    ${name}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return r;
};
const t0 = performance.now();
const perSeed = [];
let dropped = 0;

for (const seed of CONFIG.seeds) {
  const problems = heldOut(seed);
  dropped += A.createArithmeticProblems(CONFIG.problems, { ...CONFIG.task, seed }).filter((p) => seen.has(p.problem)).length;
  const generator = new A.ArithmeticGenerator({ problems, ...CONFIG.policy, seed });
  // 1. one pool of 64 solutions per problem, sampled by the policy
  const pools = await timed('sample', () =>
    Promise.all(problems.map(async (p, pi) => {
      const r = await S.bestOfN(p.problem, { generator, n: CONFIG.pool, seed: seed * 1000 + pi, maxSteps: STEPS + 2 });
      return r.candidates.map((c) => ({ steps: c.steps, answer: c.answer, correct: A.finalAnswerCorrect(p, c.steps), verifier: A.verifySteps(p, c.steps), scores: {} }));
    })),
  );
  const flat = pools.flatMap((pool, pi) => pool.map((c) => ({ c, item: { problem: problems[pi].problem, steps: c.steps } })));
  // 2. every distinct solution scored once by each model
  await timed('score prm', async () => {
    const out = await scorer.score(flat.map((f) => f.item));
    flat.forEach((f, i) => {
      const s = H.chainScores(out[i].stepProbs);
      Object.assign(f.c, { stepProbs: out[i].stepProbs });
      Object.assign(f.c.scores, { min: s.min, prod: s.prod, ...(models.standIn ? { orm: s.last } : {}) });
    });
  });
  if (!models.standIn) await timed('score orm', async () => (await models.ormScores(flat.map((f) => f.item))).forEach((x, i) => (flat[i].c.scores.orm = x)));
  if (models.headOnly)
    await timed('score head-only', async () => {
      const ho = models.headOnly;
      const prm = await ho.prmScores(flat.map((f) => f.item));
      const orm = await ho.ormScores(flat.map((f) => f.item));
      flat.forEach((f, i) => {
        const s = H.chainScores(prm[i]);
        Object.assign(f.c, { hoStepProbs: prm[i] });
        Object.assign(f.c.scores, { hoMin: s.min, hoProd: s.prod, hoOrm: orm[i] });
      });
    });
  // 3. best-of-N for every N from the one pool
  for (const N of CONFIG.Ns) {
    for (const [m, rule] of METHODS) put(m, N, pools.reduce((a, pool) => a + H.subsampledAccuracy(pool, N, rule), 0) / pools.length);
    bestSteps.set(N, [...(bestSteps.get(N) ?? []), (N * flat.reduce((a, f) => a + f.c.steps.length, 0)) / flat.length]);
  }
  // 4. PRM beam search at the same budget: all problems at once, so each round is one batch
  for (const N of CONFIG.Ns) {
    const m = Math.min(CONFIG.beam.expansions, N);
    const width = Math.max(1, Math.floor(N / m));
    const runs = await timed('beam', () =>
      Promise.all(problems.map((p, pi) =>
        S.beamSearch(p.problem, { generator, scorer, beamWidth: width, expansions: m, seed: seed * 1000 + pi + 500_000 + N, maxSteps: STEPS + 2, budget: { completions: STEPS * N }, incremental: false }),
      )),
    );
    const right = (p, answer) => answer !== undefined && S.answersEqual(answer, String(p.answer));
    put('beam', N, runs.filter((r, i) => right(problems[i], r.answer)).length / problems.length);
    put('beam-best', N, runs.filter((r, i) => right(problems[i], S.selectCandidate(r.candidates, 'best').answer)).length / problems.length);
    beamSteps.set(N, [...(beamSteps.get(N) ?? []), runs.reduce((a, r) => a + r.usage.completions, 0) / runs.length]);
  }
  // 5. first-error F1 of each PRM over every sampled solution
  const chains = flat.map((f) => f.c);
  f1.prm.push(H.firstErrorF1(chains.map((c) => ({ verifier: c.verifier, stepProbs: c.stepProbs })), CONFIG.threshold));
  if (f1.ho) f1.ho.push(H.firstErrorF1(chains.map((c) => ({ verifier: c.verifier, stepProbs: c.hoStepProbs })), CONFIG.threshold));
  perSeed.push({ seed, problems: problems.length, singleSampleAccuracy: chains.filter((c) => c.correct).length / chains.length, wrongStepChains: chains.filter((c) => c.verifier.includes(false)).length / chains.length });
  console.error(`  seed ${seed}: ${problems.length} problems, ${((performance.now() - t0) / 1000).toFixed(0)} s; PRM calls so far ${scorer.stats.calls}, chains scored ${scorer.stats.scored} of ${scorer.stats.requested} asked`);
}
const seconds = (performance.now() - t0) / 1000;

// ---- summary, verdicts and table ------------------------------------------------------------
const per = (m, N) => acc.get(`${m}@${N}`);
const sum = (m, N) => H.meanSpread(per(m, N));
const big = CONFIG.Ns.filter((N) => N >= 4);
const searchNs = CONFIG.Ns.filter((N) => N >= 2);
const verdicts = [
  ['PRM (min) ≥ ORM at every N ≥ 4, gap growing', H.compareMethods(per, 'prm-min', 'orm', big, { growing: true })],
  ['PRM (prod) ≥ ORM at every N ≥ 4, gap growing', H.compareMethods(per, 'prm-prod', 'orm', big, { growing: true })],
  // at N = 1 beam search and best-of-N are both one sample, with nothing to choose
  ['beam search ≥ best-of-N (PRM min) at equal budget, N ≥ 2', H.compareMethods(per, 'beam', 'prm-min', searchNs)],
  ['beam search ≥ best-of-N (PRM-weighted vote) at equal budget, N ≥ 2', H.compareMethods(per, 'beam', 'prm-weighted', searchNs)],
];
if (models.headOnly) verdicts.push(['fine-tuned PRM (min) ≥ head-only PRM (min)', H.compareMethods(per, 'prm-min', 'ho-prm-min', CONFIG.Ns)], ['fine-tuned ORM ≥ head-only ORM', H.compareMethods(per, 'orm', 'ho-orm', CONFIG.Ns)]);
const pad = (s, n) => String(s).padStart(n);
const cell = (m, N) => {
  const s = sum(m, N);
  return `${s.mean.toFixed(3)}±${s.sd.toFixed(3)}`;
};
const table = (names) => {
  const header = `${pad('N', 4)} | ${names.map((m) => pad(m, 13)).join(' ')}`;
  return [header, '-'.repeat(header.length), ...CONFIG.Ns.map((N) => `${pad(N, 4)} | ${names.map((m) => pad(cell(m, N), 13)).join(' ')}`)];
};
const pct = (xs, k) => H.meanSpread(xs.map((x) => x[k]));
const f1Line = (name, xs) => {
  const [f, e, c] = [pct(xs, 'f1'), pct(xs, 'erroneousAccuracy'), pct(xs, 'correctAccuracy')];
  const n = xs[0];
  return `${name}: F1 ${f.mean.toFixed(1)} ± ${f.sd.toFixed(1)} (first error exact on erroneous chains ${e.mean.toFixed(1)} %, error-free chains kept ${c.mean.toFixed(1)} %; per seed ${n.erroneous.total} erroneous + ${n.correct.total} error-free sampled chains)`;
};
const single = H.meanSpread(perSeed.map((s) => s.singleSampleAccuracy));
const mainNames = NAMES.filter((m) => !m.startsWith('ho-'));
const report = [
  `ORM vs PRM on the arithmetic task: ${CONFIG.problems} held-out problems × ${CONFIG.seeds.length} seeds (${CONFIG.seeds.join(', ')}), ${STEPS} steps, the demo models' task and policy (demoTaskOptions, demoPolicyOptions: slip ${CONFIG.policy.slipRate}); ${quick ? 'quick' : 'full'} run`,
  ...models.describe,
  `policy alone: one sample correct ${single.mean.toFixed(3)} ± ${single.sd.toFixed(3)}; ${(100 * H.meanSpread(perSeed.map((s) => s.wrongStepChains)).mean).toFixed(1)} % of samples have a wrong step`,
  `accuracy (final answer correct by the verifier), mean ± sd over seeds; best-of-N from ${CONFIG.pool} samples per problem in ${CONFIG.pool}/N disjoint groups of N`,
  ...table(mainNames),
  ...(models.headOnly ? ['', 'head-only heads (prmkit train on the frozen backbone), the same pools:', ...table(NAMES.filter((m) => m.startsWith('ho-')))] : []),
  '',
  `generated steps per problem (the budget): ${CONFIG.Ns.map((N) => `N=${N} best-of-N ${H.meanSpread(bestSteps.get(N)).mean.toFixed(1)}, beam ${H.meanSpread(beamSteps.get(N)).mean.toFixed(1)}`).join('; ')}`,
  '',
  `first-error F1 against the verifier (ProcessBench's metric; first step with P(correct) < ${CONFIG.threshold}), mean ± sd over seeds:`,
  f1Line('  fine-tuned PRM', f1.prm),
  ...(f1.ho ? [f1Line('  head-only PRM', f1.ho)] : []),
  '',
  "the seeds' claims, here (means over seeds; a gap is the first method's accuracy minus the second's):",
  ...verdicts.flatMap(([claim, v]) => [`- ${claim}:`, ...v.verdict.map((l) => `    ${l}`)]),
];
if (models.standIn) report.splice(1, 0, '!! DEV RUN: the "orm" column is a STAND-IN (the PRM\'s last-step probability), not a learned ORM');
console.log('\n' + report.join('\n'));
console.log(`\n${seconds.toFixed(1)} s total; ${Object.entries(timing).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ')}; PRM: ${scorer.stats.scored} chains scored of ${scorer.stats.requested} asked, in ${scorer.stats.calls} calls; ${dropped} problems met in training dropped`);

// ---- JSON and plot ------------------------------------------------------------------------------
const outDir = resultsDir(quick);
const results = CONFIG.Ns.flatMap((N) => NAMES.map((m) => ({ N, method: m, ...round(sum(m, N)), perSeed: per(m, N).map((x) => +x.toFixed(4)), stepsPerProblem: +H.meanSpread((m.startsWith('beam') ? beamSteps : bestSteps).get(N)).mean.toFixed(1) })));
const methods = Object.fromEntries([...METHODS.map(([m, , d]) => [m, d]), ...BEAM]);
const jsonFile = writeResult('orm-vs-prm', {
  bench: 'orm-vs-prm', config: CONFIG, models: models.record, methods, seconds: +seconds.toFixed(1), timing, prmCache: scorer.stats, droppedAsSeenInTraining: dropped,
  perSeed, results, firstErrorF1: f1, verdicts: verdicts.map(([claim, v]) => ({ claim, holds: v.atLeast && v.grows !== false, ...v })),
}, { quick, report });
const COLORS = { 'pass@N': '#9e9e9e', majority: '#795548', orm: '#ff9800', 'prm-min': '#2196f3', 'prm-prod': '#3f51b5', 'prm-weighted': '#009688', beam: '#e91e63', 'beam-best': '#f48fb1', 'ho-orm': '#ffcc80', 'ho-prm-min': '#90caf9', 'ho-prm-prod': '#9fa8da', 'ho-prm-weighted': '#80cbc4' };
const series = NAMES.map((m) => ({ name: m, color: COLORS[m], dash: m === 'pass@N' ? '4 3' : m.startsWith('ho-') ? '2 2' : undefined, mean: CONFIG.Ns.map((N) => sum(m, N).mean), sd: CONFIG.Ns.map((N) => sum(m, N).sd) }));
const svgFile = join(outDir, 'orm-vs-prm.svg');
writeFileSync(svgFile, accuracyPlot({
  title: `Learned ORM vs PRM, arithmetic task (${CONFIG.problems} held-out problems × ${CONFIG.seeds.length} seeds)`,
  subtitle: `mean ± sd over seeds; policy alone ${single.mean.toFixed(3)}${models.standIn ? '; orm = STAND-IN (PRM last step)' : ''}`,
  Ns: CONFIG.Ns,
  series,
}));
console.log(`wrote ${jsonFile} and ${svgFile}`);
await models.close();

function round(s) {
  return { mean: +s.mean.toFixed(4), sd: +s.sd.toFixed(4), min: +s.min.toFixed(4), max: +s.max.toFixed(4) };
}
