// One AbortSignal per request that fires on its deadline or when the client goes away, so
// a request nobody waits for leaves the queue (and stops its batch if it was alone in it).
import type { FastifyReply } from 'fastify';
import { ApiError } from './errors.js';

export interface RequestGuard {
  signal: AbortSignal;
  /** True once the client disconnected before the answer was written. */
  readonly clientGone: boolean;
  dispose(): void;
}

export function guardRequest(reply: FastifyReply, timeoutMs: number): RequestGuard {
  const controller = new AbortController();
  let clientGone = false;
  const timer = setTimeout(() => {
    controller.abort(new ApiError(504, 'timeout_error', `request did not finish within ${timeoutMs} ms`, null));
  }, timeoutMs);
  const onClose = () => {
    if (reply.raw.writableFinished) return;
    clientGone = true;
    controller.abort(new ApiError(499, 'client_closed_request', 'client closed the connection', null));
  };
  reply.raw.once('close', onClose);
  return {
    signal: controller.signal,
    get clientGone() {
      return clientGone;
    },
    dispose() {
      clearTimeout(timer);
      reply.raw.off('close', onClose);
    },
  };
}

/** The error a request ends with after `signal` fired, re-thrown as an ApiError. */
export function abortReason(signal: AbortSignal, err: unknown): unknown {
  return signal.aborted && signal.reason instanceof ApiError ? signal.reason : err;
}
