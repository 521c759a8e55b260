// A client of a vLLM PRM's `POST /pooling` (task "token_classify"): token ids in, per-token
// (ALL pooler) or per-step (STEP pooler) class outputs out. prmkit tokenizes locally and
// sends ids, so the boundaries found by the format line up with the rows the server returns.
// Answers are asked for in base64 float32 little-endian: a fraction of the JSON rows' size.
import * as is from '../../is.js';
import type { ErrorResponse, PoolingCompletionRequest, PoolingResponse } from './protocol.js';

/** One input's answer: the rows flattened (float32), `width` when the server sent JSON rows. */
export interface PooledOutput {
  data: Float32Array;
  width?: number;
}

function decodeBase64Floats(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`vllm: a base64 result of ${bytes.length} bytes is not float32 data`);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
  return out;
}

function fromRows(rows: unknown): PooledOutput {
  if (!Array.isArray(rows)) throw new Error('vllm: expected token_classify rows (number[][]) or base64; is the server a token-classification (PRM) model?');
  if (rows.length === 0) return { data: new Float32Array(0) };
  if (!Array.isArray(rows[0])) return { data: Float32Array.from(rows as number[]), width: 1 };
  const width = (rows[0] as number[]).length;
  const data = new Float32Array(rows.length * width);
  (rows as number[][]).forEach((r, t) => {
    if (!Array.isArray(r) || r.length !== width) throw new Error(`vllm: row ${t} has ${Array.isArray(r) ? r.length : 'no'} values, row 0 has ${width}`);
    data.set(r, t * width);
  });
  return { data, width };
}

export interface VllmClientOptions {
  /** Server root, e.g. http://gpu-box:8000 (the client posts to `${url}/pooling`). */
  url: string;
  /** Served model name; default: whatever the server serves. */
  model?: string;
  apiKey?: string;
  /** Inputs per request (default 32). */
  maxBatch?: number;
  /** Requests in flight (default 4). */
  concurrency?: number;
  /** Per request, ms (default 120000). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const VLLM_KEYS: readonly (keyof VllmClientOptions)[] = ['url', 'model', 'apiKey', 'maxBatch', 'concurrency', 'timeoutMs', 'fetch'];

export class VllmPoolingClient {
  readonly url: string;
  readonly model?: string;
  readonly maxBatch: number;
  readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly apiKey?: string;
  private readonly fetchFn: typeof fetch;

  constructor(o: VllmClientOptions) {
    is.knownKeys(is.object(o, 'vllm', 'an object { url, model?, ... }'), VLLM_KEYS, 'vllm');
    const url = is.string(o.url, 'vllm.url', { nonEmpty: true });
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw is.invalidRange('vllm.url', 'an http(s) URL', url);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw is.invalidRange('vllm.url', 'an http(s) URL', url);
    this.url = u.href.replace(/\/+$/, '');
    this.model = o.model === undefined ? undefined : is.string(o.model, 'vllm.model');
    this.apiKey = o.apiKey === undefined ? undefined : is.string(o.apiKey, 'vllm.apiKey');
    this.maxBatch = o.maxBatch === undefined ? 32 : is.positiveInt(o.maxBatch, 'vllm.maxBatch');
    this.concurrency = o.concurrency === undefined ? 4 : is.positiveInt(o.concurrency, 'vllm.concurrency');
    this.timeoutMs = o.timeoutMs === undefined ? 120_000 : is.positiveInt(o.timeoutMs, 'vllm.timeoutMs');
    if (o.fetch !== undefined && typeof o.fetch !== 'function') throw is.invalidType('vllm.fetch', 'a fetch function', o.fetch);
    this.fetchFn = o.fetch ?? fetch;
  }

  /** One request: per input, the rows the server returned (probabilities, or logits with `activation: false`). */
  async pool(inputs: number[][], signal?: AbortSignal, options: { activation?: boolean } = {}): Promise<PooledOutput[]> {
    const body: PoolingCompletionRequest = {
      input: inputs,
      task: 'token_classify',
      add_special_tokens: false,
      use_activation: options.activation ?? true,
      encoding_format: 'base64',
      embed_dtype: 'float32',
      endianness: 'little',
    };
    if (this.model) body.model = this.model;
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const sig = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}/pooling`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}) },
        body: JSON.stringify(body),
        signal: sig,
      });
    } catch (e) {
      throw new Error(`vllm: POST ${this.url}/pooling failed: ${(e as Error).message}`);
    }
    const text = await res.text();
    if (!res.ok) {
      let msg = text.slice(0, 500);
      try {
        const j = JSON.parse(text) as ErrorResponse;
        msg = j.error?.message ?? j.message ?? msg;
      } catch {
        /* not JSON */
      }
      throw new Error(`vllm: /pooling answered ${res.status}: ${msg}`);
    }
    let j: PoolingResponse;
    try {
      j = JSON.parse(text) as PoolingResponse;
    } catch {
      throw new Error('vllm: /pooling answered with a body that is not JSON');
    }
    if (!j || !Array.isArray(j.data) || j.data.length !== inputs.length)
      throw new Error(`vllm: /pooling returned ${Array.isArray(j?.data) ? j.data.length : 'no'} results for ${inputs.length} inputs`);
    const out: PooledOutput[] = new Array(inputs.length);
    for (const d of j.data) {
      if (!Number.isInteger(d.index) || d.index < 0 || d.index >= inputs.length) throw new Error(`vllm: result index ${String(d.index)} is out of range`);
      // a server that ignores encoding_format answers JSON rows: take those as well
      out[d.index] = typeof d.data === 'string' ? { data: decodeBase64Floats(d.data) } : fromRows(d.data);
    }
    for (let i = 0; i < out.length; i++) if (!out[i]) throw new Error(`vllm: no result for input ${i}`);
    return out;
  }

  /** Many inputs: split into requests of `maxBatch`, `concurrency` at a time, results in order. */
  async poolAll(inputs: number[][], signal?: AbortSignal, options: { activation?: boolean } = {}): Promise<PooledOutput[]> {
    const out: PooledOutput[] = new Array(inputs.length);
    const starts: number[] = [];
    for (let s = 0; s < inputs.length; s += this.maxBatch) starts.push(s);
    let next = 0;
    const lanes = Array.from({ length: Math.min(this.concurrency, starts.length) }, async () => {
      while (next < starts.length) {
        const s = starts[next++];
        const part = await this.pool(inputs.slice(s, s + this.maxBatch), signal, options);
        part.forEach((r, k) => (out[s + k] = r));
      }
    });
    await Promise.all(lanes);
    return out;
  }
}
