// A Hugging Face checkpoint's weights, read one tensor at a time: a single model.safetensors
// or shards listed by model.safetensors.index.json. Only headers are read up front; a
// tensor's bytes are read when it is asked for and dropped by the caller after use, so
// memory stays bounded by the largest tensor, not the model.
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../backbones/onnx/safetensors-header.js';
import { f16ToFloat } from '../kernels/half.js';

export type StDtype = 'F32' | 'F16' | 'BF16';

export interface TensorInfo {
  name: string;
  dtype: StDtype;
  shape: number[];
  file: string;
  /** Absolute byte offset of the data in `file`. */
  offset: number;
  bytes: number;
}

const WIDTH: Record<StDtype, number> = { F32: 4, F16: 2, BF16: 2 };

function readHeader(file: string): TensorInfo[] {
  const { entries, dataStart } = readSafetensorsHeader(file);
  const out: TensorInfo[] = [];
  for (const [name, e] of Object.entries(entries)) {
    if (!(e.dtype in WIDTH)) throw new TypeError(`${file}: tensor '${name}' has dtype ${e.dtype}; F32, F16 and BF16 checkpoints are supported`);
    const dtype = e.dtype as StDtype;
    const count = e.shape.reduce((a, b) => a * b, 1);
    const [start, end] = e.data_offsets;
    if (end - start !== count * WIDTH[dtype]) throw new RangeError(`${file}: tensor '${name}' byte range does not match its shape`);
    out.push({ name, dtype, shape: [...e.shape], file, offset: dataStart + start, bytes: end - start });
  }
  return out;
}

/** The tensors of a checkpoint folder, by name; `read` widens one to float32. */
export class Checkpoint {
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** Total bytes of weights on disk. */
  readonly bytes: number;
  /** Number of bytes of the largest tensor (what bounds conversion memory). */
  readonly largest: number;

  private constructor(tensors: TensorInfo[]) {
    this.tensors = new Map(tensors.map((t) => [t.name, t]));
    this.bytes = tensors.reduce((a, t) => a + t.bytes, 0);
    this.largest = tensors.reduce((a, t) => Math.max(a, t.bytes), 0);
  }

  static open(dir: string): Checkpoint {
    const single = join(dir, 'model.safetensors');
    const index = join(dir, 'model.safetensors.index.json');
    if (existsSync(index)) {
      let map: Record<string, string>;
      try {
        map = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map: Record<string, string> }).weight_map;
      } catch (e) {
        throw new TypeError(`${index} is not a valid index: ${(e as Error).message}`);
      }
      if (!map || typeof map !== 'object') throw new TypeError(`${index} has no weight_map`);
      const shards = [...new Set(Object.values(map))];
      const all: TensorInfo[] = [];
      for (const s of shards) {
        const p = join(dir, s);
        if (!existsSync(p)) throw new TypeError(`${index} names ${s}, which is missing from ${dir}`);
        all.push(...readHeader(p));
      }
      return new Checkpoint(all);
    }
    if (existsSync(single)) return new Checkpoint(readHeader(single));
    throw new TypeError(`${dir} has no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are read)`);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new RangeError(`the checkpoint has no tensor '${name}'`);
    return t;
  }

  /** One tensor as float32 (bf16/f16 widened exactly). */
  read(name: string, expectShape?: readonly number[]): Float32Array {
    const t = this.info(name);
    if (expectShape && (expectShape.length !== t.shape.length || expectShape.some((d, i) => d !== t.shape[i])))
      throw new RangeError(`tensor '${name}' has shape [${t.shape.join(', ')}], the config implies [${expectShape.join(', ')}]`);
    return this.readRows(name, 0, t.shape[0] ?? 1);
  }

  /** Rows [from, from + count) of a tensor (e.g. a few label rows of a 128k-row LM head). */
  readRows(name: string, from: number, count: number): Float32Array {
    const t = this.info(name);
    const rowElems = t.shape.slice(1).reduce((a, b) => a * b, 1);
    const w = WIDTH[t.dtype];
    const buf = Buffer.alloc(count * rowElems * w);
    const fd = openSync(t.file, 'r');
    try {
      let done = 0;
      while (done < buf.length) {
        const n = readSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), t.offset + from * rowElems * w + done);
        if (n <= 0) throw new RangeError(`${t.file} ends inside tensor '${name}'`);
        done += n;
      }
    } finally {
      closeSync(fd);
    }
    const n = count * rowElems;
    if (t.dtype === 'F32') return new Float32Array(buf.buffer, buf.byteOffset, n).slice();
    const u16 = new Uint16Array(buf.buffer, buf.byteOffset, n);
    const out = new Float32Array(n);
    if (t.dtype === 'BF16') {
      const u32 = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u32[i] = u16[i] << 16;
    } else for (let i = 0; i < n; i++) out[i] = f16ToFloat(u16[i]);
    return out;
  }
}

