// Every failure leaves the server as JSON in vLLM's shape:
// { "error": { "message", "type", "param", "code" } } where `param` names the offending field
// and `type` is vLLM's class name for the status (BadRequestError, NotFoundError, ...), so a
// client written against vLLM tells the cases apart as it does there.

export type ErrorType =
  | 'invalid_request_error'
  | 'request_too_large'
  | 'authentication_error'
  | 'not_found_error'
  | 'overloaded_error'
  | 'timeout_error'
  | 'client_closed_request'
  | 'not_implemented_error'
  | 'server_error';

export class ApiError extends Error {
  readonly status: number;
  readonly type: ErrorType;
  readonly param: string | null;
  /** Seconds, for 503s. */
  readonly retryAfter?: number;

  constructor(status: number, type: ErrorType, message: string, param: string | null = null, retryAfter?: number) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.type = type;
    this.param = param;
    this.retryAfter = retryAfter;
  }

  toJSON(): ErrorBody {
    return { error: { message: this.message, type: wireType(this.status), param: this.param, code: this.status } };
  }
}

/** The `type` a vLLM server gives each status (its exception class names). */
const WIRE_TYPES: Readonly<Record<number, string>> = {
  400: 'BadRequestError',
  401: 'AuthenticationError',
  404: 'NotFoundError',
  413: 'RequestTooLargeError',
  415: 'UnsupportedMediaTypeError',
  499: 'ClientClosedRequestError',
  500: 'InternalServerError',
  501: 'NotImplementedError',
  503: 'ServiceUnavailableError',
  504: 'TimeoutError',
};

export function wireType(status: number): string {
  return WIRE_TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequestError');
}

export interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: number };
}

export const badRequest = (message: string, param: string | null = null) => new ApiError(400, 'invalid_request_error', message, param);
export const notFound = (message: string, param: string | null = null) => new ApiError(404, 'not_found_error', message, param);
export const tooLarge = (message: string, param: string | null) => new ApiError(413, 'request_too_large', message, param);

/** The queue is full; the caller should come back after `retryAfter` seconds. */
export class QueueFullError extends ApiError {
  constructor(message: string, retryAfter: number) {
    super(503, 'overloaded_error', message, null, retryAfter);
    this.name = 'QueueFullError';
  }
}

/** The server is shutting down and takes no new work. */
export class ShuttingDownError extends ApiError {
  constructor() {
    super(503, 'overloaded_error', 'server is shutting down', null, 5);
    this.name = 'ShuttingDownError';
  }
}

/**
 * Turns an ajv error path (`/items/3/steps/0`) into the field name clients know
 * (`items[3].steps[0]`).
 */
export function fieldName(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').filter((p) => p.length > 0);
  if (child !== undefined) parts.push(child);
  let out = '';
  for (const raw of parts) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out.length === 0 ? p : `.${p}`;
  }
  return out.length > 0 ? out : 'body';
}
