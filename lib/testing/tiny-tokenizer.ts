// A byte-level BPE tokenizer.json for the tiny model: one token per byte (GPT-2's printable
// byte alphabet), plus the special tokens the PRM formats need (ChatML, `<extra_0>`) and the
// Math-Shepherd tag `ки` as an added token, with a ChatML chat template of our own.

/** GPT-2's byte → printable character table (bytes that are already printable map to themselves). */
export function byteAlphabet(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const table: string[] = new Array(256);
  let shifted = 0;
  for (let b = 0; b < 256; b++) table[b] = String.fromCodePoint(printable(b) ? b : 256 + shifted++);
  return table;
}

export const TINY_SPECIAL = {
  pad: '<|endoftext|>',
  imStart: '<|im_start|>',
  imEnd: '<|im_end|>',
  extra0: '<extra_0>',
} as const;
export const TINY_SHEPHERD_TAG = 'ки';

/** ChatML, written for prmkit's tiny tokenizer (system/user/assistant turns). */
export const TINY_CHAT_TEMPLATE =
  "{% for m in messages %}{{ '<|im_start|>' + m.role + '\\n' + m.content + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TinyTokenizerFiles {
  json: Record<string, unknown>;
  config: Record<string, unknown>;
  vocabSize: number;
}

export function tinyTokenizer(modelMaxLength: number): TinyTokenizerFiles {
  const alphabet = byteAlphabet();
  const vocab: Record<string, number> = {};
  alphabet.forEach((ch, id) => (vocab[ch] = id));
  const added = [
    [TINY_SPECIAL.pad, true],
    [TINY_SPECIAL.imStart, true],
    [TINY_SPECIAL.imEnd, true],
    [TINY_SPECIAL.extra0, true],
    [TINY_SHEPHERD_TAG, false],
  ] as const;
  const addedTokens = added.map(([content, special], i) => ({
    id: 256 + i, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special,
  }));
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges: [],
    },
  };
  const config = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: null,
    eos_token: TINY_SPECIAL.imEnd,
    pad_token: TINY_SPECIAL.pad,
    model_max_length: modelMaxLength,
    chat_template: TINY_CHAT_TEMPLATE,
  };
  return { json, config, vocabSize: 256 + added.length };
}
