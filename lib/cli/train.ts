// prmkit train: a PRM or ORM head fitted on a converted model's frozen hidden states and
// written into its folder (heads/<name>.safetensors, active by default), so `prmkit serve -m
// DIR` and Prm.load/Orm.load use it. The gather is cached in the folder and resumes when the
// same command runs again; a second run with other training options reuses the rows.
import { FORMAT_NAMES } from '../formats/index.js';
import { ORM_FORMAT_NAMES } from '../formats/orm.js';
import type { OrmFormatName } from '../formats/orm.js';
import type { FormatName } from '../formats/types.js';
import type { TrainHead } from '../kernels/bce-types.js';
import type { FitOptions, TrainHeadOptions, TrainHeadResult } from '../train/index.js';
import { intOption, numberOption, oneOfOption, parse, PROGRESS_OPTIONS, progressWanted, required, stringOption } from './args.js';
import { Interrupted, UsageError, write } from './io.js';
import type { CliIo } from './io.js';
import { Progress } from './progress.js';

export const TRAIN_HELP = `prmkit train: fit a PRM or ORM head on a converted model's frozen hidden states

usage:
  prmkit train -m MODEL_DIR --data FILE --name NAME [options]

MODEL_DIR is a folder from \`prmkit convert --hidden-states\`. The model runs once per chain
to gather the hidden state at each labelled step's boundary (PRM) or at the solution's last
token (ORM), cached under MODEL_DIR/train-cache (an interrupted gather resumes when the same
command runs again; the caches of other data go, least recently used first, beyond
--cache-limit); one train runs on a folder at a time (MODEL_DIR/.prmkit-train.lock); the head is then trained with binary cross-entropy (AdamW) and written
to MODEL_DIR/heads/NAME.safetensors as the folder's active head:
  prmkit serve -m MODEL_DIR         (or --head-name NAME / --head-name converted)

data (--data FILE, one record a line, or a ProcessBench directory):
  {"problem", "steps": [...], "labels": [true, 0.75, null, ...]}   PRM: a label per step
  {"problem", "solution": "...", "label": true}                    ORM: the outcome
  labelSteps / prmkit eval label output, PRM800K JSONL, ProcessBench subsets

      --data PATH          the training data
      --name NAME          the head's name in the folder
      --kind K             prm (default, unless the file has outcome labels only) or orm
      --source S           jsonl | label-steps | prm800k | processbench (default: detected)
      --labels L           which labelSteps labels: hard (default) or soft
      --limit N            read only the first N records
      --head H             linear (default) or mlp (Linear(H, M) → ReLU → Linear(M, K), as Qwen's)
      --outputs K          1 (sigmoid, default) or 2 (softmax)
      --mlp-hidden M       the MLP's hidden width (default: the model's hidden size)
  -f, --format NAME        how chains become text: a PRM format (${FORMAT_NAMES.join(', ')})
                           or, for --kind orm, an ORM one (${ORM_FORMAT_NAMES.join(', ')});
                           default: the folder's own, else trl (PRM) / plain-orm (ORM)
      --separator TEXT     the trl format's step separator (default "\\n")
      --epochs N           passes over the rows (default 100)
      --batch-size N       rows per step (default 0: all of them)
      --lr X               learning rate (default 1e-3)
      --schedule S         constant (default) or cosine
      --weight-decay X     AdamW's decoupled weight decay (default 0)
      --l2 X               L2 penalty on the weights (default 0)
      --validation F       share of chains held out, by problem (default 0.1)
      --patience N         epochs without improvement before stopping (default 10; 0: never)
      --class-weights W    balanced, or POS,NEG (default 1,1)
      --seed N             seeds the split, initial weights and batch order (default 0)
      --cache DIR          where the rows are kept (default MODEL_DIR/train-cache/<key>)
      --no-cache           gather into a temporary folder, removed afterwards
      --cache-limit MIB    what MODEL_DIR/train-cache may keep besides this run's rows (default 4096)
      --force              replace a head of the same name
      --no-activate        write the head without making it the active one
      --max-context N      longest chain in tokens (default: the model's)
      --overflow MODE      longer chains: error (default) or truncate (train on the steps that fit)
      --workers N          worker threads (onnxruntime sessions), default 1
      --threads N          onnxruntime threads per worker
      --no-snapshot        map the model's weight files instead of a private snapshot of them
      --json               print the result as one JSON object
      --progress / --no-progress   progress on stderr (default: when it is a terminal)
`;

const OPTIONS = {
  model: { type: 'string', short: 'm' },
  data: { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string' },
  source: { type: 'string' },
  labels: { type: 'string' },
  limit: { type: 'string' },
  head: { type: 'string' },
  outputs: { type: 'string' },
  'mlp-hidden': { type: 'string' },
  format: { type: 'string', short: 'f' },
  separator: { type: 'string' },
  epochs: { type: 'string' },
  'batch-size': { type: 'string' },
  lr: { type: 'string' },
  schedule: { type: 'string' },
  'weight-decay': { type: 'string' },
  l2: { type: 'string' },
  validation: { type: 'string' },
  patience: { type: 'string' },
  'class-weights': { type: 'string' },
  seed: { type: 'string' },
  cache: { type: 'string' },
  'cache-limit': { type: 'string' },
  'no-cache': { type: 'boolean' },
  force: { type: 'boolean' },
  'no-activate': { type: 'boolean' },
  'max-context': { type: 'string' },
  overflow: { type: 'string' },
  workers: { type: 'string' },
  threads: { type: 'string' },
  'no-snapshot': { type: 'boolean' },
  json: { type: 'boolean' },
  ...PROGRESS_OPTIONS,
} as const;

function fitOptions(values: Record<string, unknown>): Omit<FitOptions, 'head' | 'onEpoch' | 'signal'> {
  const v = values as Parameters<typeof intOption>[0];
  const f: Omit<FitOptions, 'head' | 'onEpoch' | 'signal'> = {};
  const put = <K extends keyof typeof f>(k: K, x: (typeof f)[K] | undefined) => x !== undefined && (f[k] = x);
  put('epochs', intOption(v, 'epochs', 1));
  put('batchSize', intOption(v, 'batch-size', 0));
  put('learningRate', numberOption(v, 'lr', 0, Infinity, { openMin: true }));
  put('schedule', oneOfOption(v, 'schedule', ['constant', 'cosine'] as const));
  put('weightDecay', numberOption(v, 'weight-decay', 0, Infinity));
  put('l2', numberOption(v, 'l2', 0, Infinity));
  put('validation', numberOption(v, 'validation', 0, 1, { openMax: true }));
  put('patience', intOption(v, 'patience', 0));
  put('seed', intOption(v, 'seed', 0, undefined, 2 ** 32 - 1));
  const cw = stringOption(v, 'class-weights');
  if (cw !== undefined) {
    const m = /^\s*([0-9.eE+-]+)\s*,\s*([0-9.eE+-]+)\s*$/.exec(cw);
    if (cw === 'balanced') f.classWeights = 'balanced';
    else if (m && Number(m[1]) >= 0 && Number(m[2]) >= 0) f.classWeights = { positive: Number(m[1]), negative: Number(m[2]) };
    else throw new UsageError(`--class-weights must be balanced or POS,NEG (two non-negative numbers), got ${JSON.stringify(cw)}`);
  }
  return f;
}

function headOption(values: Parameters<typeof intOption>[0]): TrainHeadOptions['head'] {
  const kind = oneOfOption(values, 'head', ['linear', 'mlp'] as const) ?? 'linear';
  const K = (intOption(values, 'outputs', 1, 1, 2) ?? 1) as 1 | 2;
  const activation = K === 1 ? 'sigmoid' : 'softmax';
  const M = intOption(values, 'mlp-hidden', 1);
  if (M !== undefined && kind !== 'mlp') throw new UsageError('--mlp-hidden applies to --head mlp');
  if (kind === 'linear') return { kind, activation, outputs: K } satisfies TrainHead;
  return { kind: 'mlp', ...(M !== undefined ? { hidden: M } : {}), activation, outputs: K };
}

function summary(r: TrainHeadResult, dir: string): string {
  const f = r.fit;
  const best = f.epochs[f.bestEpoch - 1];
  const g = r.gather;
  const gathered = g.chains > 0 ? `${g.chains} chains through the model in ${g.seconds.toFixed(1)} s (${(g.tokens / Math.max(g.seconds, 1e-9)).toFixed(0)} tokens/s)` : 'all rows from the cache';
  return (
    `trained ${r.entry.kind.toUpperCase()} head ${JSON.stringify(r.name)} (${r.entry.head.kind}, ${r.entry.head.outputs} output${r.entry.head.outputs > 1 ? 's' : ''}) on ${f.trainRows} rows, ${f.validationRows} held out\n` +
    `  rows: ${g.rows} (${gathered}${g.resumedChains > 0 && g.chains > 0 ? `, ${g.resumedChains} resumed from the cache` : ''})${r.truncated > 0 ? `; ${r.truncated} chains cut at the context` : ''}\n` +
    `  epochs: ${f.epochs.length} (${f.stopReason}), best ${f.bestEpoch}: train loss ${best?.trainLoss.toFixed(4)}` +
    `${best?.validationLoss !== undefined ? `, validation loss ${best.validationLoss.toFixed(4)}` : ''}${Number.isNaN(r.validationAuroc) ? '' : `, validation AUROC ${r.validationAuroc.toFixed(3)}`}\n` +
    `  written: ${dir}/${r.entry.file}\n`
  );
}

export async function runTrain(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  if (values['help']) {
    await write(io.stdout, TRAIN_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`train takes no positional arguments, got ${JSON.stringify(positionals[0])}`);
  const model = required(values, 'model', 'train');
  const dataPath = required(values, 'data', 'train');
  const name = required(values, 'name', 'train');
  const kind = oneOfOption(values, 'kind', ['prm', 'orm'] as const);
  const source = oneOfOption(values, 'source', ['jsonl', 'label-steps', 'prm800k', 'processbench'] as const);
  const labels = oneOfOption(values, 'labels', ['hard', 'soft'] as const);
  const limit = intOption(values, 'limit', 1);
  const head = headOption(values);
  const formatName = oneOfOption(values, 'format', [...FORMAT_NAMES, ...ORM_FORMAT_NAMES]);
  const sepText = stringOption(values, 'separator');
  if (sepText !== undefined && formatName !== undefined && formatName !== 'trl') throw new UsageError('--separator sets the trl format; drop it or pass --format trl');
  const separator = sepText?.replace(/\\n/g, '\n').replace(/\\t/g, '\t');
  if (separator === '') throw new UsageError('--separator must not be empty');
  if (values['cache'] !== undefined && values['no-cache']) throw new UsageError('--cache and --no-cache contradict each other');
  const fit = fitOptions(values);
  const cacheLimit = intOption(values, 'cache-limit', 0, undefined, 2 ** 40);
  if (cacheLimit !== undefined && (values['no-cache'] || values['cache'] !== undefined)) throw new UsageError('--cache-limit bounds MODEL_DIR/train-cache; drop it with --cache or --no-cache');
  const maxContext = intOption(values, 'max-context', 1);
  const overflow = oneOfOption(values, 'overflow', ['error', 'truncate'] as const);
  const count = intOption(values, 'workers', 1, undefined, 64);
  const threads = intOption(values, 'threads', 1, undefined, 256);
  const showProgress = progressWanted(values, io.stderr);

  // the library is imported only now, so --help and usage errors stay instant
  const { readTrainData, trainHead } = await import('../train/index.js');
  const data = await readTrainData(dataPath, { ...(kind ? { kind } : {}), ...(source ? { source } : {}), ...(labels ? { labels } : {}), ...(limit ? { limit } : {}) });
  if (data.kind === 'orm' && formatName !== undefined && !(ORM_FORMAT_NAMES as readonly string[]).includes(formatName))
    throw new UsageError(`--format ${formatName} is a PRM format; an ORM head reads one of ${ORM_FORMAT_NAMES.join(', ')}`);
  if (data.kind === 'prm' && formatName !== undefined && !(FORMAT_NAMES as readonly string[]).includes(formatName))
    throw new UsageError(`--format ${formatName} is an ORM format; a PRM head reads one of ${FORMAT_NAMES.join(', ')}`);
  const format = separator !== undefined ? { kind: 'trl' as const, separator } : (formatName as FormatName | OrmFormatName | undefined);
  const gatherBar = new Progress(io.stderr, { enabled: showProgress, total: data.items.length, label: 'chains gathered' });
  const fitBar = new Progress(io.stderr, { enabled: showProgress, total: fit.epochs ?? 100, label: 'epochs' });
  let phase = 'gather' as 'gather' | 'fit';
  let gathered = false;
  let r: TrainHeadResult;
  try {
    r = await trainHead({
      model, data, name, head, ...(format !== undefined ? { format } : {}), fit,
      ...(values['no-cache'] ? { cache: false } : stringOption(values, 'cache') !== undefined ? { cache: stringOption(values, 'cache') } : {}),
      ...(cacheLimit !== undefined ? { cacheLimit: cacheLimit * 2 ** 20 } : {}),
      force: values['force'] === true, activate: values['no-activate'] !== true,
      ...(maxContext !== undefined ? { maxContext } : {}), ...(overflow ? { overflow } : {}),
      ...(count !== undefined || threads !== undefined ? { workers: { ...(count !== undefined ? { count } : {}), ...(threads !== undefined ? { threads } : {}) } } : {}),
      ...(values['no-snapshot'] === true ? { snapshot: false } : {}),
      ...(io.signal ? { signal: io.signal } : {}),
      onProgress: (p) => {
        if (p.phase === 'gather') {
          gathered = true;
          gatherBar.update(p.chains);
        } else {
          if (phase === 'gather') {
            if (gathered) gatherBar.finish();
            phase = 'fit';
          }
          fitBar.update(p.epoch);
        }
      },
    });
  } catch (e) {
    if (io.signal?.aborted) throw new Interrupted(phase === 'gather' ? 'interrupted; the rows gathered so far are kept: run the same command again to go on' : 'interrupted while training; the rows are cached: run the same command again');
    throw e;
  }
  if (phase === 'fit') fitBar.finish();
  else if (gathered) gatherBar.finish();
  await write(io.stdout, values['json'] ? JSON.stringify({ name: r.name, entry: r.entry, gather: r.gather, cache: r.cache ?? null, validationAuroc: Number.isNaN(r.validationAuroc) ? null : r.validationAuroc, epochs: r.fit.epochs }) + '\n' : summary(r, model));
  return 0;
}
