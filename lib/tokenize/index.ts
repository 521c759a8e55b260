export { PrmTokenizer, readTokenizerSource } from './tokenizer.js';
export type { AddedTokenSpec, ChatMessage, LoadTokenizerOptions, TokenizerSource } from './tokenizer.js';
export { encodeChains, checkMaxContext, checkOverflow, OVERFLOWS } from './encode.js';
export type { EncodeOptions, EncodedBatch, Overflow } from './encode.js';
