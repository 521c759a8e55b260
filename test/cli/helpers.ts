// Running `prmkit` in tests: in-process through runCli with captured streams, or as the real
// executable (the compiled dist/cli/main.js) in a child process where the failure mode is the
// process itself (a crash, a hang, a signal, a pipe).
import { spawn } from 'node:child_process';
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { runCli } from '../../lib/cli/run.js';
import type { CliIo } from '../../lib/cli/io.js';
import { distDir } from '../helpers/index.js';

export class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
    this.emit('wrote');
  }
}

export type TestIo = CliIo & { stdout: Capture; stderr: Capture };

export function io(extra: Partial<CliIo> = {}): TestIo {
  const stdin = new PassThrough();
  stdin.end();
  return { stdin, stdout: new Capture(), stderr: new Capture(), env: {}, ...extra } as TestIo;
}

/** `prmkit argv...` in-process, with stdin text. */
export async function prmkit(argv: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const input = new PassThrough();
  input.end(stdin ?? '');
  const c = io({ stdin: input });
  const code = await runCli(argv, c);
  return { code, stdout: c.stdout.text, stderr: c.stderr.text };
}

export const mainJs = join(distDir, 'cli', 'main.js');

export interface Exited {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The real executable as a child; `exited` settles when it ends. */
export function spawnPrmkit(argv: string[], options: SpawnOptions = {}): { child: ChildProcess; exited: Promise<Exited>; stderr: () => string } {
  const child = spawn(process.execPath, [mainJs, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise<Exited>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exited, stderr: () => stderr };
}

/** Resolves when `ready()` holds, checked on every event `on` fires; no timer decides anything. */
export function when(emitter: NodeJS.EventEmitter, event: string, ready: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    if (ready()) return resolve();
    const check = () => {
      if (!ready()) return;
      emitter.off(event, check);
      resolve();
    };
    emitter.on(event, check);
  });
}

/** A local HTTP server answering every JSON POST with `answer(body)`: a stand-in upstream. */
export async function jsonServer(answer: (body: any) => unknown): Promise<{ url: string; close: () => Promise<void> }> {
  const { createServer } = await import('node:http');
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(JSON.parse(body)))));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
