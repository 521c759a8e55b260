// Eval test plumbing: a capturing stdout/stderr pair around the CLI.
import { Readable, Writable } from 'node:stream';
import { runCli } from '../../lib/cli/run.js';

export { describeWhen, hasProcessBench, NO_PROCESSBENCH, processBenchDir, repoRoot, sharedData } from '../helpers/index.js';

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export async function runEval(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const code = await runCli(['eval', ...argv], { stdin: Readable.from([]), stdout, stderr, env: {} });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
