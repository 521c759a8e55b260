// Small HTTP helpers for the server suites: real requests over loopback.
import { request as httpRequest } from 'node:http';

export interface JsonReply {
  status: number;
  headers: Headers;
  body: any;
}

export async function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonReply> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text.length > 0 ? JSON.parse(text) : null };
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const res = await fetch(base + path, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/**
 * Sends a POST and destroys the socket once the body is written, as a client that gives up
 * mid-request does. Resolves when the socket is closed.
 */
export function postAndDisconnect(base: string, path: string, body: unknown, afterMs = 20): Promise<void> {
  const url = new URL(path, base);
  return new Promise((resolve) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
    req.on('error', () => {});
    req.on('close', () => resolve());
    req.end(JSON.stringify(body), () => setTimeout(() => req.destroy(), afterMs));
  });
}

/** Value of one sample in a Prometheus text page, or undefined. */
export function metricValue(page: string, sample: string): number | undefined {
  for (const line of page.split('\n')) {
    if (line.startsWith(sample + ' ')) return Number(line.slice(sample.length + 1));
  }
  return undefined;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a condition instead of a guessed delay, so a slow, shared CI box cannot flake a test. */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const t0 = performance.now();
  while (!(await cond())) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/** A POST whose client can be made to vanish at a moment the test picks. */
export function openPost(base: string, path: string, body: unknown): { closed: Promise<void>; destroy(): void } {
  const url = new URL(path, base);
  const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json' }, agent: false });
  req.on('error', () => {});
  const closed = new Promise<void>((resolve) => req.on('close', () => resolve()));
  req.end(JSON.stringify(body));
  return { closed, destroy: () => req.destroy() };
}
