// Outcome reward models: one score per (problem, solution), beside the PRMs of lib/prm.
export { Orm } from './orm.js';
export type { OrmScore, RankedSolution } from './orm.js';
export type { OrmEncoding, OrmItem } from './encode.js';
export type { OrmCallOptions, OrmDemoOptions, OrmLoadOptions, OrmRerankOptions } from './options.js';
