// Errors from OpenAI-compatible servers, each saying what went wrong and where.

/** The server answered with an HTTP error status (after retries, for 5xx and 429). */
export class OpenAIHttpError extends Error {
  override readonly name = 'OpenAIHttpError';
  constructor(
    readonly url: string,
    readonly status: number,
    readonly body: string,
    readonly attempts: number,
  ) {
    super(`${url} answered HTTP ${status} after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${body.slice(0, 300)}`);
  }
}

/** No complete answer within the timeout. */
export class OpenAITimeoutError extends Error {
  override readonly name = 'OpenAITimeoutError';
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${url} did not answer within ${timeoutMs} ms`);
  }
}

/** The server answered 2xx with a body that is not the expected shape. */
export class OpenAIResponseError extends Error {
  override readonly name = 'OpenAIResponseError';
  constructor(
    readonly url: string,
    detail: string,
    readonly body?: string,
  ) {
    super(`${url} returned a malformed response: ${detail}${body !== undefined ? ` (body: ${body.slice(0, 200)})` : ''}`);
  }
}
