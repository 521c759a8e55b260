// `prmkit eval processbench`: score with a model (the same model flags as every command) or a
// reference scorer, or read a predictions file; decide the earliest errors, print the
// per-subset table, optionally write JSON and the predictions.
import type { DetectorSpec } from '../../eval/detectors.js';
import { evaluateProcessBench } from '../../eval/processbench/evaluate.js';
import { computeMetrics } from '../../eval/processbench/metrics.js';
import { readPredictions } from '../../eval/processbench/predictions.js';
import { readProcessBench } from '../../eval/processbench/read.js';
import { formatTable, reportJson } from '../../eval/processbench/report.js';
import type { ReportInput } from '../../eval/processbench/report.js';
import { AlwaysCorrectScorer, OracleScorer } from '../../eval/scorers.js';
import type { StepScorer } from '../../interfaces.js';
import { intOption, listOption, numberOption, oneOfOption, parse, progressWanted, PROGRESS_OPTIONS, stringOption } from '../args.js';
import type { Values } from '../args.js';
import { CliError, UsageError, write } from '../io.js';
import type { CliIo } from '../io.js';
import { MODEL_OPTIONS, modelSpec, namesModel, openModel } from '../model-options.js';
import { checkReplaceable, closeOutput, inspectOutput, jsonLinesOf, openOutput, writeWhole } from '../output.js';
import type { OutputPlan } from '../output.js';
import { Progress } from '../progress.js';
import { EVAL_HELP } from './help.js';
import { RecordingScorer, SCORES_OUTPUT, scoresFromLine } from './scores.js';

const OPTIONS = {
  ...MODEL_OPTIONS,
  ...PROGRESS_OPTIONS,
  data: { type: 'string' },
  scorer: { type: 'string' },
  predictions: { type: 'string' },
  scores: { type: 'string' },
  subsets: { type: 'string' },
  limit: { type: 'string' },
  threshold: { type: 'string' },
  'tune-on': { type: 'string' },
  'batch-size': { type: 'string' },
  concurrency: { type: 'string' },
  'write-predictions': { type: 'string' },
  json: { type: 'string' },
} as const;

const PREDICTIONS_OUTPUT = { what: 'a predictions file', fields: ['prediction'] } as const;

/** A report this command wrote: a JSON object with the fields reportJson gives. */
function isReport(text: string): boolean {
  try {
    const v = JSON.parse(text) as Record<string, unknown> | null;
    return v !== null && typeof v === 'object' && Array.isArray(v['subsets']) && 'averageF1' in v;
  } catch {
    return false;
  }
}

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

function detectorOf(values: Values, firstDrop: string | undefined): DetectorSpec {
  if (values['threshold'] !== undefined) return { kind: 'threshold', threshold: numberOption(values, 'threshold', 0, 1)! };
  if (firstDrop !== undefined) return { kind: 'first-drop', ratio: numberOption({ 'first-drop': firstDrop }, 'first-drop', 0, 1, { openMin: true })! };
  return { kind: 'threshold', threshold: 0.5 };
}

export async function processbenchCommand(argv: string[], io: CliIo): Promise<number> {
  const split = splitFirstDrop(argv);
  const { values } = parse(split.argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, EVAL_HELP);
    return 0;
  }
  // every argument is checked before any data is read or any model opened
  const data = stringOption(values, 'data');
  if (!data) throw new UsageError('--data DIR is required');
  const predictionsFile = stringOption(values, 'predictions');
  const scorerText = stringOption(values, 'scorer');
  if (scorerText?.startsWith('prm:') || scorerText?.startsWith('vllm:'))
    throw new UsageError(`--scorer names a reference scorer only; name the model with -m MODEL -t TOKENIZER -f FORMAT (or --vllm URL -t TOKENIZER -f FORMAT), as for every command`);
  const reference = oneOfOption(values, 'scorer', ['oracle', 'always-correct'] as const);
  const sources = [namesModel(values), reference !== undefined, predictionsFile !== undefined].filter(Boolean).length;
  if (sources !== 1) throw new UsageError('give exactly one of a model (-m/-t/-f, or --vllm URL -t -f), --scorer NAME or --predictions FILE');
  const decisions = [values['threshold'] !== undefined, values['tune-on'] !== undefined, split.firstDrop !== undefined].filter(Boolean).length;
  if (decisions > 1) throw new UsageError('--threshold, --tune-on and --first-drop are alternatives; give at most one');
  if (predictionsFile && (decisions || values['batch-size'] || values['concurrency'] || values['write-predictions'] || values['scores']))
    throw new UsageError('--threshold, --tune-on, --first-drop, --batch-size, --concurrency, --scores and --write-predictions need a scorer, not --predictions');
  const spec = namesModel(values) ? modelSpec(values, 'eval processbench') : undefined;
  const limit = intOption(values, 'limit', 1);
  const batchSize = intOption(values, 'batch-size', 1);
  const concurrency = intOption(values, 'concurrency', 1);
  const detector = detectorOf(values, split.firstDrop);
  const subsetNames = listOption(values, 'subsets');
  const tuneOn = stringOption(values, 'tune-on');
  if (tuneOn !== undefined && subsetNames && !subsetNames.includes(tuneOn))
    throw new UsageError(`--tune-on ${tuneOn} is not among --subsets ${subsetNames.join(',')}`);
  const json = stringOption(values, 'json');
  const writePredictions = stringOption(values, 'write-predictions');
  const scoresFile = stringOption(values, 'scores');
  const showProgress = progressWanted(values, io.stderr);

  // outputs are checked before the work: a finished evaluation must not fail on a bad path,
  // and a file prmkit did not write is never replaced
  if (json !== undefined && json !== '-') await checkReplaceable(json, 'report', isReport);
  if (writePredictions !== undefined) await checkReplaceable(writePredictions, 'predictions file', jsonLinesOf(PREDICTIONS_OUTPUT));
  const known = new Map<string, number[]>();
  const scoredBy = new Set<string>();
  let scoresPlan: OutputPlan | undefined;
  if (scoresFile !== undefined) {
    scoresPlan = await inspectOutput(
      scoresFile,
      io,
      SCORES_OUTPUT,
      (o, line) => {
        const p = scoresFromLine(o);
        if (!p) throw new CliError(`${scoresFile} line ${line}: stepProbs must be an array of probabilities`);
        known.set(o['id'] as string, p);
        if (typeof o['model'] === 'string') scoredBy.add(o['model']);
      },
      io.signal,
    );
  }

  const subsets = await readProcessBench(data, { ...(subsetNames ? { subsets: subsetNames } : {}), ...(limit ? { limit } : {}) });
  if (tuneOn !== undefined && !subsets.some((s) => s.name === tuneOn))
    throw new UsageError(`--tune-on ${tuneOn}: no such subset in ${data} (have ${subsets.map((s) => s.name).join(', ')})`);

  let report: ReportInput;
  let notes = '';
  if (predictionsFile === undefined) {
    const labelled = subsets.flatMap((s) => s.records);
    let inner: StepScorer;
    let close = async () => {};
    let source: string;
    if (spec) {
      const prm = await openModel(spec, io.signal);
      inner = prm;
      close = () => prm.close();
      source = `model ${prm.name}`;
    } else {
      inner = reference === 'oracle' ? new OracleScorer(labelled) : new AlwaysCorrectScorer();
      source = `scorer ${reference}`;
    }
    const other = [...scoredBy].find((m) => m !== inner.name);
    if (other !== undefined) {
      await close();
      throw new CliError(`scores ${scoresFile} hold step probabilities from ${other}, not ${inner.name}; choose another --scores file`);
    }
    const sink = scoresPlan ? openOutput(scoresPlan, io) : undefined;
    const scorer = new RecordingScorer(inner, known, sink, `scores ${scoresFile}`);
    const total = labelled.length;
    const progress = new Progress(io.stderr, { enabled: showProgress && total > 0, total });
    let run;
    try {
      run = await evaluateProcessBench(subsets, {
        scorer,
        detector,
        ...(tuneOn !== undefined ? { tuneOn } : {}),
        ...(batchSize ? { batchSize } : {}),
        ...(concurrency ? { concurrency } : {}),
        ...(io.signal ? { signal: io.signal } : {}),
        onProgress: (done: number) => progress.update(done),
      });
    } catch (err) {
      progress.finish();
      const kept = scoresFile !== undefined ? `; the scores finished so far are in ${scoresFile}, rerun the same command to go on` : '; pass --scores FILE to keep finished scores across runs';
      if (io.signal?.aborted) {
        await progress.note(`prmkit eval processbench: interrupted${kept}`);
        return 130;
      }
      await progress.note(`prmkit eval processbench: stopped${kept}`);
      throw err;
    } finally {
      try {
        if (sink) await closeOutput(sink, io);
      } finally {
        await close();
      }
    }
    progress.finish();
    if (scorer.reused > 0) notes += `${scorer.reused} chains' scores read back from ${scoresFile}\n`;
    if (scorer.truncated > 0) notes += `${scorer.truncated} chains were longer than the context; steps past it count as not wrong\n`;
    report = { source, detector: run.detector, ...(run.tuned ? { tuned: run.tuned } : {}), metrics: run.metrics };
    if (writePredictions !== undefined)
      await writeWhole(writePredictions, 'predictions file', [...run.predictions].map(([id, prediction]) => JSON.stringify({ id, prediction }) + '\n').join(''));
  } else {
    const predictions = await readPredictions(predictionsFile);
    report = { source: `predictions ${predictionsFile}`, metrics: computeMetrics(subsets, predictions) };
  }
  const text = JSON.stringify(reportJson(report), null, 2) + '\n';
  if (json === '-') await write(io.stdout, text);
  else {
    await write(io.stdout, formatTable(report) + notes);
    if (json !== undefined) await writeWhole(json, 'report', text);
  }
  return 0;
}
