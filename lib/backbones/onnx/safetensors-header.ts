// The JSON header of a .safetensors file (8-byte little-endian length, then JSON), read
// without touching the tensor bytes, so listing a multi-GB checkpoint costs one small read.
import { closeSync, openSync, readSync } from 'node:fs';

export interface SafetensorsEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

export interface SafetensorsHeader {
  /** Tensors by name (`__metadata__` left out). */
  entries: Record<string, SafetensorsEntry>;
  /** Byte offset in the file where `data_offsets` count from. */
  dataStart: number;
}

/** `prefix` starts every message, so each caller's errors say what was being loaded. */
export function readSafetensorsHeader(path: string, prefix = ''): SafetensorsHeader {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new TypeError(`${prefix}cannot open ${path}: ${(e as Error).message}`);
  }
  try {
    const lenBuf = Buffer.alloc(8);
    if (readSync(fd, lenBuf, 0, 8, 0) !== 8) throw new TypeError(`${prefix}${path} is not a safetensors file (too short)`);
    const n = Number(lenBuf.readBigUInt64LE(0));
    if (!(n > 1 && n < 100_000_000)) throw new TypeError(`${prefix}${path} is not a safetensors file (bad header size ${n})`);
    const hb = Buffer.alloc(n);
    readSync(fd, hb, 0, n, 8);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(hb.toString('utf8')) as Record<string, unknown>;
    } catch {
      throw new TypeError(`${prefix}${path} has an unreadable safetensors header`);
    }
    delete parsed.__metadata__;
    return { entries: parsed as Record<string, SafetensorsEntry>, dataStart: 8 + n };
  } finally {
    closeSync(fd);
  }
}
