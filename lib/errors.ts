// Errors that say the caller's input is wrong, with where: `items[3].steps[1]`. These (and
// the service's own request validation) are the only errors the service answers with a 400
// and the CLI maps back to an input line; anything else is a bug and stays a 500.

/** A path into the caller's input, e.g. `items[3].steps[1]`. */
export type InputPath = string;

const INPUT = Symbol.for('prmkit.inputError');

/**
 * A bad value in the caller's input (right kind, wrong value). The message starts with the
 * path: `items[3].steps[1] contains "ки", ...`.
 */
export class PrmInputError extends RangeError {
  readonly [INPUT] = true;
  constructor(
    /** Where in the input: `items[3].steps[1]`, `items[0].problem`, `candidates[2]`. */
    readonly path: InputPath,
    message: string,
  ) {
    super(`${path} ${message}`);
    this.name = 'PrmInputError';
  }
  /** The index of the item the path starts in (`items[3]...` → 3), if it starts with one. */
  get itemIndex(): number | undefined {
    const m = /^[A-Za-z_]+\[(\d+)\]/.exec(this.path);
    return m ? Number(m[1]) : undefined;
  }
}

/** A value of the wrong kind in the caller's input (a number where a string belongs). */
export class PrmInputTypeError extends TypeError {
  readonly [INPUT] = true;
  constructor(
    readonly path: InputPath,
    message: string,
  ) {
    super(`${path} ${message}`);
    this.name = 'PrmInputTypeError';
  }
  get itemIndex(): number | undefined {
    const m = /^[A-Za-z_]+\[(\d+)\]/.exec(this.path);
    return m ? Number(m[1]) : undefined;
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
