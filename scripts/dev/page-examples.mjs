// Writes lib/server/ui/assets/examples.json, the scoring page's one-click examples: problems of
// the arithmetic task the demo PRM was trained on (demoTaskOptions), solved correctly and with
// a slip at a chosen step (later steps carry on from the wrong value). Only problems on which
// the demo PRM's verdict at the page's default threshold matches the task's verifier are
// taken, so a first click shows the model working. Run after `npx tsc -p tsconfig.json`:
//   node scripts/dev/page-examples.mjs
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Prm } from '../../dist/index.js';
import { createArithmeticProblems, demoTaskOptions, formatStep, solveArithmetic, verifySteps } from '../../dist/testing/arithmetic.js';

const SEED = 2024;
const THRESHOLD = 0.5;

/** The correct solution with its result at step k off by `by`; later steps carry on from it. */
function slipAt(p, k, by) {
  const steps = solveArithmetic(p);
  let v = k === 0 ? p.start : p.values[k - 1];
  for (let i = k; i < p.operations.length; i++) {
    const o = p.operations[i];
    const exact = o.op === '+' ? v + o.operand : o.op === '-' ? v - o.operand : o.op === '*' ? v * o.operand : v / o.operand;
    if (!Number.isInteger(exact)) return undefined; // a later division would not stay exact
    const c = exact + (i === k ? by : 0);
    steps[i] = formatStep(v, o.op, o.operand, c, i === p.operations.length - 1);
    v = c;
  }
  return steps;
}

const WANTED = [
  { title: 'A wrong third step', slips: [[2, 7], null] },
  { title: 'Three candidates', slips: [null, [1, 10], [3, 6]] },
  { title: 'A correct solution', slips: [null] },
];

const prm = await Prm.demo();
const problems = createArithmeticProblems(64, { ...demoTaskOptions, seed: SEED });
const used = new Set();
const examples = [];
for (const want of WANTED) {
  let found;
  for (const [index, p] of problems.entries()) {
    if (used.has(index)) continue;
    const candidates = want.slips.map((s) => (s ? slipAt(p, s[0], s[1]) : solveArithmetic(p)));
    if (candidates.some((c) => c === undefined)) continue;
    const truth = candidates.map((c) => verifySteps(p, c).indexOf(false));
    const scored = await prm.score(candidates.map((steps) => ({ problem: p.problem, steps })), { errorThreshold: THRESHOLD });
    // the model agrees with the verifier, with a margin either side of the threshold
    const clear = scored.every((r, i) => r.firstError === truth[i] && r.stepProbs.every((q, k) => (k < truth[i] || truth[i] < 0 ? q > 0.7 : k === truth[i] ? q < 0.3 : true)));
    if (!clear) continue;
    found = { title: want.title, problem: p.problem, candidates: candidates.map((c) => c.join('\n')), source: { seed: SEED, steps: p.operations.length, index, firstWrong: truth } };
    used.add(index);
    break;
  }
  if (!found) throw new Error(`no problem among ${problems.length} for "${want.title}" on which the demo PRM agrees with the verifier`);
  examples.push(found);
}
await prm.close();
const out = fileURLToPath(new URL('../../lib/server/ui/assets/examples.json', import.meta.url));
writeFileSync(out, JSON.stringify(examples, null, 2) + '\n');
console.log(`wrote ${examples.length} examples to ${out}: ${examples.map((e) => `${e.title} (problem ${e.source.index})`).join(', ')}`);
