// vLLM's pooling API as used by process reward models: `POST /pooling` with
// `task: "token_classify"` returns, per input, one row per token holding the head's class
// probabilities (vLLM applies the softmax/sigmoid of the classifier; for a PRM such as
// Qwen2.5-Math-PRM-7B that is [T][2]). When the server is started with a step pooler
// (`step_tag_id` / `returned_token_ids` in the pooler config, as for Math-Shepherd), only
// the rows of the step-tag tokens come back, [S][K].
// Shapes follow vLLM's `PoolingCompletionRequest`, `PoolingResponse` and
// `PoolingResponseData` (vllm/entrypoints/openai/protocol.py, and the pooling entrypoints
// in later releases) and the "Pooling API" section of vLLM's OpenAI-compatible server docs.

/** Token ids or text; a list means a batch. */
export type PoolingInput = string | string[] | number[] | number[][];

export interface PoolingRequest {
  model?: string;
  input: PoolingInput;
  /** 'token_classify' for PRMs: per-token class probabilities. */
  task?: 'token_classify' | 'token_embed' | 'classify' | 'embed' | 'score' | 'encode' | 'reward';
  encoding_format?: 'float' | 'base64';
  /** Keep only the last k prompt tokens (-1: up to the model's limit). */
  truncate_prompt_tokens?: number;
  /** Let the server's tokenizer add BOS etc. to text inputs (vLLM's default: true). */
  add_special_tokens?: boolean;
  /** Apply the classifier's activation (vLLM's default: true). */
  activation?: boolean;
  /** Older name of `activation`. */
  softmax?: boolean;
  user?: string;
  priority?: number;
  request_id?: string;
}

export interface PoolingResponseData {
  index: number;
  object: 'pooling';
  /** token_classify: [T][K] (or [S][K] with a step pooler); other tasks may give number[] or base64. */
  data: number[][] | number[] | string;
}

export interface UsageInfo {
  prompt_tokens: number;
  total_tokens: number;
  completion_tokens?: number | null;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

export interface PoolingResponse {
  id: string;
  object: 'list';
  created: number;
  model: string;
  data: PoolingResponseData[];
  usage: UsageInfo;
}

/** vLLM's error body (OpenAI style). */
export interface ErrorResponse {
  error?: { message: string; type: string; param?: string | null; code: number };
  object?: 'error';
  message?: string;
  type?: string;
  code?: number;
}
