// JSONL outputs that a rerun resumes, and that are never damaged. The target is inspected
// read-only before anything else happens (a wrong model path must not cost the file); only a
// file made of prmkit lines is appended to, and only a cut last line is ever removed from it.
// `-`, the process's own stdout (`-o /dev/stdout`, whatever it points at), devices and pipes
// are written as they are and never read back.
import { accessSync, constants, fstatSync, openSync, closeSync, ftruncateSync, statSync, writeSync, createWriteStream } from 'node:fs';
import type { Stats } from 'node:fs';
import { open, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { CliError, fileError } from './io.js';
import type { CliIo } from './io.js';

/** What every line of one kind of output holds besides its string `id`. */
export interface OutputKind {
  /** For messages: "a prmkit score output". */
  what: string;
  fields: readonly string[];
}

export type OutputPlan =
  | { mode: 'stdout'; label: string }
  | { mode: 'stream'; path: string; label: string }
  | { mode: 'file'; path: string; label: string; size: number; keep: number; newline: boolean; stat?: Stats };

/** A line already in the output, with its line number. */
export type OnDoneLine = (value: Record<string, unknown>, line: number) => void;

function isStdout(path: string, io: CliIo): boolean {
  if (path === '-') return true;
  const fd = io.stdout.fd;
  if (typeof fd !== 'number') return false;
  try {
    const a = statSync(path);
    const b = fstatSync(fd);
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

function checkLine(text: string, kind: OutputKind): Record<string, unknown> | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['id'] !== 'string' || !kind.fields.every((f) => Object.hasOwn(o, f))) return undefined;
  return o;
}

/**
 * The target's stat when it exists (undefined when it can be created), after checking that
 * it may be written: a missing folder, a directory or a read-only file fail here, in one line.
 */
function writableTarget(path: string, what: string): Stats | undefined {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fileError(err, `cannot use ${what} ${path}`) ?? err;
    try {
      accessSync(dirname(path), constants.W_OK);
    } catch (e) {
      throw fileError(e, `cannot create ${what} ${path}`) ?? e;
    }
    return undefined;
  }
  if (stat.isDirectory()) throw new CliError(`cannot write ${what} ${path}: is a directory (EISDIR)`);
  try {
    accessSync(path, constants.W_OK);
  } catch (e) {
    throw fileError(e, `cannot write ${what} ${path}`) ?? e;
  }
  return stat;
}

/**
 * Looks at the output target without changing it: which lines are done (each passed to
 * `onLine`), and what must be repaired before appending. Refuses a file that is not made of
 * this kind's lines.
 */
export async function inspectOutput(path: string, io: CliIo, kind: OutputKind, onLine: OnDoneLine, signal?: AbortSignal): Promise<OutputPlan> {
  if (isStdout(path, io)) return { mode: 'stdout', label: path === '-' ? 'stdout' : path };
  const label = path;
  const stat = writableTarget(path, 'output');
  if (!stat) return { mode: 'file', path, label, size: 0, keep: 0, newline: false };
  if (!stat.isFile()) return { mode: 'stream', path, label };

  const refuse = (line: number) =>
    new CliError(`output ${path} line ${line} is not a line of ${kind.what}; refusing to write to it (move it away or choose another --output)`);
  const fh = await open(path, 'r');
  let offset = 0;
  let lineNo = 0;
  let good = 0;
  let keep = 0;
  let pending: Buffer[] = [];
  let newline = false;
  try {
    const buf = Buffer.alloc(1 << 16);
    for (;;) {
      signal?.throwIfAborted();
      const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) break;
      let start = 0;
      for (let i = 0; i < bytesRead; i++) {
        if (buf[i] !== 0x0a) continue;
        pending.push(Buffer.from(buf.subarray(start, i)));
        const text = Buffer.concat(pending).toString('utf8');
        pending = [];
        lineNo++;
        start = i + 1;
        keep = offset + start;
        if (text.trim().length === 0) continue;
        const o = checkLine(text, kind);
        if (!o) throw refuse(lineNo);
        good++;
        onLine(o, lineNo);
      }
      if (start < bytesRead) pending.push(Buffer.from(buf.subarray(start, bytesRead)));
      offset += bytesRead;
    }
  } finally {
    await fh.close();
  }
  const tail = Buffer.concat(pending).toString('utf8');
  if (tail.trim().length > 0) {
    const o = checkLine(tail, kind);
    if (o) {
      // a whole line that only lacks its newline
      onLine(o, lineNo + 1);
      keep = offset;
      newline = true;
    } else if (!(good > 0 || tail.startsWith('{"id":'))) throw refuse(lineNo + 1);
    // else: a line cut by a crash; it is removed and that record is written again
  } else keep = offset;
  return { mode: 'file', path, label, size: offset, keep, newline, stat };
}

/**
 * Opens the inspected target for appending: removes a cut last line, ends an unterminated
 * one. The file must not have changed since it was inspected.
 */
export function openOutput(plan: OutputPlan, io: CliIo): Writable {
  if (plan.mode === 'stdout') return io.stdout;
  let fd: number;
  try {
    fd = openSync(plan.path, 'a');
  } catch (err) {
    throw fileError(err, `cannot open output ${plan.path}`) ?? err;
  }
  try {
    if (plan.mode === 'file' && plan.stat) {
      const now = fstatSync(fd);
      if (now.ino !== plan.stat.ino || now.size !== plan.size) throw new CliError(`output ${plan.path} changed while it was being read; run again`);
      if (plan.keep < plan.size) ftruncateSync(fd, plan.keep);
      if (plan.newline) writeSync(fd, '\n');
    }
  } catch (err) {
    closeSync(fd);
    throw fileError(err, `cannot write output ${plan.path}`) ?? err;
  }
  return createWriteStream('', { fd, autoClose: true });
}

/** Ends a stream opened by openOutput and waits until everything is on disk (or fails). */
export async function closeOutput(sink: Writable, io: CliIo): Promise<void> {
  if (sink === io.stdout) return;
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}

/**
 * Checks, before any work, that a whole-file output (a report, a predictions file) may be
 * replaced: it does not exist, is not a regular file (stdout, a pipe), or `ours` recognises
 * its text as what this kind of run writes.
 */
export async function checkReplaceable(path: string, what: string, ours: (text: string) => boolean): Promise<void> {
  const stat = writableTarget(path, what);
  if (!stat || !stat.isFile() || stat.size === 0) return;
  if (!ours(await readFile(path, 'utf8')))
    throw new CliError(`${what} ${path} exists and is not one prmkit wrote; refusing to replace it (move it away or choose another path)`);
}

/** Every non-blank line is a JSON object with a string id and `fields`. */
export function jsonLinesOf(kind: OutputKind): (text: string) => boolean {
  return (text) =>
    text
      .split('\n')
      .filter((l) => l.trim().length > 0)
      .every((l) => checkLine(l, kind) !== undefined);
}

/** Writes a whole file; failures are one line. */
export async function writeWhole(path: string, what: string, text: string): Promise<void> {
  try {
    await writeFile(path, text);
  } catch (err) {
    throw fileError(err, `cannot write ${what} ${path}`) ?? err;
  }
}
