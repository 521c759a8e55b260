// Writes float32 tensors as a .safetensors file (8-byte little-endian header size, JSON
// header with dtype/shape/data_offsets, then the raw data): trained heads, and head weights
// in tests.
import { writeFileSync } from 'node:fs';

export function safetensorsBytes(tensors: Record<string, { shape: number[]; data: Float32Array }>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', producer: 'prmkit', ...metadata } };
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, at);
    at += t.data.byteLength;
  }
  return out;
}

export function writeSafetensors(path: string, tensors: Record<string, { shape: number[]; data: Float32Array }>, metadata?: Record<string, string>): void {
  writeFileSync(path, safetensorsBytes(tensors, metadata));
}
