// The arithmetic of bench:orm-vs-prm, apart from the models so a test can check it against
// plain computations: which answer a selection rule picks from a pool of scored solutions,
// best-of-N accuracy estimated from one large pool, a PRM's first-error F1 against exact
// step labels (ProcessBench's metric), the spread over seeds, and the verdicts on the claims.
import { selectCandidate } from '../../dist/search/index.js';
import { firstBelowThreshold, subsetMetrics } from '../../dist/eval/index.js';

/**
 * A selection rule: `score` names the candidate score it ranks or weighs by (undefined for a
 * plain vote), `selection` is prmkit's ('best', 'majority', 'weighted'); 'oracle' is pass@N.
 * @typedef {{ score?: string, selection: 'best' | 'majority' | 'weighted' | 'oracle' }} Rule
 * A candidate solution: its final answer, whether the verifier accepts it, and its scores.
 * @typedef {{ answer?: string, correct: boolean, scores: Record<string, number> }} Candidate
 */

/** Whether the answer `rule` picks from `cands` is correct (prmkit's selectCandidate picks it). */
export function pickCorrect(cands, rule) {
  if (rule.selection === 'oracle') return cands.some((c) => c.correct);
  const chains = cands.map((c, i) => ({
    nodeId: i,
    steps: [],
    answer: c.answer,
    finished: true,
    score: rule.score === undefined ? undefined : c.scores[rule.score],
  }));
  const chosen = selectCandidate(chains, rule.selection).chain;
  return chosen === undefined ? false : cands[chosen.nodeId].correct;
}

/**
 * Best-of-N accuracy on one problem from a pool of M >= N samples: the pool is cut, in order,
 * into floor(M / N) disjoint groups of N, and the share of groups whose pick is correct is
 * returned. Every group is an independent best-of-N draw, so N < M costs no new samples and
 * the estimate averages over M / N draws instead of one.
 */
export function subsampledAccuracy(pool, N, rule) {
  if (!Number.isInteger(N) || N < 1 || N > pool.length) throw new RangeError(`N must be an integer in 1..${pool.length} (the pool), got ${N}`);
  const groups = Math.floor(pool.length / N);
  let hits = 0;
  for (let g = 0; g < groups; g++) if (pickCorrect(pool.slice(g * N, (g + 1) * N), rule)) hits++;
  return hits / groups;
}

/** Chain scores from a PRM's step probabilities, as best-of-N ranks by them. */
export function chainScores(stepProbs) {
  let min = Infinity;
  let prod = 1;
  for (const p of stepProbs) {
    min = Math.min(min, p);
    prod *= p;
  }
  return { min: stepProbs.length ? min : NaN, prod: stepProbs.length ? prod : NaN, last: stepProbs.length ? stepProbs[stepProbs.length - 1] : NaN };
}

/**
 * ProcessBench's metric for a PRM against exact step labels. Each chain gives `verifier`
 * (label[i] = steps 0..i all correct, as verifySteps returns) and the PRM's `stepProbs`. The
 * truth is the first step the verifier rejects (-1: none); the prediction is the first step
 * with P(correct) < threshold (-1: none). Accuracy on chains with an error (index exact), on
 * error-free chains (predicted -1), and F1 = their harmonic mean, all in percent.
 */
export function firstErrorF1(chains, threshold = 0.5) {
  const records = chains.map((c, i) => {
    if (c.stepProbs.length !== c.verifier.length) throw new RangeError(`chain ${i}: ${c.stepProbs.length} step probabilities for ${c.verifier.length} steps`);
    return { id: String(i), label: c.verifier.indexOf(false) };
  });
  const predictions = chains.map((c) => firstBelowThreshold(c.stepProbs, threshold));
  const m = subsetMetrics('arithmetic', records, predictions);
  return {
    threshold,
    erroneous: m.erroneous,
    correct: m.correct,
    erroneousAccuracy: m.erroneousAccuracy,
    correctAccuracy: m.correctAccuracy,
    f1: m.f1,
  };
}

/** Mean and sample standard deviation (0 for one value), min and max. */
export function meanSpread(xs) {
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN, min: NaN, max: NaN, n };
  const mean = xs.reduce((a, x) => a + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...xs), max: Math.max(...xs), n };
}

const signed = (x) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;

/**
 * Whether method `a` is at least method `b` at every N in `Ns` (means over seeds), and, with
 * `growing`, whether a − b grows: larger at the last N than at the first, and never smaller
 * from one N to the next. `acc(method, N)` gives the per-seed accuracies. Returns the gaps,
 * seeds where a >= b, and verdict lines that say plainly where the claim fails.
 */
export function compareMethods(acc, a, b, Ns, { growing = false } = {}) {
  const rows = Ns.map((N) => {
    const xa = acc(a, N);
    const xb = acc(b, N);
    const gaps = xa.map((x, s) => x - xb[s]);
    return { N, gap: meanSpread(gaps).mean, seedsAtLeast: gaps.filter((g) => g >= 0).length, seeds: gaps.length };
  });
  const fails = rows.filter((r) => r.gap < 0).map((r) => r.N);
  const atLeast = fails.length === 0;
  let grows;
  let steady;
  if (growing && rows.length > 1) {
    grows = rows[rows.length - 1].gap > rows[0].gap;
    steady = rows.every((r, i) => i === 0 || r.gap >= rows[i - 1].gap);
  }
  const gaps = rows.map((r) => `N=${r.N} ${signed(r.gap)} (${r.seedsAtLeast}/${r.seeds} seeds ≥)`).join(', ');
  const verdict = [`${a} − ${b}: ${gaps}`];
  verdict.push(atLeast ? `  ${a} ≥ ${b} at every N = ${Ns.join(', ')}: holds` : `  ${a} ≥ ${b} at every N: does NOT hold (${a} < ${b} at N = ${fails.join(', ')})`);
  if (growing && rows.length > 1) {
    const range = `${signed(rows[0].gap)} at N=${rows[0].N} → ${signed(rows[rows.length - 1].gap)} at N=${rows[rows.length - 1].N}`;
    const shrinks = rows.filter((r, i) => i > 0 && r.gap < rows[i - 1].gap).map((r) => r.N);
    verdict.push(
      !grows
        ? `  gap growing with N: does NOT hold (${range})`
        : steady
          ? `  gap growing with N: holds (${range}, never shrinking)`
          : `  gap growing with N: holds from first to last (${range}) but not steadily: it shrinks at N = ${shrinks.join(', ')}`,
    );
  }
  return { rows, atLeast, grows, steady, verdict };
}
