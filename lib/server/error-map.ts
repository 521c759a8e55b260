// Every error as the service's answer: Fastify's and ajv's errors, the model's errors (only
// input errors are the client's: 400; anything else is a 500 without internals), and the
// writing of an error answer, also on sockets that never became a request.
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { isInputError } from '../errors.js';
import { ApiError, badRequest, fieldName } from './errors.js';
import { abortReason } from './guard.js';

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
export const CLOSES = new Set([401, 408, 431]);

/** A whole HTTP response, for sockets that never got as far as a request object. */
export function rawResponse(err: ApiError): string {
  const body = JSON.stringify(err.toJSON());
  return (
    `HTTP/1.1 ${err.status} ${STATUS_CODES[err.status] ?? 'Error'}\r\n` +
    `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
  );
}

/** Half-closes now, and drops the socket if the client does not finish closing soon. */
export function endSocket(socket: Socket, last?: string): void {
  if (socket.destroyed) return;
  if (socket.writable) {
    if (last === undefined) socket.end();
    else socket.end(last);
  }
  const t = setTimeout(() => socket.destroy(), 2000);
  t.unref();
  socket.once('close', () => clearTimeout(t));
}

export function sendError(reply: FastifyReply, err: ApiError, close = CLOSES.has(err.status)): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('retry-after', String(err.retryAfter));
  if (err.status === 401) reply.header('www-authenticate', 'Bearer');
  if (close) reply.header('connection', 'close');
  return reply.code(err.status).type('application/json').send(err.toJSON());
}


/**
 * What a request's model work failed with, as its answer: the request's own deadline or
 * disconnect when that is why, the model's input errors as 400s (their path names a row of
 * the batch, not the request's field, so no param), ApiErrors as they are; anything else
 * stays as it is (a 500).
 */
export function modelError(signal: AbortSignal, err: unknown): unknown {
  const e = abortReason(signal, err);
  if (isInputError(e)) return badRequest(e.message, null);
  return e;
}
