// The one reader of .safetensors files: a checkpoint folder (one model.safetensors or shards
// listed by model.safetensors.index.json) or a single file (a head's weights). Only headers
// are read up front; a tensor's bytes are read when asked for, so memory stays bounded by
// the tensor, not the model, and a multi-GB file costs one small read to list.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { f16ToFloat } from '../kernels/half.js';
import { insideFolder } from './paths.js';

/** The element types prmkit widens to float32. */
export type StDtype = 'F32' | 'F16' | 'BF16';

export interface TensorInfo {
  name: string;
  /** As the header says it (only F32, F16 and BF16 can be read). */
  dtype: string;
  shape: number[];
  file: string;
  /** Absolute byte offset of the data in `file`. */
  offset: number;
  bytes: number;
}

export interface Tensor {
  shape: number[];
  data: Float32Array;
}

const WIDTH: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2 };
/** A header larger than this is not a safetensors header (real ones are well under 10 MB). */
const MAX_HEADER = 100_000_000;

function isStDtype(d: string): d is StDtype {
  return Object.hasOwn(WIDTH, d);
}

/**
 * Reads exactly `length` bytes at `position`: readSync may return fewer than asked (large
 * reads, network file systems), and a file that ends early is an error, not zeros.
 */
export function readExactly(fd: number, buf: Buffer, position: number, what: () => string): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), position + done);
    if (n <= 0) throw new RangeError(`${what()}: the file ends ${buf.length - done} bytes early`);
    done += n;
  }
}

interface RawEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/**
 * The tensors a file's header lists (`__metadata__` left out), with absolute offsets. Every
 * entry is checked before any byte is read: a known dtype's range matches its shape, ranges
 * do not overlap, and each lies inside the file's data section.
 */
function readHeader(file: string, prefix: string): TensorInfo[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    throw new TypeError(`${prefix}cannot open ${file}: ${(e as Error).message}`);
  }
  let parsed: Record<string, RawEntry>;
  let dataStart: number;
  let fileSize: number;
  try {
    fileSize = fstatSync(fd).size;
    const lenBuf = Buffer.alloc(8);
    if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new TypeError(`${prefix}${file} is not a safetensors file (too short)`);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (!(n > 1 && n < MAX_HEADER)) throw new TypeError(`${prefix}${file} is not a safetensors file (bad header size ${n})`);
    if (8 + n > fileSize) throw new TypeError(`${prefix}${file} is not a safetensors file (its header of ${n} bytes is longer than the file, ${fileSize} bytes)`);
    const hb = Buffer.alloc(n);
    readExactly(fd, hb, 8, () => `${prefix}${file} is not a safetensors file (header of ${n} bytes)`);
    try {
      parsed = JSON.parse(hb.toString('utf8')) as Record<string, RawEntry>;
    } catch {
      throw new TypeError(`${prefix}${file} has an unreadable safetensors header`);
    }
    dataStart = 8 + n;
  } finally {
    closeSync(fd);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError(`${prefix}${file} has a safetensors header that is not an object`);
  const out: TensorInfo[] = [];
  for (const [name, e] of Object.entries(parsed)) {
    if (name === '__metadata__') continue;
    const bad = (what: string) => new TypeError(`${prefix}${file}: tensor '${name}' ${what}`);
    if (e === null || typeof e !== 'object' || Array.isArray(e)) throw bad('has no header entry (an object { dtype, shape, data_offsets })');
    if (typeof e.dtype !== 'string') throw bad(`has no dtype (got ${JSON.stringify(e.dtype)?.slice(0, 40)})`);
    if (!Array.isArray(e.shape) || e.shape.length > 8 || !e.shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw bad(`has no valid shape (a list of at most 8 non-negative integers, got ${JSON.stringify(e.shape)?.slice(0, 60)})`);
    const o = e.data_offsets;
    if (!Array.isArray(o) || o.length !== 2 || !o.every((x) => Number.isSafeInteger(x) && x >= 0) || o[1] < o[0])
      throw bad(`has no valid data_offsets (two non-negative integers [begin, end], got ${JSON.stringify(o)?.slice(0, 60)})`);
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(count)) throw new RangeError(`${prefix}${file}: tensor '${name}' has shape [${e.shape.join(', ')}], more elements than any file holds`);
    if (isStDtype(e.dtype) && o[1] - o[0] !== count * WIDTH[e.dtype])
      throw new RangeError(`${prefix}${file}: tensor '${name}' byte range [${o[0]}, ${o[1]}) does not match its shape [${e.shape.join(', ')}] of ${e.dtype}`);
    if (dataStart + o[1] > fileSize)
      throw new RangeError(`${prefix}${file}: tensor '${name}' byte range [${o[0]}, ${o[1]}) ends past the end of the file (${fileSize - dataStart} data bytes)`);
    out.push({ name, dtype: e.dtype, shape: [...e.shape], file, offset: dataStart + o[0], bytes: o[1] - o[0] });
  }
  // ranges must not share bytes: two tensors over the same bytes are a corrupt or crafted file
  const sorted = [...out].filter((t) => t.bytes > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].bytes)
      throw new RangeError(`${prefix}${file}: tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap in the file`);
  return out;
}

/** Tensors read from a checkpoint, joined along their first axis (fused projections, a head's parameters). */
export function concatRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The tensors of a checkpoint folder or file, by name; `read` widens one to float32. */
export class Checkpoint {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Total bytes of weights on disk. */
  readonly bytes: number;
  /** Number of bytes of the largest tensor (what bounds conversion memory). */
  readonly largest: number;

  private constructor(
    tensors: TensorInfo[],
    /** What the checkpoint is called in messages. */
    private readonly where: string,
    /** Starts every message (e.g. 'head: '), so errors say what was being loaded. */
    private readonly prefix: string,
  ) {
    this.tensors = new Map(tensors.map((t) => [t.name, t]));
    this.bytes = tensors.reduce((a, t) => a + t.bytes, 0);
    this.largest = tensors.reduce((a, t) => Math.max(a, t.bytes), 0);
  }

  /**
   * A Hugging Face checkpoint folder: model.safetensors, or the shards its
   * model.safetensors.index.json lists. Every tensor must be F32, F16 or BF16.
   */
  static open(dir: string): Checkpoint {
    const single = join(dir, 'model.safetensors');
    const index = join(dir, 'model.safetensors.index.json');
    let all: TensorInfo[];
    if (existsSync(index)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(readFileSync(index, 'utf8'));
      } catch (e) {
        throw new TypeError(`${index} is not a valid index: ${(e as Error).message}`);
      }
      const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
      if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new TypeError(`${index} has no weight_map object`);
      const shards = new Map<string, string>();
      for (const [tensor, s] of Object.entries(map)) {
        const where = `${index}: weight_map[${JSON.stringify(tensor)}]`;
        const p = insideFolder(dir, s, where);
        if (!existsSync(p)) throw new TypeError(`${index} names ${s}, which is missing from ${dir}`);
        shards.set(s as string, p);
      }
      all = [];
      for (const p of shards.values()) all.push(...readHeader(p, ''));
      const seen = new Map<string, string>();
      for (const t of all) {
        const other = seen.get(t.name);
        if (other !== undefined) throw new RangeError(`tensor '${t.name}' is in two shards, ${other} and ${t.file}`);
        seen.set(t.name, t.file);
      }
    } else if (existsSync(single)) {
      all = readHeader(insideFolder(dir, 'model.safetensors', dir), '');
    } else {
      throw new TypeError(`${dir} has no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are read)`);
    }
    for (const t of all)
      if (!isStDtype(t.dtype)) throw new TypeError(`${t.file}: tensor '${t.name}' has dtype ${t.dtype}; F32, F16 and BF16 checkpoints are supported`);
    return new Checkpoint(all, dir, '');
  }

  /** One .safetensors file; its tensors' types are checked when they are read. */
  static file(path: string, prefix = ''): Checkpoint {
    return new Checkpoint(readHeader(path, prefix), path, prefix);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new RangeError(`${this.prefix}${this.where} has no tensor '${name}' (it has ${[...this.tensors.keys()].slice(0, 20).join(', ')})`);
    return t;
  }

  /** One tensor as float32 (bf16/f16 widened exactly). */
  read(name: string, expectShape?: readonly number[]): Float32Array {
    const t = this.info(name);
    if (expectShape && (expectShape.length !== t.shape.length || expectShape.some((d, i) => d !== t.shape[i])))
      throw new RangeError(`${t.file}: tensor '${name}' has shape [${t.shape.join(', ')}], the config implies [${expectShape.join(', ')}]`);
    return this.readRows(name, 0, t.shape[0] ?? 1);
  }

  /** A tensor with its shape. */
  tensor(name: string): Tensor {
    return { shape: [...this.info(name).shape], data: this.read(name) };
  }

  /** Rows [from, from + count) of a tensor (e.g. a few label rows of a 128k-row LM head). */
  readRows(name: string, from: number, count: number): Float32Array {
    const t = this.info(name);
    if (!isStDtype(t.dtype)) throw new TypeError(`${this.prefix}tensor '${name}' has dtype ${t.dtype}; F32, F16 and BF16 are supported`);
    const rows = t.shape[0] ?? 1;
    if (!(Number.isInteger(from) && Number.isInteger(count) && from >= 0 && count >= 0 && from + count <= rows))
      throw new RangeError(`${this.prefix}${t.file}: rows [${from}, ${from + count}) are outside tensor '${name}' (${rows} rows)`);
    const rowElems = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const w = WIDTH[t.dtype];
    const buf = Buffer.alloc(count * rowElems * w);
    const fd = openSync(t.file, 'r');
    try {
      readExactly(fd, buf, t.offset + from * rowElems * w, () => `${this.prefix}${t.file} ends inside tensor '${name}'`);
    } finally {
      closeSync(fd);
    }
    const n = count * rowElems;
    if (t.dtype === 'F32') return new Float32Array(buf.buffer, buf.byteOffset, n).slice();
    const u16 = new Uint16Array(buf.buffer, buf.byteOffset, n);
    const out = new Float32Array(n);
    if (t.dtype === 'BF16') {
      // bfloat16 is the top half of a float32
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = u16[i] << 16;
    } else for (let i = 0; i < n; i++) out[i] = f16ToFloat(u16[i]);
    return out;
  }
}
