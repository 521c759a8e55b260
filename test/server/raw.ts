// Raw-socket HTTP clients for what fetch cannot do: trickle a body, half-close, send bytes
// Node's parser refuses, hold idle connections.
import { connect } from 'node:net';
import type { Socket } from 'node:net';

export interface RawReply {
  status: number;
  headers: Record<string, string>;
  body: any;
}

/** Parses the first HTTP response in `text` (content-length bodies only). */
export function parseResponse(text: string): RawReply | undefined {
  const head = text.indexOf('\r\n\r\n');
  if (head < 0) return undefined;
  const [statusLine, ...lines] = text.slice(0, head).split('\r\n');
  const headers: Record<string, string> = {};
  for (const l of lines) {
    const c = l.indexOf(':');
    headers[l.slice(0, c).trim().toLowerCase()] = l.slice(c + 1).trim();
  }
  const length = Number(headers['content-length'] ?? 0);
  const raw = text.slice(head + 4);
  if (Buffer.byteLength(raw) < length) return undefined;
  return { status: Number(statusLine!.split(' ')[1]), headers, body: length > 0 ? JSON.parse(raw) : null };
}

export interface RawConnection {
  socket: Socket;
  /** Resolves with the first full response. */
  reply: Promise<RawReply>;
  /** Resolves when the server ends or closes the connection. */
  ended: Promise<void>;
  write(data: string | Buffer): void;
}

export function rawConnect(port: number): RawConnection {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  socket.on('error', () => {});
  let text = '';
  const endedP = new Promise<void>((resolve) => {
    socket.on('end', () => resolve());
    socket.on('close', () => resolve());
  });
  const reply = new Promise<RawReply>((resolve, reject) => {
    socket.on('data', (d) => {
      text += d.toString('utf8');
      const got = parseResponse(text);
      if (got) resolve(got);
    });
    endedP.then(() => reject(new Error(`connection ended without a full response: ${JSON.stringify(text.slice(0, 200))}`)));
  });
  reply.catch(() => {});
  return { socket, reply, ended: endedP, write: (d) => void (socket.writable && socket.write(d)) };
}

/** Writes `data` one piece every `everyMs` until the connection ends or `stop()` is called. */
export function trickle(c: RawConnection, piece: string, everyMs: number, times: number): { stop(): void; sent(): number } {
  let n = 0;
  const t = setInterval(() => {
    if (c.socket.destroyed || !c.socket.writable || n >= times) return clearInterval(t);
    c.write(piece);
    n++;
  }, everyMs);
  c.ended.then(() => clearInterval(t));
  return { stop: () => clearInterval(t), sent: () => n };
}

export function requestHead(method: string, path: string, headers: Record<string, string | number>): string {
  return `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
}
