// Head training: the optimizer loop over gathered rows (fitHead, AdamW, row sources), and
// training a PRM or ORM head on a frozen converted backbone end to end (trainHead: data →
// rows gathered once per chain into an on-disk cache → fitHead → a head in the model folder).
export { fitHead } from './fit.js';
export { AdamW } from './adamw.js';
export type { AdamWOptions } from './adamw.js';
export { initialParams, memoryRows, splitRows, weightMask } from './rows.js';
export type { EpochReport, FitOptions, FitResult, RowSource } from './types.js';
export { trainHead } from './train-head.js';
export type { TrainHeadInput, TrainHeadOptions, TrainHeadResult, TrainProgress } from './train-head.js';
export { readTrainData, TRAIN_SOURCES } from './read.js';
export type { ReadTrainOptions, TrainDataFile, TrainSource } from './read.js';
export type { OrmTrainItem, PrmTrainItem, TrainData, TrainKind } from './data.js';
export { openRowCache } from './row-cache.js';
export type { CachedRows } from './row-cache.js';
export { auroc, rowProbs } from './metrics.js';
