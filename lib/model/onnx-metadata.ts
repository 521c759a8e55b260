// An ONNX model's metadata (ModelProto.metadata_props), read without decoding the graph: the
// walk reads each top-level field's tag and length and seeks past the ones it does not want,
// so a bare .onnx with its weights inline (up to 2 GB) costs a few reads, not a parse. The
// converter writes what a loader must know of a graph it cannot see from the inputs alone
// ('prmkit.attention': GroupQueryAttention reads right-padded rows only).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { AttentionKind } from './manifest.js';

/** ModelProto's field number for metadata_props (StringStringEntryProto: key 1, value 2). */
const METADATA_PROPS = 14;
/** A metadata entry larger than this is not one prmkit wrote: it is skipped unread. */
const MAX_ENTRY = 1 << 16;

/** A protobuf reader over a file at absolute offsets. */
class FileCursor {
  constructor(private readonly fd: number, readonly size: number, public pos = 0) {}

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, b, got, n - got, this.pos + got);
      if (r === 0) throw new RangeError('ends inside a field');
      got += r;
    }
    this.pos += n;
    return b;
  }

  /** A varint as a number (exact up to 2^53, which every length in a 2 GB file is). */
  varint(): number {
    let v = 0;
    for (let shift = 0; shift < 64; shift += 7) {
      const byte = this.bytes(1)[0]!;
      v += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return v;
    }
    throw new RangeError('has a varint longer than 10 bytes');
  }

  /** Skips a field's value of wire type `wire`. */
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) {
      const n = this.varint(); // read first: `pos += varint()` would add to the pos before it
      this.pos += n;
    }
    else if (wire === 5) this.pos += 4;
    else throw new RangeError(`has a field of wire type ${wire}, which ModelProto does not use`);
    if (this.pos > this.size) throw new RangeError('ends inside a field');
  }
}

/** The key/value pairs of one StringStringEntryProto. */
function entry(b: Buffer): [string, string] | undefined {
  let key: string | undefined;
  let value = '';
  let pos = 0;
  while (pos < b.length) {
    const tag = b[pos++]!;
    if ((tag & 7) !== 2 || pos >= b.length) return undefined;
    let len = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = b[pos++];
      if (byte === undefined || shift > 28) return undefined;
      len |= (byte & 0x7f) << shift;
      if (byte < 0x80) break;
    }
    const text = b.subarray(pos, pos + len).toString('utf8');
    pos += len;
    if (tag >> 3 === 1) key = text;
    else if (tag >> 3 === 2) value = text;
  }
  return key === undefined ? undefined : [key, value];
}

/**
 * The metadata_props of the ONNX model at `path`, as a plain object. A file that is not a
 * well-formed ModelProto gets a RangeError naming it (onnxruntime would refuse it anyway).
 */
export function onnxMetadata(path: string): Record<string, string> {
  const out: Record<string, string> = Object.create(null);
  const fd = openSync(path, 'r');
  try {
    const c = new FileCursor(fd, fstatSync(fd).size);
    while (c.pos < c.size) {
      const tag = c.varint();
      const wire = tag & 7;
      if (tag >>> 3 === METADATA_PROPS && wire === 2) {
        const len = c.varint();
        if (len > MAX_ENTRY) { c.pos += len; continue; }
        const kv = entry(c.bytes(len));
        if (kv) out[kv[0]] = kv[1];
      } else c.skip(wire);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new RangeError(`model: ${path} is not an ONNX model: it ${e.message}`);
    throw e;
  } finally {
    closeSync(fd);
  }
  return { ...out };
}

/** What a converted graph says of itself: the attention it was written with and its chunks. */
export interface GraphFacts {
  attention?: AttentionKind;
  attentionChunks?: number;
}

/**
 * The facts prmkit's converter wrote into the graph's metadata (none for other exporters; none
 * for a file that is missing or no ModelProto, which onnxruntime's load then reports).
 */
export function graphFacts(path: string): GraphFacts {
  let m: Record<string, string>;
  try {
    m = onnxMetadata(path);
  } catch {
    return {};
  }
  const attention = m['prmkit.attention'];
  const chunks = Number(m['prmkit.attentionChunks']);
  return {
    ...(attention === 'gqa' || attention === 'plain' ? { attention } : {}),
    ...(Number.isSafeInteger(chunks) && chunks > 1 ? { attentionChunks: chunks } : {}),
  };
}
