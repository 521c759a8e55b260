export { PrmTokenizer, readTokenizerSource } from './tokenizer.js';
export type { AddedTokenSpec, ChatMessage, LoadTokenizerOptions, TokenizerSource } from './tokenizer.js';
