// prmkit: batched process-reward-model inference for Node.js.
export * from './kernels/index.js';
export type * from './interfaces.js';
