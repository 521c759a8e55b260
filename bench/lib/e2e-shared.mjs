// bench:e2e's shared-prefix cases, on a model large enough that a token's compute, not a
// call's fixed cost, is what is timed (the per-token ratios are the point):
//   C. best-of-8 groups sharing a problem: prm.score with shared prefixes vs each chain alone
//      (one-pass float32), and one candidate per call through a prefix cache (how a service
//      sees a group sent as separate requests). Backbone tokens run vs the unique tokens,
//      and time per unique token vs time per one-pass token.
//   D. beam search with a cache: beams scored incrementally on their sessions' keys/values,
//      or one prm.score per round through a prefix cache, vs rescoring every candidate chain
//      alone; the per-token cost of an incremental token vs a one-pass token.
import { PrmSession } from '../../dist/index.js';
import { rng } from './random.mjs';

const GROUP = 8;

/** Distinct token prefixes over rows: the tokens a run that shares every prefix needs. */
function uniqueTokens(rows) {
  const seen = new Set();
  for (const r of rows) for (let k = 1; k <= r.length; k++) seen.add(r.subarray(0, k).join(','));
  return seen.size;
}

/** Each chain's tokens up to its last step's end (what scoring runs). */
function liveRows(prm, items) {
  const enc = prm.encode(items);
  const { offsets, positions } = enc.boundaries;
  return enc.inputIds.map((ids, i) => ids.subarray(0, positions[offsets[i + 1] - 1] + 1));
}

/** Same-run comparisons on `prm` (a KV-cache model); `timed(prm, [fns])` alternates them. */
export async function sharedPrefixCases({ prm, shape, text, quick, timed, progress }) {
  const r = rng(7);
  const stepPool = shape.chains.flatMap((c) => c.steps);
  const pick = () => stepPool[Math.floor(r() * stepPool.length)];

  // ---- C: best-of-8 ----
  const groups = shape.chains.slice(0, quick ? 2 : 4).map((c, g) => {
    const problem = `G${g}: ${text(c.problem)}`;
    return Array.from({ length: GROUP }, () => ({ problem, steps: Array.from({ length: c.steps.length }, () => text(pick())) }));
  });
  const items = groups.flat();
  const cache = prm.prefixCache({ maxBytes: 1 << 30 });
  const perCall = async () => {
    cache.clear();
    for (const it of items) await prm.score([it], { prefixCache: cache });
  };
  const [alone, shared, viaCache] = await timed(prm, [() => prm.score(items, { sharePrefixes: false }), () => prm.score(items), perCall]);
  const a = await prm.score(items, { sharePrefixes: false });
  let maxDiff = 0;
  const check = (b) => b.forEach((x, i) => x.stepProbs.forEach((p, j) => (maxDiff = Math.max(maxDiff, Math.abs(p - a[i].stepProbs[j])))));
  check(await prm.score(items));
  cache.clear();
  const one = [];
  for (const it of items) one.push(...(await prm.score([it], { prefixCache: cache })));
  check(one);
  const unique = uniqueTokens(liveRows(prm, items));
  const onePassPerToken = alone.ms / alone.tokens;
  const bestOf8 = {
    groups: groups.length,
    candidates: items.length,
    chainTokens: alone.tokens,
    uniqueTokens: unique,
    alone,
    shared,
    viaCache,
    maxAbsDiff: maxDiff,
    sharedTokensOverUnique: shared.tokens / unique,
    cacheTokensOverUnique: viaCache.tokens / unique,
    sharedMsPerUniqueOverOnePass: shared.ms / unique / onePassPerToken,
    cacheMsPerUniqueOverOnePass: viaCache.ms / unique / onePassPerToken,
    speedup: alone.ms / shared.ms,
  };
  cache.clear();

  progress('C done');
  // ---- D: beam search ----
  const WIDTH = 4;
  const PROPOSALS = 4;
  const DEPTH = quick ? 3 : 6;
  const problems = shape.chains.slice(10, 11).map((c, i) => `B${i}: ${text(c.problem)}`);
  const plans = problems.map((_, i) => {
    const rr = rng(2000 + i);
    return Array.from({ length: DEPTH }, () => Array.from({ length: WIDTH * PROPOSALS }, () => text(stepPool[Math.floor(rr() * stepPool.length)]).slice(0, 400)));
  });
  const top = (scores) => scores.map((s, i) => [s, i]).sort((x, y) => y[0] - x[0] || x[1] - y[1]).slice(0, WIDTH).map(([, i]) => i);
  // one round's candidates: each beam's proposals
  const expand = (beams, plan, d) => beams.flatMap((steps, bi) => plan[d].slice(bi * PROPOSALS, (bi + 1) * PROPOSALS).map((s) => [...steps, s]));
  const byScore = (options) => async (problem, plan) => {
    let beams = [[]];
    for (let d = 0; d < DEPTH; d++) {
      const cands = expand(beams, plan, d);
      const scored = await prm.score(cands.map((steps) => ({ problem, steps })), { aggregate: 'min', ...options });
      beams = top(scored.map((s) => s.score)).map((i) => cands[i]);
    }
    return beams;
  };
  const incremental = async (problem, plan) => {
    let beams = [{ steps: [], session: await prm.session({ problem, steps: [] }) }];
    for (let d = 0; d < DEPTH; d++) {
      const scored = await PrmSession.scoreMany(
        beams.map((bm, bi) => ({ session: bm.session, continuations: plan[d].slice(bi * PROPOSALS, (bi + 1) * PROPOSALS).map((s) => [s]) })),
        { aggregate: 'min', keep: true },
      );
      const flat = scored.flatMap((rs, bi) => rs.map((res, k) => ({ res, steps: [...beams[bi].steps, plan[d][bi * PROPOSALS + k]] })));
      const next = top(flat.map((f) => f.res.score)).map((i) => ({ steps: flat[i].steps, session: flat[i].res.session }));
      // the beams not kept free their keys/values now
      for (const f of flat) if (!next.some((n) => n.session === f.res.session)) f.res.session.release();
      for (const bm of beams) bm.session.release();
      beams = next;
    }
    for (const bm of beams) bm.session.release();
    return beams.map((bm) => bm.steps);
  };
  const beamCache = prm.prefixCache({ maxBytes: 1 << 30 });
  const all = (fn, before) => async () => {
    before?.();
    const out = [];
    for (let i = 0; i < problems.length; i++) out.push(await fn(problems[i], plans[i]));
    return out;
  };
  const rescoreFn = all(byScore({ sharePrefixes: false }));
  const incrementalFn = all(incremental);
  const cachedFn = all(byScore({ prefixCache: beamCache }), () => beamCache.clear());
  const [rescore, incr, cached] = await timed(prm, [rescoreFn, incrementalFn, cachedFn], quick ? 600 : 6000);
  const ref = JSON.stringify(await rescoreFn());
  const sameBeams = JSON.stringify(await incrementalFn()) === ref && JSON.stringify(await cachedFn()) === ref;
  beamCache.clear();
  progress('D done');
  const perToken = (m) => m.ms / m.tokens;
  const beam = {
    problems: problems.length,
    width: WIDTH,
    proposals: PROPOSALS,
    depth: DEPTH,
    rescore,
    incremental: incr,
    cached,
    sameBeams,
    incrementalTokenOverOnePass: perToken(incr) / perToken(rescore),
    cachedTokenOverOnePass: perToken(cached) / perToken(rescore),
    incrementalSpeedup: rescore.ms / incr.ms,
    cachedSpeedup: rescore.ms / cached.ms,
  };
  return { bestOf8, beam };
}

/** The report's lines for the shared-prefix cases. */
export function sharedPrefixReport({ bestOf8: c, beam: d }, fmt) {
  const row = (name, m, extra) => `| ${name} | ${fmt(m.ms)} | ${m.runs} | ${m.tokens.toLocaleString('en-US')} | ${fmt((m.ms / m.tokens) * 1000, 2)} | ${extra} |`;
  return [
    `C. best-of-${GROUP}: ${c.groups} problems x ${GROUP} candidates; ${c.chainTokens.toLocaleString('en-US')} chain tokens, ${c.uniqueTokens.toLocaleString('en-US')} unique (max |Δp| vs each chain alone ${c.maxAbsDiff.toExponential(1)})`,
    '',
    '| case | median ms/run | runs | backbone tokens/run | µs per backbone token | notes |',
    '|---|---:|---:|---:|---:|---|',
    row('C each chain alone (one-pass float32)', c.alone, 'baseline'),
    row('C prm.score, shared prefixes', c.shared, `tokens run / unique ${fmt(c.sharedTokensOverUnique, 3)}; µs per unique token ${fmt((c.shared.ms / c.uniqueTokens) * 1000, 2)}`),
    row('C one candidate per call, prefix cache', c.viaCache, `tokens run / unique ${fmt(c.cacheTokensOverUnique, 3)}; µs per unique token ${fmt((c.viaCache.ms / c.uniqueTokens) * 1000, 2)}`),
    row('D beam, rescoring each chain alone', d.rescore, 'one-pass tokens'),
    row('D beam, incremental sessions (KV)', d.incremental, `same beams: ${d.sameBeams ? 'yes' : 'NO'}`),
    row('D beam, prm.score per round + prefix cache', d.cached, ''),
    '',
    '| same-run ratio | value | target |',
    '|---|---:|---|',
    `| best-of-8: backbone tokens run / unique tokens (shared prefixes) | ${fmt(c.sharedTokensOverUnique, 3)} | = 1.00 |`,
    `| best-of-8: time per unique token / one-pass time per token (shared prefixes) | ${fmt(c.sharedMsPerUniqueOverOnePass, 2)} | ≤ 1.1 |`,
    `| best-of-8: the same, one candidate per call through a prefix cache | ${fmt(c.cacheMsPerUniqueOverOnePass, 2)} | |`,
    `| best-of-8: speedup of shared prefixes over each chain alone | ${fmt(c.speedup, 2)}x | |`,
    `| beam (${d.problems} problem${d.problems === 1 ? "" : "s"}, width ${d.width} x ${d.proposals} proposals x ${d.depth} steps): incremental token / one-pass token | ${fmt(d.incrementalTokenOverOnePass, 2)} | ≤ 1.3 |`,
    `| beam: prefix-cache token / one-pass token | ${fmt(d.cachedTokenOverOnePass, 2)} | |`,
    `| beam: speedup over rescoring (incremental, prefix cache) | ${fmt(d.incrementalSpeedup, 2)}x, ${fmt(d.cachedSpeedup, 2)}x | |`,
  ];
}
