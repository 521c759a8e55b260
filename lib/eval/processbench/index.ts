export * from './read.js';
export * from './metrics.js';
export * from './tune.js';
export * from './evaluate.js';
export * from './predictions.js';
export * from './report.js';
