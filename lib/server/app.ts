// The Fastify app: hooks (connection cap, shutdown, auth, metrics), the JSON body parser, the
// error handler and the routes, and graceful shutdown.
import type { Socket } from 'node:net';
import Fastify from 'fastify';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { makeKeyCheck } from './auth.js';
import { parseJsonBody } from './body.js';
import { resolveServerOptions } from './config.js';
import { ServerContext } from './context.js';
import { CLOSES, endSocket, rawResponse, sendError, toApiError } from './error-map.js';
import { ApiError, ShuttingDownError } from './errors.js';
import { registerRoutes } from './routes/index.js';
import { registerRewards } from './routes/rewards.js';
import type { ServerOptions } from './types.js';
import { registerUi } from './ui/index.js';

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
      // the page's static files: they hold no data, and the page then asks for the key
      if ((request.routeOptions.config as { open?: boolean } | undefined)?.open === true) return;
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
  if (o.ui) registerUi(app);

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
