// Test plumbing shared by every suite: repository and data locations, and skips that say why.
export * from './paths.js';
export { announceSkip, describeWhen, itWhen } from './skip.js';
export { hasCuda, hasNative, NO_CUDA, NO_NATIVE } from './native.js';
