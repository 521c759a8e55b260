// Reading a memory series sampled under steady load. A least-squares line over the whole
// window mixes two things: an allocator or arena that steps up once and stays (warm-up, a new
// largest batch shape) and a leak that keeps climbing. So the series is cut at its steps, and
// what counts is the plateau after the last one and the slope along it.

/** Least-squares slope of `key` over `t` (seconds), in units per minute; NaN under 3 points. */
export function slopePerMinute(samples, key) {
  if (samples.length < 3) return NaN;
  const n = samples.length;
  const mt = samples.reduce((a, s) => a + s.t, 0) / n;
  const my = samples.reduce((a, s) => a + s[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - mt) * (s[key] - my);
    den += (s.t - mt) ** 2;
  }
  return den > 0 ? (num / den) * 60 : NaN;
}

/**
 * Steps, plateau and the slope after the last step of `key` in `samples` ([{ t, [key] }],
 * t in seconds). A step is a rise between two samples larger than `minStep` MB, 5 times the
 * median rise and a tenth of the series' range (so a series that climbs evenly, as a leak
 * does, has no steps: its plateau is the whole window and its slope is the leak's rate). The plateau must span at least
 * `minPlateau` of the window; when the last step leaves less, there is none yet (null), and
 * the slope is the whole window's.
 */
export function memoryPlateau(samples, key, { minStep = 4, minPlateau = 0.25 } = {}) {
  const whole = slopePerMinute(samples, key);
  if (samples.length < 3) return { steps: [], plateau: null, slopeMbPerMin: whole, wholeWindowSlopeMbPerMin: whole };
  const rises = samples.slice(1).map((s, i) => s[key] - samples[i][key]);
  const sorted = rises.map(Math.abs).sort((a, b) => a - b);
  const typical = sorted[Math.floor(sorted.length / 2)];
  const ys0 = samples.map((s) => s[key]);
  const big = Math.max(minStep, 5 * typical, 0.1 * (Math.max(...ys0) - Math.min(...ys0)));
  const steps = [];
  rises.forEach((d, i) => {
    if (d > big) steps.push({ t: samples[i + 1].t, mb: d });
  });
  const span = samples[samples.length - 1].t - samples[0].t;
  const from = steps.length > 0 ? steps[steps.length - 1].t : samples[0].t;
  const after = samples.filter((s) => s.t >= from);
  if (after.length < 3 || samples[samples.length - 1].t - from < minPlateau * span) {
    return { steps, plateau: null, slopeMbPerMin: whole, wholeWindowSlopeMbPerMin: whole };
  }
  const ys = after.map((s) => s[key]);
  return {
    steps,
    plateau: { fromS: from, toS: after[after.length - 1].t, minMb: Math.min(...ys), maxMb: Math.max(...ys), meanMb: ys.reduce((a, b) => a + b, 0) / ys.length },
    slopeMbPerMin: slopePerMinute(after, key),
    wholeWindowSlopeMbPerMin: whole,
  };
}

/** One line: "+83 MB at 38 s; plateau 764..772 MB over 38-60 s, +15.3 MB/min along it (whole window: 152.9 MB/min)". */
export function describePlateau(p, digits = 1) {
  const f = (v, d = digits) => (Number.isFinite(v) ? v.toFixed(d) : '-');
  const steps = p.steps.length > 0 ? `steps ${p.steps.map((s) => `+${f(s.mb, 0)} MB at ${f(s.t, 0)} s`).join(', ')}; ` : 'no step; ';
  if (!p.plateau) return `${steps}no plateau yet (the last step leaves too little of the window); slope ${f(p.slopeMbPerMin, 2)} MB/min over the window`;
  const q = p.plateau;
  return `${steps}plateau ${f(q.minMb, 0)}..${f(q.maxMb, 0)} MB over ${f(q.fromS, 0)}-${f(q.toS, 0)} s, ${f(p.slopeMbPerMin, 2)} MB/min along it (a line over the whole window: ${f(p.wholeWindowSlopeMbPerMin, 2)})`;
}
