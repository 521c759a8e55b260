#!/usr/bin/env node
// Writes the arithmetic task's training and evaluation data as JSONL, all from prmkit itself:
// problems from createArithmeticProblems, policy samples from ArithmeticGenerator, Monte-Carlo
// step labels from labelSteps (rollouts of the same generator), exact labels from the
// verifier. Everything is seeded: the same command writes the same bytes.
//
//   node scripts/dev/arithmetic/make-data.mjs --out DIR [--seed 1] [--lm 200000] [--train 40000]
//        [--eval 2000] [--samples 4] [--rollouts 8] [--slip 0.1] [--task '{"steps":4}']
//
// DIR/lm.jsonl     {problem, steps}                      correct solutions (LM pretraining)
// DIR/train.jsonl  {id, problem, steps, verifier, hard, soft, outcome}   policy samples
// DIR/eval.jsonl   the same, on problems made with another seed (held out)
import { mkdirSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ArithmeticGenerator,
  createArithmeticProblems,
  finalAnswerCorrect,
  solveArithmetic,
  verifySteps,
} from 'prmkit/testing/arithmetic';
import { labelSteps } from 'prmkit/eval';

const { values: args } = parseArgs({
  options: {
    out: { type: 'string' },
    seed: { type: 'string', default: '1' },
    lm: { type: 'string', default: '200000' },
    train: { type: 'string', default: '40000' },
    eval: { type: 'string', default: '2000' },
    samples: { type: 'string', default: '4' },
    rollouts: { type: 'string', default: '8' },
    slip: { type: 'string', default: '0.1' },
    task: { type: 'string', default: '{}' },
    only: { type: 'string' },
  },
});
if (!args.out) throw new TypeError('--out DIR is required');
const seed = Number(args.seed);
const task = JSON.parse(args.task);
const slipRate = Number(args.slip);
const samples = Number(args.samples);
mkdirSync(args.out, { recursive: true });
const only = args.only ? new Set(args.only.split(',')) : undefined;

// problem seeds per split; `seed` moves them all, so two data sets never share problems
const SEEDS = { lm: seed * 1000 + 1, train: seed * 1000 + 2, eval: seed * 1000 + 3 };

function writeLines(path, rows) {
  return new Promise((resolve, reject) => {
    const s = createWriteStream(path);
    s.on('error', reject);
    s.on('finish', resolve);
    for (const r of rows) s.write(JSON.stringify(r) + '\n');
    s.end();
  });
}

/** Full policy chains: each problem sampled `samples` times, step by step until it ends. */
async function sampleChains(problems, generator, sampleSeed) {
  const live = [];
  problems.forEach((p, i) => {
    for (let j = 0; j < samples; j++) live.push({ id: `${p.id}-s${j}`, p, steps: [], done: false });
  });
  for (let round = 0; live.some((c) => !c.done); round++) {
    const open = live.filter((c) => !c.done);
    for (let k = 0; k < open.length; k += 4096) {
      const batch = open.slice(k, k + 4096);
      const got = await generator.generate(
        batch.map((c) => ({ problem: c.p.problem, steps: c.steps, n: 1 })),
        { seed: sampleSeed * 100003 + round * 7919 + k },
      );
      got.forEach(([cont], b) => {
        const c = batch[b];
        c.steps.push(cont.text);
        if (cont.finishReason !== 'stop' || c.steps.length >= 40) c.done = true;
      });
    }
  }
  return live;
}

async function labelled(name, count) {
  const problems = createArithmeticProblems(count, { ...task, seed: SEEDS[name] });
  const generator = new ArithmeticGenerator({ problems, slipRate, seed: SEEDS[name] });
  const chains = await sampleChains(problems, generator, SEEDS[name]);
  const t0 = Date.now();
  const { labels } = await labelSteps(
    chains.map((c) => ({ id: c.id, problem: c.p.problem, steps: c.steps, goldAnswer: String(c.p.answer) })),
    {
      generator,
      n: Number(args.rollouts),
      chainsPerBatch: 512,
      maxRequestsPerCall: 8192,
      generation: { seed: SEEDS[name] },
      onProgress: (done, total) => process.stderr.write(`\r${name}: labelled ${done}/${total} chains`),
    },
  );
  process.stderr.write(` (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  const rows = chains.map((c, i) => ({
    id: c.id,
    problem: c.p.problem,
    steps: c.steps,
    verifier: verifySteps(c.p, c.steps),
    hard: labels[i].hardLabels,
    soft: labels[i].softLabels,
    outcome: finalAnswerCorrect(c.p, c.steps),
  }));
  await writeLines(join(args.out, `${name}.jsonl`), rows);
  const steps = rows.flatMap((r) => r.verifier);
  const bad = steps.filter((x) => !x).length;
  const ok = rows.filter((r) => r.outcome).length;
  console.log(`${name}: ${rows.length} chains, ${steps.length} steps (${bad} wrong by the verifier), ${ok} correct answers`);
}

if (!only || only.has('lm')) {
  const problems = createArithmeticProblems(Number(args.lm), { ...task, seed: SEEDS.lm });
  await writeLines(join(args.out, 'lm.jsonl'), problems.map((p) => ({ problem: p.problem, steps: solveArithmetic(p) })));
  console.log(`lm: ${problems.length} correct solutions`);
}
if (!only || only.has('train')) await labelled('train', Number(args.train));
if (!only || only.has('eval')) await labelled('eval', Number(args.eval));
writeFileSync(join(args.out, 'args.json'), JSON.stringify({ ...args, seeds: SEEDS }, null, 2) + '\n');
