// The on-disk cache of gathered rows: a folder holding
//   meta.json      what the rows are (the key of model + format + encoded data), N, H, chains
//   labels.f32     [N] P(correct) per row, and groups.i32 [N] the validation group per row,
//                  both known before the backbone runs and written when the cache is made
//   rows.f32       [N, H] float32 rows, appended in chain order as the backbone gives them
//   progress.json  how many chains (and rows) of rows.f32 are complete
// Rows are appended a block of chains at a time and progress is renamed into place after
// them, so an interrupted gather resumes at the first block not recorded (bytes past it are
// cut off) and a cache is never mistaken for another: the key covers the model files, the
// format and every chain's token ids, boundaries and labels.
import { closeSync, existsSync, ftruncateSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryRows } from './rows.js';
import type { RowSource } from './types.js';

const VERSION = 1;

export interface RowCacheMeta {
  prmkitRows: typeof VERSION;
  key: string;
  width: number;
  rows: number;
  chains: number;
}

interface Progress {
  chains: number;
  rows: number;
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.partial`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

/** A cache being filled: append rows a block of chains at a time, then `commit`. */
export class RowCacheWriter {
  readonly #dir: string;
  readonly #fd: number;
  readonly #width: number;
  #progress: Progress;

  private constructor(dir: string, fd: number, width: number, progress: Progress) {
    this.#dir = dir;
    this.#fd = fd;
    this.#width = width;
    this.#progress = progress;
  }

  /**
   * Opens the cache at `dir` for `meta` (creating it, with its labels and groups), or resumes
   * the one there when its key matches. A folder holding other rows is an error, never reused.
   */
  static open(dir: string, meta: Omit<RowCacheMeta, 'prmkitRows'>, labels: Float32Array, groups: Int32Array): RowCacheWriter {
    const metaPath = join(dir, 'meta.json');
    const old = existsSync(metaPath) ? readJson<RowCacheMeta>(metaPath) : undefined;
    if (old && old.key !== meta.key)
      throw new RangeError(`cache ${dir} holds rows of other data, another format or another model; remove it or pick another cache folder`);
    if (!old) {
      if (existsSync(dir) && !statSync(dir).isDirectory()) throw new TypeError(`cache ${dir} is a file, not a folder`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'labels.f32'), Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
      writeFileSync(join(dir, 'groups.i32'), Buffer.from(groups.buffer, groups.byteOffset, groups.byteLength));
      writeFileSync(join(dir, 'rows.f32'), '');
      writeAtomic(join(dir, 'progress.json'), JSON.stringify({ chains: 0, rows: 0 }));
      writeAtomic(metaPath, JSON.stringify({ prmkitRows: VERSION, ...meta }));
    }
    const progress = readJson<Progress>(join(dir, 'progress.json')) ?? { chains: 0, rows: 0 };
    const fd = openSync(join(dir, 'rows.f32'), 'r+');
    // bytes past the last recorded block belong to an interrupted one: it is gathered again
    ftruncateSync(fd, progress.rows * meta.width * 4);
    return new RowCacheWriter(dir, fd, meta.width, progress);
  }

  /** Chains (and rows) already in the cache. */
  get progress(): Readonly<Progress> {
    return this.#progress;
  }

  /** Appends the rows of the next `chains` chains and records them. */
  append(rows: Float32Array, chains: number): void {
    if (rows.length % this.#width !== 0) throw new RangeError(`rows has ${rows.length} numbers, not a multiple of the width ${this.#width}`);
    const bytes = Buffer.from(rows.buffer, rows.byteOffset, rows.byteLength);
    let done = 0;
    const at = this.#progress.rows * this.#width * 4;
    while (done < bytes.length) done += writeSync(this.#fd, bytes, done, bytes.length - done, at + done);
    fsyncSync(this.#fd);
    this.#progress = { chains: this.#progress.chains + chains, rows: this.#progress.rows + rows.length / this.#width };
    writeAtomic(join(this.#dir, 'progress.json'), JSON.stringify(this.#progress));
  }

  close(): void {
    closeSync(this.#fd);
  }
}

/** A complete cache, as rows for `fitHead`; `close()` releases its file. */
export interface CachedRows extends RowSource {
  readonly rows: number;
  close(): Promise<void>;
}

/**
 * Reads a complete cache: in memory when its rows fit in `memoryBytes`, else a RowSource
 * that reads the rows asked for from the file (contiguous indices in one read).
 */
export async function openRowCache(dir: string, { memoryBytes = 1 << 30 } = {}): Promise<CachedRows> {
  const meta = readJson<RowCacheMeta>(join(dir, 'meta.json'));
  if (!meta || meta.prmkitRows !== VERSION) throw new TypeError(`${dir} is not a prmkit row cache`);
  const progress = readJson<Progress>(join(dir, 'progress.json'));
  if (!progress || progress.chains !== meta.chains || progress.rows !== meta.rows) throw new RangeError(`row cache ${dir} is incomplete (${progress?.chains ?? 0} of ${meta.chains} chains gathered); gather again to finish it`);
  const H = meta.width;
  const N = meta.rows;
  const typed = <T>(name: string, Type: new (b: ArrayBuffer) => T): T => {
    const b = readFileSync(join(dir, name));
    return new Type(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer);
  };
  const labels = typed('labels.f32', Float32Array);
  const groups = typed('groups.i32', Int32Array);
  if (labels.length !== N || groups.length !== N) throw new RangeError(`row cache ${dir} has ${labels.length} labels and ${groups.length} groups for ${N} rows`);
  if (N * H * 4 <= memoryBytes) {
    const data = typed('rows.f32', Float32Array);
    if (data.length !== N * H) throw new RangeError(`row cache ${dir}: rows.f32 holds ${data.length / H} rows, meta.json says ${N}`);
    return { ...memoryRows({ data, dims: [N, H] }, labels, groups), rows: N, close: async () => {} };
  }
  const file: FileHandle = await open(join(dir, 'rows.f32'), 'r');
  return {
    width: H,
    labels,
    groups,
    rows: N,
    async read(indices, out) {
      for (let j = 0; j < indices.length; ) {
        let k = j + 1;
        while (k < indices.length && indices[k] === indices[k - 1] + 1) k++;
        const bytes = (k - j) * H * 4;
        const view = new Uint8Array(out.buffer, out.byteOffset + j * H * 4, bytes);
        let done = 0;
        while (done < bytes) {
          const { bytesRead } = await file.read(view, done, bytes - done, indices[j] * H * 4 + done);
          if (bytesRead <= 0) throw new RangeError(`row cache ${dir}: rows.f32 ends early`);
          done += bytesRead;
        }
        j = k;
      }
    },
    close: () => file.close(),
  };
}

/** Bytes of the files directly in `dir` (a cache holds no subfolders). */
function folderBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isFile()) n += statSync(join(dir, e.name)).size;
  return n;
}

/**
 * Bounds the caches under `root` (a model folder's train-cache/) to `maxBytes` together:
 * `current` is marked as just used and always kept; the others go least recently used first
 * until the rest fits. Only folders that are prmkit row caches are counted or removed.
 * Returns the folders removed.
 */
export function pruneRowCaches(root: string, current: string, maxBytes: number): string[] {
  if (!existsSync(root)) return [];
  const now = new Date();
  if (existsSync(join(current, 'meta.json'))) utimesSync(join(current, 'meta.json'), now, now);
  const caches = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && readJson<RowCacheMeta>(join(root, e.name, 'meta.json'))?.prmkitRows === VERSION)
    .map((e) => {
      const dir = join(root, e.name);
      return { dir, bytes: folderBytes(dir), used: statSync(join(dir, 'meta.json')).mtimeMs };
    });
  let total = caches.reduce((a, c) => a + c.bytes, 0);
  const removed: string[] = [];
  for (const c of caches.filter((c) => c.dir !== current).sort((a, b) => a.used - b.used)) {
    if (total <= maxBytes) break;
    rmSync(c.dir, { recursive: true, force: true });
    total -= c.bytes;
    removed.push(c.dir);
  }
  return removed;
}
