// The Fastify app: routes, auth, error shape, metrics hooks and graceful shutdown.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { makeKeyCheck } from './auth.js';
import { resolveServerOptions } from './config.js';
import { ServerContext } from './context.js';
import { ApiError, fieldName, ShuttingDownError } from './errors.js';
import { registerRoutes } from './routes/index.js';
import { registerRewards } from './routes/rewards.js';
import type { ServerOptions } from './types.js';

export interface ListenOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1: exposing the service is a deliberate choice. */
  host?: string;
}

export interface PrmServer {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  /** Start listening; resolves with the base URL, e.g. http://127.0.0.1:41234. */
  listen(options?: ListenOptions): Promise<{ url: string; port: number }>;
  /**
   * Graceful shutdown: stop accepting connections, answer 503 to new requests on open
   * ones, run everything queued at once, finish the requests in flight, then close the
   * model (unless closeModel is false).
   */
  close(): Promise<void>;
}

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/**
 * The issue to report. For a value that matches none of several shapes (anyOf), ajv lists
 * every branch's first complaint before the anyOf itself; the branch that got deepest into
 * the value is the one the client meant, unless every branch only disagrees about the type
 * (then the anyOf's own summary reads best).
 */
function mainIssue(issues: AjvIssue[]): AjvIssue {
  const any = issues.find((v) => v.keyword === 'anyOf');
  if (!any) return issues[0]!;
  const branches = issues.filter((v) => v !== any && v.instancePath.startsWith(any.instancePath));
  const telling = branches.filter((v) => v.keyword !== 'type');
  if (telling.length === 0) return any;
  const depth = (v: AjvIssue) => v.instancePath.split('/').length;
  return telling.reduce((a, b) => (depth(b) > depth(a) ? b : a));
}

function validationError(issues: AjvIssue[]): ApiError {
  const v = mainIssue(issues);
  if (v.keyword === 'required') {
    const param = fieldName(v.instancePath, String(v.params['missingProperty']));
    return new ApiError(400, 'invalid_request_error', `${param} is required`, param);
  }
  if (v.keyword === 'additionalProperties') {
    const param = fieldName(v.instancePath, String(v.params['additionalProperty']));
    return new ApiError(400, 'invalid_request_error', `${param} is not a known field`, param);
  }
  const param = fieldName(v.instancePath);
  let message = v.message ?? 'is invalid';
  if (v.keyword === 'enum') message = `must be one of ${(v.params['allowedValues'] as unknown[]).map((x) => JSON.stringify(x)).join(', ')}`;
  if (v.keyword === 'anyOf' && param === 'input') message = 'must be a string, an array of strings, an array of token ids or an array of arrays of token ids';
  if (v.keyword === 'minimum' && /^input(\[\d+\])+$/.test(param)) message = `is a token id and ${message}`;
  return new ApiError(400, 'invalid_request_error', `${param} ${message}`, param);
}

// a key spelled with escapes ("\u005f_proto__") is the same key once parsed
const POLLUTING = /"(?:__proto__|constructor)"|\\u/;

/**
 * JSON.parse, refusing keys that would reach Object.prototype once the body is copied or
 * merged somewhere (`__proto__`, `constructor.prototype`): a clear 400 naming them. Only
 * bodies that mention such a key pay for the key-by-key check.
 */
export function parseJsonBody(text: string): unknown {
  if (text.length === 0) throw new ApiError(400, 'invalid_request_error', 'body is empty; send a JSON object', 'body');
  if (!POLLUTING.test(text)) return JSON.parse(text);
  return JSON.parse(text, (key, value: unknown) => {
    if (key === '__proto__' || (key === 'constructor' && value !== null && typeof value === 'object' && Object.hasOwn(value, 'prototype'))) {
      throw new ApiError(400, 'invalid_request_error', 'body holds a "__proto__" or "constructor.prototype" key; such keys are refused', 'body');
    }
    return value;
  });
}

/** Any error → the service's JSON error; unknown ones become a 500 without internals. */
export function toApiError(err: unknown, request?: FastifyRequest): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as FastifyError & { validation?: AjvIssue[] };
  if (e?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    const type = request?.headers['content-type'];
    const got = typeof type === 'string' ? `content-type ${JSON.stringify(type.slice(0, 100))} is not accepted` : 'the body has no content-type';
    return new ApiError(415, 'invalid_request_error', `${got}; send the body as application/json`, 'content-type');
  }
  if (Array.isArray(e?.validation) && e.validation.length > 0) return validationError(e.validation);
  switch (e?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError(413, 'request_too_large', 'request body is larger than the server accepts', 'body');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ApiError(400, 'invalid_request_error', `body is not valid JSON: ${e.message}`, 'body');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError(400, 'invalid_request_error', 'body is empty; send a JSON object', 'body');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError(415, 'invalid_request_error', 'send the body as application/json', 'content-type');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError(400, 'invalid_request_error', 'content-length does not match the body', 'content-length');
  }
  if (err instanceof SyntaxError) return new ApiError(400, 'invalid_request_error', `body is not valid JSON: ${err.message}`, 'body');
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new ApiError(status, 'invalid_request_error', e.message, null);
  return new ApiError(500, 'server_error', `internal error: ${e?.message ?? String(err)}`, null);
}

/**
 * Error answers after which the connection is closed, whatever else: a client refused at the
 * door (401) must not hold the connection open by trickling the body it was refused for.
 * Any error answered before its body has fully arrived closes too (see the error handler).
 */
const CLOSES = new Set([401, 408, 431]);

/** A whole HTTP response, for sockets that never got as far as a request object. */
function rawResponse(err: ApiError): string {
  const body = JSON.stringify(err.toJSON());
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Half-closes now, and drops the socket if the client does not finish closing soon. */
function endSocket(socket: Socket, last?: string): void {
  if (socket.destroyed) return;
  if (socket.writable) {
    if (last === undefined) socket.end();
    else socket.end(last);
  }
  const t = setTimeout(() => socket.destroy(), 2000);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}

function sendError(reply: FastifyReply, err: ApiError, close = CLOSES.has(err.status)): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  if (close) reply.header('connection', 'close');
  return reply.code(err.status).type('application/json').send(err.toJSON());
}

export function createServer(options: ServerOptions): PrmServer {
  const o = resolveServerOptions(options);
  const ctx = new ServerContext(o);
  const app = Fastify({
    logger: o.logger,
    bodyLimit: o.limits.maxBodyBytes,
    // a slow upload holds a connection; bound it like the request itself. Node checks these
    // deadlines every connectionsCheckingInterval (30 s by default, which let a trickled body
    // live twice its deadline): check often enough that a deadline means what it says.
    requestTimeout: o.requestTimeoutMs,
    http: {
      headersTimeout: o.headersTimeoutMs,
      connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(o.headersTimeoutMs / 4))),
    },
    // Node's own parser errors (a NUL in a header, a bad chunk, two Content-Lengths) and
    // receive timeouts, in the service's JSON shape
    clientErrorHandler: (err: NodeJS.ErrnoException & { reason?: string }, socket: Socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const started = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
      if (started) return void socket.destroy();
      let api: ApiError;
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        ctx.metrics.rejected.inc({ reason: 'receive_timeout' });
        api = new ApiError(408, 'timeout_error', `the request was not received within ${o.requestTimeoutMs} ms (headers within ${o.headersTimeoutMs} ms)`, null);
      } else if (err.code === 'HPE_HEADER_OVERFLOW') {
        api = new ApiError(431, 'request_too_large', 'request headers are larger than the server accepts', 'headers');
      } else {
        api = new ApiError(400, 'invalid_request_error', `malformed HTTP request: ${err.reason ?? err.message}`, null);
      }
      endSocket(socket, rawResponse(api));
    },
    // answered by our own hook below instead, in the service's error shape with Retry-After
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  });

  // A client that half-closes after sending its body still gets its answer (Node would
  // otherwise abort the request as soon as the client's side ends).
  (app.server as { httpAllowHalfOpen?: boolean }).httpAllowHalfOpen = true;

  // The connection cap. A connection over it is answered 503 on its first request and closed;
  // Node itself drops connections past twice the cap, so idle ones cannot exhaust descriptors.
  const overCap = new WeakSet<Socket>();
  let connections = 0;
  app.server.prependListener('connection', (socket: Socket) => {
    connections++;
    if (connections > o.maxConnections) overCap.add(socket);
    socket.once('close', () => connections--);
  });
  app.server.maxConnections = 2 * o.maxConnections;
  app.addHook('onRequest', async (request) => {
    if (!overCap.has(request.raw.socket)) return;
    ctx.metrics.rejected.inc({ reason: 'connections' });
    throw new ApiError(503, 'overloaded_error', `too many open connections (the server takes ${o.maxConnections}); retry later`, null, 1);
  });

  let shuttingDown = false;
  app.addHook('onRequest', async () => {
    if (shuttingDown) throw new ShuttingDownError();
  });

  if (o.apiKey !== undefined) {
    const accepts = makeKeyCheck(o.apiKey);
    app.addHook('onRequest', async (request: FastifyRequest) => {
      if (request.url === '/health' || request.url.startsWith('/health?')) return;
      if (!accepts(request.headers.authorization)) {
        ctx.metrics.rejected.inc({ reason: 'unauthorized' });
        throw new ApiError(401, 'authentication_error', 'missing or wrong API key; send Authorization: Bearer <key>', 'authorization');
      }
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    ctx.metrics.requests.inc({ route, status: String(reply.statusCode) });
    ctx.metrics.latency.observe(reply.elapsedTime / 1000, { route });
  });

  // JSON only: a text/plain (or any other) body is a 415, not a string the schema then refuses
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const api = toApiError(err, request);
    if (api.status >= 500 && api.status !== 503 && api.status !== 504) request.log.error(err);
    if (reply.raw.destroyed) return reply;
    // a body still arriving would otherwise be read to its end, at the client's pace
    const unread = !request.raw.complete;
    return sendError(reply, api, CLOSES.has(api.status) || unread || overCap.has(request.raw.socket));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError(404, 'not_found_error', `no route ${request.method} ${request.url}`, null)),
  );

  registerRoutes(app, ctx);
  registerRewards(app, ctx);

  // During shutdown, answers close their connection: otherwise a keep-alive socket that
  // goes idle after its last answer holds server.close() open until the client drops it.
  app.addHook('onSend', async (_request, reply) => {
    if (shuttingDown) reply.header('connection', 'close');
  });
  // run what is queued at once rather than waiting for fuller batches: nothing new is coming
  app.addHook('preClose', async () => {
    shuttingDown = true;
    void ctx.drain();
  });
  app.addHook('onClose', async () => {
    await ctx.close();
  });

  let closing: Promise<void> | undefined;
  return {
    app,
    context: ctx,
    async listen(listenOptions: ListenOptions = {}) {
      const host = listenOptions.host ?? '127.0.0.1';
      const port = listenOptions.port ?? 0;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer in [0, 65535], got ${port}`);
      await app.listen({ host, port });
      const address = app.server.address();
      const bound = typeof address === 'object' && address !== null ? address.port : port;
      const shown = host.includes(':') ? `[${host}]` : host;
      return { url: `http://${shown}:${bound}`, port: bound };
    },
    close() {
      closing ??= app.close();
      return closing;
    },
  };
}
