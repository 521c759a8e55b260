// The plot of bench:orm-vs-prm: accuracy against N (log scale) for each method, the mean over
// seeds with a bar of ± one standard deviation.

/**
 * @param {{ title: string, subtitle?: string, Ns: number[], series: { name: string, color: string, dash?: string, mean: number[], sd: number[] }[] }} plot
 * @returns {string} an SVG document
 */
export function accuracyPlot({ title, subtitle, Ns, series }) {
  const W = 780;
  const H = 500;
  const L = 60;
  const R = 200;
  const T = subtitle ? 56 : 40;
  const B = 50;
  const lows = series.flatMap((s) => s.mean.map((m, i) => m - s.sd[i])).filter(Number.isFinite);
  const y0 = Math.max(0, Math.floor(Math.min(...lows) * 10) / 10);
  const y1 = 1;
  const x0 = Math.log2(Ns[0]);
  const x1 = Math.log2(Ns[Ns.length - 1]);
  const X = (N) => L + ((Math.log2(N) - x0) / (x1 - x0 || 1)) * (W - L - R);
  const Y = (a) => T + (1 - (a - y0) / (y1 - y0)) * (H - T - B);
  const f = (v) => v.toFixed(1);
  const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${L}" y="22" font-size="14">${esc(title)}</text>`);
  if (subtitle) out.push(`<text x="${L}" y="40" fill="#555">${esc(subtitle)}</text>`);
  for (let a = y0; a <= y1 + 1e-9; a += 0.1) {
    out.push(`<line x1="${L}" x2="${W - R}" y1="${f(Y(a))}" y2="${f(Y(a))}" stroke="#eee"/>`);
    out.push(`<text x="${L - 8}" y="${f(Y(a) + 4)}" text-anchor="end">${a.toFixed(1)}</text>`);
  }
  for (const N of Ns) {
    out.push(`<line x1="${f(X(N))}" x2="${f(X(N))}" y1="${T}" y2="${H - B}" stroke="#f4f4f4"/>`);
    out.push(`<text x="${f(X(N))}" y="${H - B + 18}" text-anchor="middle">${N}</text>`);
  }
  out.push(`<line x1="${L}" x2="${W - R}" y1="${H - B}" y2="${H - B}" stroke="#333"/><line x1="${L}" x2="${L}" y1="${T}" y2="${H - B}" stroke="#333"/>`);
  out.push(`<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">N: solutions sampled (best-of-N), or the same number of generated steps (beam search); log scale</text>`);
  out.push(`<text transform="translate(16 ${(T + H - B) / 2}) rotate(-90)" text-anchor="middle">accuracy (final answer correct)</text>`);
  series.forEach((s, k) => {
    const dash = s.dash ? ` stroke-dasharray="${s.dash}"` : '';
    const pts = Ns.map((N, i) => `${f(X(N))},${f(Y(s.mean[i]))}`).join(' ');
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2"${dash} points="${pts}"/>`);
    Ns.forEach((N, i) => {
      const x = f(X(N));
      if (s.sd[i] > 0) out.push(`<line x1="${x}" x2="${x}" y1="${f(Y(s.mean[i] + s.sd[i]))}" y2="${f(Y(s.mean[i] - s.sd[i]))}" stroke="${s.color}"/>`);
      out.push(`<circle cx="${x}" cy="${f(Y(s.mean[i]))}" r="2.5" fill="${s.color}"/>`);
    });
    const ly = T + 10 + k * 20;
    out.push(`<line x1="${W - R + 15}" x2="${W - R + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${W - R + 46}" y="${ly + 4}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
