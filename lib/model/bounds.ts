// The largest value each number that sizes a model may take, in a checkpoint's config.json
// and in a converted folder's prmkit.json alike. Nothing prmkit allocates grows with these
// alone (tensors are bounded by the files that hold them, rotary tables by the positions of
// each call), but a number past them is no real model's and would be carried on to the
// loader. Real PRMs: vocabularies up to ~256k, hidden sizes up to 16k, contexts up to ~10M.
export const MODEL_BOUNDS = {
  vocab_size: 1 << 24,
  hidden_size: 1 << 16,
  intermediate_size: 1 << 20,
  num_hidden_layers: 1024,
  num_attention_heads: 1024,
  num_key_value_heads: 1024,
  head_dim: 1024,
  max_position_embeddings: 1 << 24,
  sliding_window: 1 << 24,
  num_labels: 1 << 16,
} as const;

/** Most classes a head may have (the scoring kernels' limit). */
export const MAX_HEAD_OUTPUTS = 64;
