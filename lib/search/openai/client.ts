// A minimal OpenAI-compatible client (vLLM, llama.cpp server, Ollama, OpenAI): endpoint
// options, request, and strict validation of the parts of the answer prmkit relies on.
import { keysOf, knownKeys, object, string } from '../../is.js';
import { checkHttpOptions, postJson } from './http.js';
import type { HttpOptions, ResolvedHttpOptions } from './http.js';
import { OpenAIResponseError } from './errors.js';

export interface OpenAIEndpointOptions extends HttpOptions {
  /** Server root including the version path, e.g. `http://127.0.0.1:8000/v1`. */
  baseUrl: string;
  model: string;
  /** Sent as a Bearer token. */
  apiKey?: string;
  /** Merged into every request body (server extensions such as vLLM's `top_k`). */
  extraBody?: Record<string, unknown>;
}

const ENDPOINT_KEYS = keysOf<OpenAIEndpointOptions>()({
  baseUrl: true, model: true, apiKey: true, extraBody: true, timeoutMs: true, retries: true, backoffMs: true, maxBackoffMs: true, headers: true,
});

export interface RawChoice {
  index: number;
  text: string;
  finishReason: string | null;
  /** vLLM: the stop string or token id that ended generation; null at end of sequence. */
  stopReason?: string | number | null;
}

export interface RawResponse {
  choices: RawChoice[];
  completionTokens?: number;
}

export class OpenAIClient {
  readonly baseUrl: string;
  readonly model: string;
  readonly extraBody: Record<string, unknown>;
  private readonly http: ResolvedHttpOptions;

  /** `keys`: the option keys the owner reads itself, besides the endpoint's. */
  constructor(options: OpenAIEndpointOptions, owner: string, keys: readonly string[] = []) {
    knownKeys(object(options, `${owner}: options`), [...ENDPOINT_KEYS, ...keys], `${owner}: options`);
    string(options.baseUrl, `${owner}: options.baseUrl`);
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`${owner}: options.baseUrl is not a URL: ${options.baseUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`${owner}: options.baseUrl must be http(s)`);
    string(options.model, `${owner}: options.model`, { nonEmpty: true });
    if (options.apiKey !== undefined) string(options.apiKey, `${owner}: options.apiKey`);
    if (options.extraBody !== undefined) object(options.extraBody, `${owner}: options.extraBody`);
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.model = options.model;
    this.extraBody = { ...(options.extraBody ?? {}) };
    this.http = checkHttpOptions(options, owner);
    if (options.apiKey) this.http.headers.authorization = `Bearer ${options.apiKey}`;
  }

  async completions(body: Record<string, unknown>, signal?: AbortSignal): Promise<RawResponse> {
    const url = `${this.baseUrl}/completions`;
    const json = await postJson(url, { model: this.model, ...body, ...this.extraBody }, this.http, signal);
    return parse(url, json, (c, where) => {
      if (typeof c.text !== 'string') throw new OpenAIResponseError(url, `${where}.text is not a string`);
      return c.text;
    });
  }

  async chat(body: Record<string, unknown>, signal?: AbortSignal): Promise<RawResponse> {
    const url = `${this.baseUrl}/chat/completions`;
    const json = await postJson(url, { model: this.model, ...body, ...this.extraBody }, this.http, signal);
    return parse(url, json, (c, where) => {
      const m = c.message as Record<string, unknown> | undefined;
      if (!m || typeof m !== 'object') throw new OpenAIResponseError(url, `${where}.message is missing`);
      if (typeof m.content !== 'string') throw new OpenAIResponseError(url, `${where}.message.content is not a string`);
      return m.content;
    });
  }
}

function parse(url: string, json: unknown, text: (c: Record<string, unknown>, where: string) => string): RawResponse {
  if (!json || typeof json !== 'object') throw new OpenAIResponseError(url, 'body is not a JSON object', JSON.stringify(json));
  const body = json as Record<string, unknown>;
  if (body.error) throw new OpenAIResponseError(url, `server reported an error: ${JSON.stringify(body.error).slice(0, 300)}`);
  if (!Array.isArray(body.choices)) throw new OpenAIResponseError(url, '`choices` is not an array', JSON.stringify(json));
  const choices = body.choices.map((c: unknown, i): RawChoice => {
    const where = `choices[${i}]`;
    if (!c || typeof c !== 'object') throw new OpenAIResponseError(url, `${where} is not an object`);
    const r = c as Record<string, unknown>;
    const index = r.index ?? i;
    if (!Number.isInteger(index) || (index as number) < 0) throw new OpenAIResponseError(url, `${where}.index is not a non-negative integer`);
    const fr = r.finish_reason;
    if (fr !== null && fr !== undefined && typeof fr !== 'string') throw new OpenAIResponseError(url, `${where}.finish_reason is not a string`);
    return {
      index: index as number,
      text: text(r, where),
      finishReason: (fr as string | null | undefined) ?? null,
      ...('stop_reason' in r ? { stopReason: r.stop_reason as string | number | null } : {}),
    };
  });
  const usage = body.usage as Record<string, unknown> | undefined;
  const ct = usage?.completion_tokens;
  if (ct !== undefined && !(Number.isInteger(ct) && (ct as number) >= 0)) throw new OpenAIResponseError(url, 'usage.completion_tokens is not a non-negative integer');
  return { choices, ...(ct !== undefined ? { completionTokens: ct as number } : {}) };
}

/**
 * Splits a response's total completion tokens over its choices in proportion to their text
 * length, each at most `cap`, summing exactly to the total (servers report one total for a
 * batched request).
 */
export function splitTokens(total: number, texts: readonly string[], cap: number): number[] {
  const n = texts.length;
  if (n === 0) return [];
  const weights = texts.map((t) => Math.max(1, t.length));
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map((x) => Math.min(cap, Math.floor(x)));
  let left = total - out.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let pass = 0; left > 0 && pass < 2; pass++)
    for (const [, i] of order) {
      if (left <= 0) break;
      const room = cap - out[i];
      if (room <= 0) continue;
      const add = pass === 0 ? 1 : Math.min(room, left);
      out[i] += add;
      left -= add;
    }
  return out;
}
