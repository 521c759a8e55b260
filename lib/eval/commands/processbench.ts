// `prmkit eval processbench`: score with a StepScorer (or read a predictions file), decide the
// earliest errors, print the per-subset table, optionally write JSON and the predictions.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { DetectorSpec } from '../detectors.js';
import { evaluateProcessBench } from '../processbench/evaluate.js';
import { computeMetrics } from '../processbench/metrics.js';
import { readPredictions, writePredictions } from '../processbench/predictions.js';
import { readProcessBench } from '../processbench/read.js';
import { formatTable, reportJson } from '../processbench/report.js';
import type { ReportInput } from '../processbench/report.js';
import { createScorer, parseScorerSpec } from '../scorer-spec.js';
import { asUsage, HELP, list, positive, unit, UsageError, write } from './args.js';
import type { EvalIo } from './args.js';

/** `--first-drop` takes an optional ratio: take the next argument when it is a number. */
function splitFirstDrop(argv: string[]): { argv: string[]; firstDrop?: string } {
  const out: string[] = [];
  let firstDrop: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--first-drop') {
      const next = argv[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        firstDrop = next;
        i++;
      } else firstDrop = '0.5';
    } else if (a.startsWith('--first-drop=')) firstDrop = a.slice('--first-drop='.length);
    else out.push(a);
  }
  return { argv: out, ...(firstDrop !== undefined ? { firstDrop } : {}) };
}

export async function processbenchCommand(argv: string[], io: EvalIo): Promise<number> {
  const split = splitFirstDrop(argv);
  const { values } = parseArgs({
    args: split.argv,
    strict: true,
    allowPositionals: false,
    options: {
      data: { type: 'string' },
      scorer: { type: 'string' },
      predictions: { type: 'string' },
      subsets: { type: 'string' },
      limit: { type: 'string' },
      threshold: { type: 'string' },
      'tune-on': { type: 'string' },
      'batch-size': { type: 'string' },
      concurrency: { type: 'string' },
      'write-predictions': { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    await write(io.stdout, HELP);
    return 0;
  }
  // every argument is checked before any data is read or any model loaded
  if (!values.data) throw new UsageError('--data DIR is required');
  if (!values.scorer === !values.predictions) throw new UsageError('give exactly one of --scorer SPEC or --predictions FILE');
  const decisions = [values.threshold !== undefined, values['tune-on'] !== undefined, split.firstDrop !== undefined].filter(Boolean).length;
  if (decisions > 1) throw new UsageError('--threshold, --tune-on and --first-drop are alternatives; give at most one');
  if (values.predictions && (decisions || values['batch-size'] || values.concurrency || values['write-predictions']))
    throw new UsageError('--threshold, --tune-on, --first-drop, --batch-size, --concurrency and --write-predictions apply to --scorer, not --predictions');
  const limit = positive(values.limit, '--limit');
  const batchSize = positive(values['batch-size'], '--batch-size');
  const concurrency = positive(values.concurrency, '--concurrency');
  let detector: DetectorSpec = { kind: 'threshold', threshold: 0.5 };
  if (values.threshold !== undefined) detector = { kind: 'threshold', threshold: unit(values.threshold, '--threshold', false) };
  if (split.firstDrop !== undefined) detector = { kind: 'first-drop', ratio: unit(split.firstDrop, '--first-drop', true) };
  const scorerText = values.scorer;
  const spec = scorerText ? asUsage(() => parseScorerSpec(scorerText)) : undefined;
  const subsetNames = list(values.subsets);
  const tuneOn = values['tune-on'];
  if (tuneOn !== undefined && subsetNames && !subsetNames.includes(tuneOn))
    throw new UsageError(`--tune-on ${tuneOn} is not among --subsets ${subsetNames.join(',')}`);

  const subsets = await readProcessBench(values.data, { ...(subsetNames ? { subsets: subsetNames } : {}), ...(limit ? { limit } : {}) });
  if (tuneOn !== undefined && !subsets.some((s) => s.name === tuneOn))
    throw new UsageError(`--tune-on ${tuneOn}: no such subset in ${values.data} (have ${subsets.map((s) => s.name).join(', ')})`);

  let report: ReportInput;
  if (spec) {
    const { scorer, close } = await createScorer(spec, { labelled: subsets.flatMap((s) => s.records) });
    try {
      const total = subsets.reduce((a, s) => a + s.records.length, 0);
      const progress = values.json === '-' ? undefined : (done: number) => io.stderr.write(`\rscored ${done}/${total}`);
      const run = await evaluateProcessBench(subsets, {
        scorer,
        detector,
        ...(tuneOn !== undefined ? { tuneOn } : {}),
        ...(batchSize ? { batchSize } : {}),
        ...(concurrency ? { concurrency } : {}),
        ...(progress && total > 0 ? { onProgress: progress } : {}),
      });
      if (progress && total > 0) io.stderr.write('\n');
      report = { source: `scorer ${values.scorer}`, detector: run.detector, ...(run.tuned ? { tuned: run.tuned } : {}), metrics: run.metrics };
      if (values['write-predictions']) await writePredictions(values['write-predictions'], run.predictions);
    } finally {
      await close();
    }
  } else {
    const predictions = await readPredictions(values.predictions!);
    report = { source: `predictions ${values.predictions}`, metrics: computeMetrics(subsets, predictions) };
  }
  const json = JSON.stringify(reportJson(report), null, 2) + '\n';
  if (values.json === '-') await write(io.stdout, json);
  else {
    await write(io.stdout, formatTable(report));
    if (values.json) await writeFile(values.json, json);
  }
  return 0;
}
