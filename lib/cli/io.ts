// What a command gets from the process: streams, environment and a stop signal. Commands
// never touch `process` directly, so tests run them in-process with their own streams.
import type { Readable, Writable } from 'node:stream';

export interface CliIo {
  stdin: Readable;
  stdout: Writable & { fd?: number };
  stderr: Writable & { isTTY?: boolean; columns?: number };
  env: Record<string, string | undefined>;
  /** Fires on SIGINT/SIGTERM: `serve` shuts down gracefully, `score` stops after the current batch. */
  signal?: AbortSignal;
}

/** A mistake in the command line: exit code 2 and a pointer to --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A failure the user can act on (bad file, bad line, full disk): one line, no stack trace. */
export class CliError extends Error {
  constructor(
    message: string,
    /** The process exit code (1 unless the failure has a conventional one, e.g. 141 for EPIPE). */
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** The command was stopped by its signal (SIGINT/SIGTERM): exit 130, one line. */
export class Interrupted extends CliError {
  constructor(message = 'interrupted') {
    super(message, 130);
    this.name = 'Interrupted';
  }
}

const guarded = new WeakSet<Writable>();

/**
 * Writes and resolves once the stream has taken the text (so a slow pipe reader bounds
 * memory), rejecting with the stream's error. A failed write also emits 'error' after its
 * callback; a listener stays on the stream so that event cannot crash the process.
 */
export function write(stream: Writable, text: string): Promise<void> {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', () => {});
  }
  return new Promise((resolve, reject) => {
    if (stream.destroyed || stream.writableEnded) {
      reject(stream.errored ?? Object.assign(new Error('write after the stream was closed'), { code: 'EPIPE' }));
      return;
    }
    stream.write(text, (err) => (err ? reject(err) : resolve()));
  });
}

const REASONS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EFBIG: 'file too large',
  EIO: 'input/output error',
  ENXIO: 'no such device or address (a socket cannot be opened by its path)',
  EMFILE: 'too many open files',
  EPIPE: 'the reader closed the pipe',
  ERR_STREAM_DESTROYED: 'the stream was closed',
};

/** The error codes of file and stream failures a user can act on. */
export function isFileError(err: unknown): err is NodeJS.ErrnoException {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && Object.hasOwn(REASONS, code);
}

/**
 * A file or stream failure as one line: `cannot write output out.jsonl: no space left on the
 * device (ENOSPC)`. EPIPE exits 141 (128 + SIGPIPE), as shell tools do when the reader goes.
 */
export function fileError(err: unknown, what: string): CliError | undefined {
  if (!isFileError(err)) return undefined;
  const code = err.code!;
  return new CliError(`${what}: ${REASONS[code]} (${code})`, code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' ? 141 : 1);
}
