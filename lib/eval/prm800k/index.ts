export type * from './types.js';
export { PRM800K_FINISH_REASONS } from './types.js';
export * from './parse.js';
export * from './chains.js';
export * from './read.js';
