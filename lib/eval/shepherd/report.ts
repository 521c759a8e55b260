// The cost of a labelling run in the units a budget is spent in: calls and generated tokens.
import type { LabellingCost } from './label.js';

export function formatCost(c: LabellingCost): string {
  const rows: [string, string][] = [
    ['chains labelled', String(c.chains)],
    ['chains resumed from file', String(c.resumed)],
    ['prefixes rolled out', String(c.prefixes)],
    ['prefixes judged directly', String(c.directPrefixes)],
    ['generate calls', String(c.calls)],
    ['requests', String(c.requests)],
    ['completions', String(c.completions)],
    ['generated tokens', String(c.generatedTokens)],
    ['tokens per prefix', c.prefixes ? (c.generatedTokens / c.prefixes).toFixed(1) : 'n/a'],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n') + '\n';
}
