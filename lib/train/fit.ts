// Fits a head on gathered rows: AdamW over the native BCE kernel, a validation split by group,
// early stopping on the validation loss, class weights, and a seed that fixes everything
// random (the split, an MLP's initial weights, the batch order), so the same seed gives the
// same weights bit for bit. Rows come from a RowSource, so where they live (memory, an
// on-disk cache of a backbone's boundary rows) is the source's business.
import * as is from '../is.js';
import { bceLoss, headParamCount } from '../kernels/bce.js';
import type { TrainHead } from '../kernels/bce-types.js';
import { mulberry32 } from '../random.js';
import { AdamW } from './adamw.js';
import { initialParams, shuffle, splitRows, weightMask } from './rows.js';
import type { EpochReport, FitOptions, FitResult, RowSource } from './types.js';

const OPTION_KEYS = is.keysOf<FitOptions>()({
  head: true, epochs: true, batchSize: true, learningRate: true, schedule: true, minLearningRate: true, weightDecay: true,
  l2: true, betas: true, eps: true, validation: true, patience: true, minDelta: true, classWeights: true, seed: true,
  init: true, threads: true, backend: true, onEpoch: true, signal: true,
});

/** Rows per kernel call when only the loss is needed (validation). */
const EVAL_CHUNK = 8192;

function checkSource(v: unknown, name: string): RowSource {
  const s = is.object(v, name, 'a RowSource { width, labels, read }') as unknown as RowSource;
  is.positiveInt(s.width, `${name}.width`);
  if (!(s.labels instanceof Float32Array) || s.labels.length < 1) throw is.invalidType(`${name}.labels`, 'a non-empty Float32Array', s.labels);
  if (typeof s.read !== 'function') throw is.invalidType(`${name}.read`, 'a function', s.read);
  return s;
}

function resolveHead(h: TrainHead): TrainHead & { positive: number } {
  headParamCount(h, 1); // the kernel's checks of the head, before any work
  return { ...h, positive: h.positive ?? h.outputs - 1 };
}

function classWeightsFor(cw: FitOptions['classWeights'], labels: Float32Array, rows: Int32Array) {
  if (cw === 'balanced') {
    let pos = 0;
    for (const i of rows) pos += labels[i];
    const neg = rows.length - pos;
    if (pos <= 0 || neg <= 0) throw new RangeError("options.classWeights 'balanced' needs rows of both classes in the training split");
    return { positive: rows.length / (2 * pos), negative: rows.length / (2 * neg) };
  }
  const w = cw === undefined ? {} : is.object(cw, 'options.classWeights', "'balanced' or { positive, negative }");
  is.knownKeys(w, ['positive', 'negative'], 'options.classWeights');
  return {
    positive: w.positive === undefined ? 1 : is.number(w.positive, 'options.classWeights.positive', 0),
    negative: w.negative === undefined ? 1 : is.number(w.negative, 'options.classWeights.negative', 0),
  };
}

function checkOptions(options: FitOptions) {
  const o = is.object(options, 'options', 'an object { head, ... }') as unknown as FitOptions;
  is.knownKeys(o as unknown as Record<string, unknown>, OPTION_KEYS);
  const betas = o.betas ?? [0.9, 0.999];
  if (!Array.isArray(betas) || betas.length !== 2) throw is.invalidType('options.betas', '[beta1, beta2]', betas);
  return {
    head: resolveHead(o.head),
    epochs: o.epochs === undefined ? 100 : is.positiveInt(o.epochs, 'options.epochs'),
    batchSize: o.batchSize === undefined ? 0 : is.nonNegativeInt(o.batchSize, 'options.batchSize'),
    learningRate: o.learningRate === undefined ? 1e-3 : is.number(o.learningRate, 'options.learningRate', 0, Infinity, { openMin: true }),
    schedule: o.schedule === undefined ? 'constant' : is.oneOf(o.schedule, 'options.schedule', ['constant', 'cosine'] as const),
    minLearningRate: o.minLearningRate === undefined ? 0 : is.number(o.minLearningRate, 'options.minLearningRate', 0),
    weightDecay: o.weightDecay === undefined ? 0 : is.number(o.weightDecay, 'options.weightDecay', 0),
    l2: o.l2 === undefined ? 0 : is.number(o.l2, 'options.l2', 0),
    betas: [is.number(betas[0], 'options.betas[0]', 0, 1, { openMax: true }), is.number(betas[1], 'options.betas[1]', 0, 1, { openMax: true })] as const,
    eps: o.eps === undefined ? 1e-8 : is.number(o.eps, 'options.eps', 0, Infinity, { openMin: true }),
    validation: o.validation === undefined ? 0.1 : typeof o.validation === 'number' ? is.number(o.validation, 'options.validation', 0, 1, { openMax: true }) : checkSource(o.validation, 'options.validation'),
    patience: o.patience === undefined ? 10 : is.nonNegativeInt(o.patience, 'options.patience'),
    minDelta: o.minDelta === undefined ? 0 : is.number(o.minDelta, 'options.minDelta', 0),
    seed: o.seed === undefined ? 0 : is.integer(o.seed, 'options.seed', 0, 2 ** 32 - 1),
    init: o.init === undefined ? undefined : o.init instanceof Float32Array ? o.init : (() => { throw is.invalidType('options.init', 'a Float32Array', o.init); })(),
    threads: o.threads === undefined ? 0 : is.nonNegativeInt(o.threads, 'options.threads', 1024),
    backend: o.backend === undefined ? 'auto' : is.oneOf(o.backend, 'options.backend', ['auto', 'cpu', 'js'] as const),
    onEpoch: is.optionalFunction<(r: EpochReport) => void>(o.onEpoch, 'options.onEpoch'),
    signal: is.signal(o.signal, 'options.signal'),
    classWeights: o.classWeights,
  };
}

/** Mean BCE over `rows` of `source`, in chunks (no gradient). */
async function evaluate(source: RowSource, rows: Int32Array, head: TrainHead, params: Float32Array, k: { classWeights: { positive: number; negative: number }; backend: 'auto' | 'cpu' | 'js'; threads: number }): Promise<number> {
  const H = source.width;
  const n = Math.min(EVAL_CHUNK, rows.length);
  const buf = new Float32Array(n * H);
  const labels = new Float32Array(n);
  let sum = 0;
  for (let i = 0; i < rows.length; i += EVAL_CHUNK) {
    const idx = rows.subarray(i, Math.min(rows.length, i + EVAL_CHUNK));
    await source.read(idx, buf.subarray(0, idx.length * H));
    for (let j = 0; j < idx.length; j++) labels[j] = source.labels[idx[j]];
    const r = await bceLoss({ rows: { data: buf.subarray(0, idx.length * H), dims: [idx.length, H] }, labels: labels.subarray(0, idx.length), head, params }, { ...k, gradient: false });
    sum += r.loss * idx.length;
  }
  return sum / rows.length;
}

/** Trains `options.head` on the rows of `source`; see FitOptions for every knob. */
export async function fitHead(source: RowSource, options: FitOptions): Promise<FitResult> {
  const src = checkSource(source, 'source');
  const o = checkOptions(options);
  const H = src.width;
  const { head } = o;
  const P = headParamCount(head, H);
  if (o.init && o.init.length !== P) throw new RangeError(`options.init has length ${o.init.length} but the head has ${P} parameters`);
  const split = typeof o.validation === 'number' ? splitRows(src, o.validation, o.seed) : { train: Int32Array.from(src.labels.keys()), validation: new Int32Array(0) };
  const valSource = typeof o.validation === 'number' ? src : o.validation;
  if (valSource !== src && valSource.width !== H) throw new RangeError(`options.validation.width is ${valSource.width}, the training rows have width ${H}`);
  const valRows = valSource === src ? split.validation : Int32Array.from(valSource.labels.keys());
  const train = split.train;
  const classWeights = classWeightsFor(o.classWeights, src.labels, train);
  const kernel = { classWeights, backend: o.backend, threads: o.threads };
  const mask = weightMask(head, H);
  const opt = new AdamW(o.init ?? initialParams(head, H, o.seed), { betas: o.betas, eps: o.eps, weightDecay: o.weightDecay, decay: mask });

  const batch = o.batchSize === 0 || o.batchSize >= train.length ? train.length : o.batchSize;
  const full = batch === train.length;
  const rows = new Float32Array(batch * H);
  const labels = new Float32Array(batch);
  const grad = new Float32Array(P);
  const total = new Float64Array(P);
  const random = mulberry32(o.seed ^ 0xba7c4);
  const order = Int32Array.from(train);
  const stepsPerEpoch = Math.ceil(train.length / batch);
  const lrAt = (step: number) =>
    o.schedule === 'constant' ? o.learningRate : o.minLearningRate + (o.learningRate - o.minLearningRate) * 0.5 * (1 + Math.cos((Math.PI * step) / (o.epochs * stepsPerEpoch)));
  if (full) {
    await src.read(order, rows);
    for (let j = 0; j < order.length; j++) labels[j] = src.labels[order[j]];
  }

  const epochs: EpochReport[] = [];
  let best = { loss: Infinity, epoch: 0, params: opt.values.slice() };
  let waited = 0;
  let stopReason: FitResult['stopReason'] = 'epochs';
  let step = 0;
  for (let epoch = 1; epoch <= o.epochs; epoch++) {
    if (!full) shuffle(order, random);
    let sum = 0;
    for (let b = 0; b < train.length; b += batch) {
      o.signal?.throwIfAborted();
      const idx = order.subarray(b, Math.min(train.length, b + batch));
      const n = idx.length;
      if (!full) {
        await src.read(idx, rows.subarray(0, n * H));
        for (let j = 0; j < n; j++) labels[j] = src.labels[idx[j]];
      }
      const lr = lrAt(step++);
      const params = opt.values;
      const r = await bceLoss({ rows: { data: rows.subarray(0, n * H), dims: [n, H] }, labels: labels.subarray(0, n), head, params }, { ...kernel, out: grad });
      let objective = r.loss;
      for (let i = 0; i < P; i++) total[i] = grad[i];
      if (o.l2 > 0) {
        let sq = 0;
        for (let i = 0; i < P; i++)
          if (mask[i]) {
            sq += params[i] * params[i];
            total[i] += o.l2 * params[i];
          }
        objective += 0.5 * o.l2 * sq;
      }
      opt.step(total, lr);
      sum += objective * n;
    }
    const report: EpochReport = { epoch, trainLoss: sum / train.length, learningRate: lrAt(step - 1) };
    if (valRows.length > 0) {
      report.validationLoss = await evaluate(valSource, valRows, head, opt.values, kernel);
      if (report.validationLoss < best.loss - o.minDelta) {
        best = { loss: report.validationLoss, epoch, params: opt.values.slice() };
        waited = 0;
      } else waited++;
    }
    epochs.push(report);
    o.onEpoch?.(report);
    if (valRows.length > 0 && o.patience > 0 && waited >= o.patience) {
      stopReason = 'early-stopping';
      break;
    }
  }
  const last = epochs.length;
  const params = valRows.length > 0 ? best.params : opt.values.slice();
  return {
    head,
    width: H,
    params,
    epochs,
    bestEpoch: valRows.length > 0 ? best.epoch : last,
    stopReason,
    trainRows: train.length,
    validationRows: valRows.length,
    classWeights,
  };
}
