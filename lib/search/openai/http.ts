// JSON POST with a per-attempt timeout, retries with exponential backoff on 5xx, 429 and
// connection failures (honouring Retry-After), and caller cancellation.
import { integer, number, object } from '../../is.js';
import { connectionFailure } from '../../errors.js';
import { OpenAIHttpError, OpenAIResponseError, OpenAITimeoutError } from './errors.js';

export { connectionFailure };

export interface HttpOptions {
  /** Per attempt, default 60 000. */
  timeoutMs?: number;
  /** Extra attempts after the first, default 3. */
  retries?: number;
  /** First backoff, doubled per retry; default 250 ms. */
  backoffMs?: number;
  /** Backoff (and Retry-After) cap; default 8 000 ms. */
  maxBackoffMs?: number;
  headers?: Record<string, string>;
}

export interface ResolvedHttpOptions {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxBackoffMs: number;
  headers: Record<string, string>;
}


export function checkHttpOptions(o: HttpOptions, owner: string): ResolvedHttpOptions {
  const num = (v: unknown, name: string, dflt: number, min: number) => (v === undefined ? dflt : number(v, `${owner}: options.${name}`, min));
  if (o.headers !== undefined) object(o.headers, `${owner}: options.headers`);
  return {
    timeoutMs: num(o.timeoutMs, 'timeoutMs', 60_000, 1),
    retries: o.retries === undefined ? 3 : integer(o.retries, `${owner}: options.retries`, 0),
    backoffMs: num(o.backoffMs, 'backoffMs', 250, 0),
    maxBackoffMs: num(o.maxBackoffMs, 'maxBackoffMs', 8_000, 0),
    headers: { ...(o.headers ?? {}) },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function retryAfterMs(header: string | null): number | undefined {
  if (!header) return undefined;
  const s = Number(header);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** POSTs `body` as JSON and returns the parsed JSON answer. */
export async function postJson(url: string, body: unknown, o: ResolvedHttpOptions, signal?: AbortSignal): Promise<unknown> {
  let attempt = 0;
  for (;;) {
    attempt++;
    signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(o.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    let text: string;
    let wait: number | undefined;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...o.headers },
        body: JSON.stringify(body),
        signal: combined,
      });
      text = await res.text();
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw new OpenAITimeoutError(url, o.timeoutMs);
      // connection refused or reset: the server may be restarting
      if (attempt > o.retries) throw new Error(`${url}: request failed after ${attempt} attempts: ${connectionFailure(err)}`, { cause: err });
      await sleep(backoff(o, attempt), signal);
      continue;
    }
    if (res.ok) {
      try {
        return JSON.parse(text);
      } catch {
        throw new OpenAIResponseError(url, 'body is not JSON', text);
      }
    }
    const retryable = res.status >= 500 || res.status === 429;
    if (!retryable || attempt > o.retries) throw new OpenAIHttpError(url, res.status, text, attempt);
    wait = retryAfterMs(res.headers.get('retry-after'));
    await sleep(Math.min(o.maxBackoffMs, wait ?? backoff(o, attempt)), signal);
  }
}

function backoff(o: ResolvedHttpOptions, attempt: number): number {
  const base = Math.min(o.maxBackoffMs, o.backoffMs * 2 ** (attempt - 1));
  return base / 2 + (Math.random() * base) / 2; // jitter, so many clients do not retry in lockstep
}

/** Runs `fn` over items with at most `limit` in flight, results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    // after a failure the call is lost anyway: start nothing new
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
