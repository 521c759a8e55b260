// ProcessBench results as the paper prints them (a table of percentages) and as JSON.
import { describeDetector } from '../detectors.js';
import type { DetectorSpec } from '../detectors.js';
import type { ProcessBenchMetrics } from './metrics.js';
import type { TunedThreshold } from './tune.js';

export interface ReportInput {
  /** Scorer name, or the predictions file the numbers came from. */
  source: string;
  detector?: DetectorSpec;
  tuned?: TunedThreshold & { subset: string };
  metrics: ProcessBenchMetrics;
}

const pct = (x: number) => (Number.isNaN(x) ? 'n/a' : x.toFixed(1));
// JSON has no NaN; an undefined accuracy (a class absent from a subset) becomes null
const num = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

export function formatTable(r: ReportInput): string {
  const header = ['subset', 'samples', 'erroneous acc', 'correct acc', 'F1'];
  const rows = r.metrics.subsets.map((s) => [
    s.subset,
    String(s.samples),
    `${pct(s.erroneousAccuracy)} (${s.erroneous.hits}/${s.erroneous.total})`,
    `${pct(s.correctAccuracy)} (${s.correct.hits}/${s.correct.total})`,
    pct(s.f1),
  ]);
  rows.push(['average', '', '', '', pct(r.metrics.averageF1)]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const line = (cells: string[]) => cells.map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join('  ');
  const out = [`ProcessBench: ${r.source}`];
  if (r.detector) out.push(`earliest error: ${describeDetector(r.detector)}`);
  if (r.tuned)
    out.push(`threshold ${r.tuned.threshold.toPrecision(4)} tuned on ${r.tuned.subset} (F1 ${pct(r.tuned.f1)}, ${r.tuned.candidates} candidates)`);
  out.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(0, -1).map(line));
  out.push(widths.map((w) => '-'.repeat(w)).join('  '), line(rows[rows.length - 1]!));
  return out.join('\n') + '\n';
}

/** Plain JSON (percentages rounded to 4 decimals; undefined accuracies are null). */
export function reportJson(r: ReportInput): Record<string, unknown> {
  return {
    source: r.source,
    ...(r.detector ? { detector: r.detector } : {}),
    ...(r.tuned
      ? { tuned: { subset: r.tuned.subset, threshold: r.tuned.threshold, f1: num(r.tuned.f1), candidates: r.tuned.candidates } }
      : {}),
    subsets: r.metrics.subsets.map((s) => ({
      subset: s.subset,
      samples: s.samples,
      erroneous: s.erroneous,
      correct: s.correct,
      erroneousAccuracy: num(s.erroneousAccuracy),
      correctAccuracy: num(s.correctAccuracy),
      f1: num(s.f1),
    })),
    averageF1: num(r.metrics.averageF1),
  };
}
