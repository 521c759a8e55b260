// The output folder of a conversion. What it guarantees:
// - it writes only into an empty folder, an earlier conversion (prmkit.json), or what an
//   unfinished conversion left (the `.prmkit-convert` marker, written before anything else
//   and removed after the manifest), never into a folder of someone else's files;
// - every file is written under a temporary name with exclusive creation (which refuses to
//   open through a symlink left at that name) and renamed over the final name, which replaces
//   a symlink there instead of writing through it;
// - the manifest is the last file written, so a folder with prmkit.json is complete; a run
//   that fails removes what it wrote into a folder it created, or leaves the marker so that
//   `--force` recovers.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST } from '../model/manifest.js';

export const MARKER = '.prmkit-convert';

function regularFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/** An earlier conversion's manifest: a regular file that says it is prmkit's. */
function isOurManifest(path: string): boolean {
  if (!regularFile(path)) return false;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as { prmkit?: unknown; converter?: unknown } | null;
    return m !== null && typeof m === 'object' && m.prmkit === 1;
  } catch {
    return false;
  }
}

/** Where a model file is written: a temporary name, then a rename over the final one. */
export interface FileSink {
  partial(name: string): string;
  commit(name: string): void;
}

export class OutputFolder implements FileSink {
  private readonly written = new Set<string>();
  private readonly subfolders: string[] = [];

  private constructor(
    readonly dir: string,
    /** The folder was empty or absent: a failure removes all this run wrote (and a folder it made). */
    private readonly fresh: boolean,
    private readonly created: boolean,
  ) {}

  /** Checks `dir` may be written and marks it as a conversion under way; throws before writing anything otherwise. */
  static claim(dir: string, overwrite: boolean): OutputFolder {
    let created = false;
    let fresh = true;
    if (existsSync(dir)) {
      if (!lstatSync(dir).isDirectory()) throw new RangeError(`output ${dir} exists and is not a folder`);
      const entries = readdirSync(dir);
      if (entries.length > 0) {
        fresh = false;
        const finished = isOurManifest(join(dir, MANIFEST));
        const unfinished = regularFile(join(dir, MARKER));
        if (!finished && !unfinished) throw new RangeError(`output ${dir} holds files that are not a prmkit conversion; refusing to write into it`);
        if (!overwrite)
          throw new RangeError(
            finished
              ? `output ${dir} is not empty; pass overwrite (--force) to replace an earlier conversion there`
              : `output ${dir} holds what an unfinished conversion left; pass overwrite (--force) to replace it`,
          );
      }
    } else {
      mkdirSync(dir, { recursive: true });
      created = true;
    }
    const folder = new OutputFolder(dir, fresh, created);
    // the marker first, then the old manifest goes: at every moment the folder is either a
    // complete conversion or says that one is unfinished
    folder.write(MARKER, JSON.stringify({ pid: process.pid, started: new Date().toISOString() }) + '\n');
    rmSync(join(dir, MANIFEST), { force: true });
    return folder;
  }

  /** A temporary name in the folder, cleared of anything left there (a stale file or a symlink). */
  partial(name: string): string {
    const path = join(this.dir, `${name}.partial`);
    rmSync(path, { force: true });
    this.written.add(`${name}.partial`);
    return path;
  }

  /** Moves a finished temporary file over `name`. */
  commit(name: string): void {
    renameSync(join(this.dir, `${name}.partial`), join(this.dir, name));
    this.written.delete(`${name}.partial`);
    this.written.add(name);
  }

  /** Writes `name` whole (temporary name, exclusive creation, rename). */
  write(name: string, data: string | Uint8Array): void {
    writeFileSync(this.partial(name), data, { flag: 'wx', mode: 0o644 });
    this.commit(name);
  }

  /** A subfolder's sink (made when absent; a symlink there is refused), for a model of several. */
  sub(name: string): FileSink {
    const dir = join(this.dir, name);
    if (existsSync(dir) && !lstatSync(dir).isDirectory()) throw new RangeError(`output ${dir} exists and is not a folder`);
    if (!existsSync(dir)) {
      mkdirSync(dir);
      this.subfolders.push(name);
    }
    return { partial: (file) => this.partial(`${name}/${file}`), commit: (file) => this.commit(`${name}/${file}`) };
  }

  /** Writes the manifest last and drops the marker: the folder is now a complete conversion. */
  finish(manifest: unknown): void {
    this.write(MANIFEST, JSON.stringify(manifest, null, 2) + '\n');
    rmSync(join(this.dir, MARKER), { force: true });
  }

  /**
   * After a failure: temporary files go; in a folder that was empty, everything this run
   * wrote goes (and the folder, if this run made it); over an earlier conversion, the marker
   * stays, so the folder says it is unfinished and `--force` may replace it.
   */
  abandon(): void {
    for (const name of this.written) if (name.endsWith('.partial') || this.fresh) rmSync(join(this.dir, name), { force: true });
    if (this.fresh)
      for (const name of this.subfolders)
        try {
          rmdirSync(join(this.dir, name));
        } catch {
          /* not empty: leave it */
        }
    if (!this.created) return;
    try {
      rmdirSync(this.dir);
    } catch {
      /* someone else put files there meanwhile: leave them */
    }
  }
}
