export { checkChunking, planChunks, resolveChunking, CHUNKING_KEYS, DEFAULT_MAX_BATCH, DEFAULT_MAX_PADDED_TOKENS, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_PAD_FRACTION } from './plan.js';
export type { Chunk, ChunkBudgets, ChunkingOptions, PlanOptions } from './plan.js';
export { padChunk, PAD_SIDES } from './pad.js';
export type { PadSide, PaddedChunk } from './pad.js';
export { toLogSpace } from './log-space.js';
export type { LogSpaceChains } from './log-space.js';
