// prmkit/testing: a tiny ONNX PRM and tokenizer, generated on the fly, for tests and benches.
export { createTinyModel } from './tiny-model.js';
export type { TinyModel, TinyModelOptions } from './tiny-model.js';
export { tinyTokenizer, byteAlphabet, TINY_CHAT_TEMPLATE, TINY_SHEPHERD_TAG, TINY_SPECIAL } from './tiny-tokenizer.js';
export { writeSafetensors } from './safetensors-write.js';
