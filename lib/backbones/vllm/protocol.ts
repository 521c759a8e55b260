// vLLM's pooling API as used by process reward models: `POST /pooling` with
// `task: "token_classify"` returns, per input, the head's class probabilities for the
// tokens the server's pooler keeps: with the STEP pooler (vLLM's default for
// Qwen2ForProcessRewardModel, `step_tag_id` 151651) only the step-tag tokens' rows, [S][K];
// with the ALL pooler one row per token, [T][K]. Shapes follow vLLM's current
// `PoolingCompletionRequest` / `PoolingChatRequest`, `PoolingResponse` and
// `PoolingResponseData`, and its `bytes` encoding's `metadata` header.

/** Token ids or text; a list means a batch. */
export type PoolingInput = string | string[] | number[] | number[][];

export type EncodingFormat = 'float' | 'base64' | 'bytes' | 'bytes_only';
export type EmbedDtype = 'float32' | 'float16' | 'bfloat16' | 'fp8_e4m3' | 'fp8_e5m2';
export type Endianness = 'native' | 'big' | 'little';

interface PoolingCommon {
  model?: string | null;
  /** 'token_classify' for PRMs: per-token class outputs. */
  task?: 'token_classify' | 'token_embed' | 'classify' | 'embed' | 'plugin';
  /** Default 'float' (JSON rows); 'base64' and the bytes forms carry `embed_dtype` values in `endianness` order. */
  encoding_format?: EncodingFormat;
  /** Default 'float32'. */
  embed_dtype?: EmbedDtype;
  /** Default 'native' (the server's). */
  endianness?: Endianness;
  /** Keep k prompt tokens (-1: max_model_len; more than max_model_len is a 400). */
  truncate_prompt_tokens?: number | null;
  /** 'right' (default) keeps the first k tokens, 'left' the last k. */
  truncation_side?: 'left' | 'right' | null;
  /** Apply the head's activation (default true); false gives raw logits. */
  use_activation?: boolean | null;
  dimensions?: number | null;
  user?: string | null;
  priority?: number;
  request_id?: string;
}

export interface PoolingCompletionRequest extends PoolingCommon {
  input: PoolingInput;
  /** Let the server's tokenizer add BOS etc. to text inputs (default true). */
  add_special_tokens?: boolean;
}

export interface PoolingChatRequest extends PoolingCommon {
  messages: Array<{ role: string; content: string | Array<{ type: string; text?: string }> | null }>;
  /** Default false. */
  add_generation_prompt?: boolean;
  /** Default false; not together with add_generation_prompt. */
  continue_final_message?: boolean;
  /** Default false: the chat template places the special tokens. */
  add_special_tokens?: boolean;
  chat_template?: string | null;
  chat_template_kwargs?: Record<string, unknown> | null;
}

export type PoolingRequest = PoolingCompletionRequest | PoolingChatRequest;

export interface PoolingResponseData {
  index: number;
  object: 'pooling';
  /** token_classify: [T][K] or [S][K] rows (float), or their flattened bytes (base64). */
  data: number[][] | number[] | string;
}

export interface UsageInfo {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

export interface PoolingResponse {
  /** `pooling-` + the request's X-Request-Id header, or a random id. */
  id: string;
  object: 'list';
  created: number;
  model: string;
  data: PoolingResponseData[];
  usage: UsageInfo;
}

/** One output in a `bytes` answer's `metadata` header; the body holds the outputs back to back. */
export interface PoolingBytesItem {
  index: number;
  embed_dtype: EmbedDtype;
  endianness: Endianness;
  start: number;
  end: number;
  shape: number[];
}

export interface PoolingBytesMetadata {
  id: string;
  created: number;
  model: string;
  data: PoolingBytesItem[];
  usage: { prompt_tokens: number; total_tokens: number };
}

/** vLLM's error body; older servers answered the fields at the top level. */
export interface ErrorResponse {
  error?: { message: string; type: string; param?: string | null; code: number };
  object?: 'error';
  message?: string;
  type?: string;
  code?: number;
}
