// prmkit: batched process-reward-model inference for Node.js.
export * from './kernels/index.js';
export type * from './interfaces.js';
// model layer (issue 4): formats, tokenization, backbones, Prm
export * from './prm/index.js';
export { encodeChains, PrmTokenizer } from './tokenize/index.js';
export type { EncodeOptions, EncodedBatch, AddedTokenSpec } from './tokenize/index.js';
export { FORMATS, FORMAT_NAMES, resolveFormat, customFormat, SeparatorInStepError } from './formats/index.js';
export type { FormatName, CustomFormat, PrmFormat, FormatHead, EncodedChain } from './formats/index.js';
export { OnnxBackbone } from './backbones/onnx/index.js';
export { VllmPoolingClient } from './backbones/vllm/index.js';
export type { PoolingRequest, PoolingResponse, PoolingResponseData, PoolingInput, VllmClientOptions } from './backbones/vllm/index.js';
// evaluation and data (issue 7): ProcessBench, PRM800K, Math-Shepherd labelling, error detectors
export * from './eval/index.js';
// tree search (issue 5): strategies, OpenAI-compatible generators, judge/verifier scorers, arithmetic task
export * from './search/index.js';
// HTTP service (issue 6): Fastify app, dynamic batcher, metrics, limits
export * from './server/index.js';
