// Errors that say the caller's input is wrong, with where: `items[3].steps[1]`. These (and
// the service's own request validation) are the only errors the service answers with a 400
// and the CLI maps back to an input line; anything else is a bug and stays a 500.
// `connectionFailure` at the end says why a request got no answer, alike for every HTTP client.

/** A path into the caller's input, e.g. `items[3].steps[1]`. */
export type InputPath = string;

const INPUT = Symbol.for('prmkit.inputError');

/** The index of the item a path starts in (`items[3]...` → 3), if it starts with one. */
function leadingIndex(path: InputPath): number | undefined {
  const m = /^[A-Za-z_]+\[(\d+)\]/.exec(path);
  return m ? Number(m[1]) : undefined;
}

/**
 * A bad value in the caller's input (right kind, wrong value). The message starts with the
 * path: `items[3].steps[1] contains "ки", ...`.
 */
export class PrmInputError extends RangeError {
  readonly [INPUT] = true;
  /** `path` says where in the input: `items[3].steps[1]`, `items[0].problem`, `candidates[2]`. */
  constructor(readonly path: InputPath, message: string) {
    super(`${path} ${message}`);
    this.name = 'PrmInputError';
  }
  get itemIndex(): number | undefined {
    return leadingIndex(this.path);
  }
}

/** A value of the wrong kind in the caller's input (a number where a string belongs). */
export class PrmInputTypeError extends TypeError {
  readonly [INPUT] = true;
  constructor(readonly path: InputPath, message: string) {
    super(`${path} ${message}`);
    this.name = 'PrmInputTypeError';
  }
  get itemIndex(): number | undefined {
    return leadingIndex(this.path);
  }
}

export type InputError = PrmInputError | PrmInputTypeError;

/** True for the errors that blame the caller's input (and carry a `path`). */
export function isInputError(e: unknown): e is InputError {
  return typeof e === 'object' && e !== null && (e as { [INPUT]?: boolean })[INPUT] === true;
}

/**
 * The same error (same class, same stack) with its path re-rooted: a chain checked as
 * `items[0]` inside a request whose chain is `items[7]`, or a service body whose field is
 * `candidates`.
 */
export function reroot<E extends InputError>(e: E, from: string, to: string): E {
  if (!e.path.startsWith(from)) return e;
  const path = to + e.path.slice(from.length);
  const message = path + e.message.slice(e.path.length);
  Object.defineProperty(e, 'path', { value: path, enumerable: true });
  Object.defineProperty(e, 'message', { value: message, writable: true, configurable: true });
  return e;
}

/**
 * Why a request never got an answer. fetch reports every connection problem as "fetch
 * failed" and keeps the reason (ECONNREFUSED, ENOTFOUND, a TLS error) in `cause`, which a
 * message that stops at "fetch failed" hides.
 */
export function connectionFailure(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const x = e as { message?: unknown; code?: unknown; errors?: unknown[]; cause?: unknown };
    const code = typeof x.code === 'string' ? x.code : undefined;
    const msg = typeof x.message === 'string' && x.message.length > 0 ? x.message : undefined;
    if (msg && !parts.some((p) => p.includes(msg))) parts.push(code && !msg.includes(code) ? `${msg} (${code})` : msg);
    else if (code && !parts.some((p) => p.includes(code))) parts.push(code);
    // several addresses tried (IPv6 then IPv4) come back as an AggregateError
    if (Array.isArray(x.errors) && x.errors.length > 0 && x.cause === undefined) e = x.errors[0];
    else e = x.cause;
  }
  return parts.length > 0 ? parts.join(': ') : String(err);
}
