// Head training over gathered rows: the optimizer loop (fitHead), row sources, AdamW.
// Where the rows come from (a converted backbone run once per chain, an on-disk cache) plugs
// in as a RowSource.
export { fitHead } from './fit.js';
export { AdamW } from './adamw.js';
export type { AdamWOptions } from './adamw.js';
export { initialParams, memoryRows, splitRows, weightMask } from './rows.js';
export type { EpochReport, FitOptions, FitResult, RowSource } from './types.js';
