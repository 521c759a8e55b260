// A worker thread takes the parent's node flags by default, but `--input-type` only applies
// to code given with -e, --print or stdin: a worker started from a file refuses to start
// with it, so a script run as `node --input-type=module -e ...` could not open a model.

/** The parent's flags, less `--input-type=x` and `--input-type x`. */
export function workerExecArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--input-type') i++;
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}
