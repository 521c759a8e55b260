export { planChunks, DEFAULT_MAX_BATCH, DEFAULT_MAX_BATCH_TOKENS, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_PAD_FRACTION } from './plan.js';
export type { Chunk, PlanOptions } from './plan.js';
export { padChunk } from './pad.js';
export type { PadSide, PaddedChunk } from './pad.js';
