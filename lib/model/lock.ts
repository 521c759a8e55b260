// A lock on a model folder for work that writes into it over minutes (`prmkit train`: the row
// cache, then the head and the manifest): a file created exclusively, holding the owner's pid,
// so a second run on the same folder is refused instead of interleaving its writes with the
// first's. A lock whose process is gone (killed, crashed) is stale: the next run takes it over.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

export const TRAIN_LOCK = '.prmkit-train.lock';

interface LockOwner {
  pid: number;
  host: string;
  started: string;
}

/** Whether process `pid` of this host runs (EPERM: it runs, as another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

function owner(path: string): LockOwner | undefined {
  try {
    const o = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner> | null;
    return o && Number.isSafeInteger(o.pid) && (o.pid as number) > 0 ? { pid: o.pid as number, host: String(o.host ?? ''), started: String(o.started ?? '') } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Holds `dir`'s lock `name` until `release()`. Refuses (RangeError naming the owner) while
 * another live process of this host holds it, or a process of another host (whose liveness
 * cannot be seen from here); takes over a lock whose process has ended or whose file is not
 * a lock's.
 */
export function lockFolder(dir: string, what: string, name = TRAIN_LOCK): { release(): void } {
  const path = join(dir, name);
  const me: LockOwner = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, JSON.stringify(me) + '\n', { flag: 'wx', mode: 0o644 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const o = owner(path);
    // a file with no owner yet may be another run's lock between its creation and its write
    const young = !o && Date.now() - mtime(path) < 10_000;
    if ((o && (o.host !== me.host || alive(o.pid))) || young || attempt === 2)
      throw new RangeError(`${dir} is locked by ${what}${o ? ` in process ${o.pid}${o.host !== me.host ? ` on ${o.host}` : ''} (since ${o.started})` : ''}; wait for it to end, or remove ${path} if that process is gone`);
    // the owner is gone (or the file is no lock): stale, taken over. Two runs that find the
    // same stale lock at the same moment can both take it; a live owner is never overridden.
    rmSync(path, { force: true });
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // only our own lock: a lock taken over from us (it looked stale to another) stays
      if (owner(path)?.pid === me.pid) rmSync(path, { force: true });
    },
  };
}
