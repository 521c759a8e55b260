// The Fastify app: routes, auth, error shape, metrics hooks and graceful shutdown.
import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { makeKeyCheck } from './auth.js';
import { resolveServerOptions } from './config.js';
import { ServerContext } from './context.js';
import { ApiError, fieldName, ShuttingDownError } from './errors.js';
import { registerOps } from './routes/ops.js';
import { registerPooling } from './routes/pooling.js';
import { registerRerank } from './routes/rerank.js';
import { registerScore } from './routes/score.js';
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

function validationError(issues: AjvIssue[]): ApiError {
  const v = issues[0]!;
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
  return new ApiError(400, 'invalid_request_error', `${param} ${message}`, param);
}

/** Any error → the service's JSON error; unknown ones become a 500 without internals. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as FastifyError & { validation?: AjvIssue[] };
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

function sendError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  return reply.code(err.status).type('application/json').send(err.toJSON());
}

export function createServer(options: ServerOptions): PrmServer {
  const o = resolveServerOptions(options);
  const ctx = new ServerContext(o);
  const app = Fastify({
    logger: o.logger,
    bodyLimit: o.limits.maxBodyBytes,
    // a slow upload holds a connection; bound it like the request itself
    requestTimeout: o.requestTimeoutMs,
    // answered by our own hook below instead, in the service's error shape with Retry-After
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
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

  app.setErrorHandler((err, request, reply) => {
    const api = toApiError(err);
    if (api.status >= 500 && api.status !== 503 && api.status !== 504) request.log.error(err);
    if (reply.raw.destroyed) return reply;
    return sendError(reply, api);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError(404, 'not_found_error', `no route ${request.method} ${request.url}`, null)),
  );

  registerOps(app, ctx);
  registerScore(app, ctx);
  registerRerank(app, ctx);
  registerPooling(app, ctx);

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
