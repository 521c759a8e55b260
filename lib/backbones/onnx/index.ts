export { OnnxBackbone } from './backbone.js';
export type { BackboneInfo, ForwardRequest, ForwardResult, OnnxBackboneOptions } from './backbone.js';
export { probeProviders } from './providers.js';
export type { ProviderChoice, ProviderName } from './providers.js';
export { readSafetensor, readOnnxInitializer } from './weights.js';
