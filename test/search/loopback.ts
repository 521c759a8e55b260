// A scripted OpenAI-compatible server on 127.0.0.1 for the client tests.
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  url: string;
  body: Record<string, unknown>;
}

export type Handler = (body: Record<string, unknown>, req: IncomingMessage, res: ServerResponse) => void;

export interface Loopback {
  baseUrl: string;
  seen: Seen[];
  /** Handlers used in order; the last one repeats. */
  script(...handlers: Handler[]): void;
  close(): Promise<void>;
}

export async function startLoopback(maxRequests = 200): Promise<Loopback> {
  const seen: Seen[] = [];
  let handlers: Handler[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}');
      seen.push({ url: req.url ?? '', body });
      if (seen.length > maxRequests) return json(res, 500, { error: 'test request bound exceeded' });
      const h = handlers[Math.min(seen.length - 1, handlers.length - 1)];
      if (!h) return json(res, 500, { error: 'no handler scripted' });
      h(body, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    seen,
    script: (...h) => {
      handlers = h;
      seen.length = 0;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** A vLLM-style completions answer: choice index = prompt × n + sample. */
export function completionsBody(prompts: number, n: number, text: (p: number, j: number) => string, extra: (p: number, j: number) => Record<string, unknown> = () => ({ finish_reason: 'stop', stop_reason: '\n\n' })) {
  const choices = [];
  for (let p = 0; p < prompts; p++) for (let j = 0; j < n; j++) choices.push({ index: p * n + j, text: text(p, j), logprobs: null, ...extra(p, j) });
  return { id: 'cmpl-test', object: 'text_completion', model: 'm', choices: choices.reverse(), usage: { prompt_tokens: 10, completion_tokens: prompts * n * 5, total_tokens: 10 + prompts * n * 5 } };
}
