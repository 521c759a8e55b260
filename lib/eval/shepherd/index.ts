export * from './label.js';
export * from './store.js';
export * from './rollout.js';
export * from './report.js';
