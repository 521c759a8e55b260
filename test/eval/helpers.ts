// Shared test plumbing: the real-data location and a capturing stdout/stderr pair.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { runEvalCommand } from '../../lib/eval/cli.js';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedData = join(repoRoot, '..', 'shared', 'data');
export const processBenchDir = join(sharedData, 'processbench');
export const hasProcessBench = existsSync(join(processBenchDir, 'gsm8k.json'));
export const NO_DATA = `ProcessBench data not found at ${processBenchDir} (../shared/data beside the repo); skipping real-data tests`;

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
  const code = await runEvalCommand(argv, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
