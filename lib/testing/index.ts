// prmkit/testing: a tiny PRM checkpoint and the ONNX model prmkit's converter makes of it,
// and the tiny tokenizer, generated on the fly, for tests and benches.
export { createTinyModel } from './tiny-model.js';
export type { TinyModel, TinyModelOptions } from './tiny-model.js';
export { createTinyCheckpoint } from './tiny-checkpoint.js';
export type { TinyCheckpoint, TinyCheckpointOptions } from './tiny-checkpoint.js';
export { tinyTokenizer, byteAlphabet, TINY_CHAT_TEMPLATE, TINY_SHEPHERD_TAG, TINY_SPECIAL } from './tiny-tokenizer.js';
export { writeSafetensors } from './safetensors-write.js';
