// An LM head as the checkpoint stores it, for the native LM-head kernel: float32, or the
// float16/bfloat16 bit patterns read as they are (a [152k, 3584] head is 1.1 GB in bfloat16;
// widening it would double that, and bfloat16 weights widen exactly in the kernel anyway).
import { closeSync, openSync } from 'node:fs';
import type { LmHead } from '../../kernels/lm-head.js';
import { Checkpoint, readExactly } from '../../model/safetensors.js';

export const LM_HEAD_TENSOR = 'lm_head.weight';

const DTYPE = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/**
 * The head tensor `name` of `file`, checked against the model's hidden size (and vocabulary,
 * when the caller knows it).
 */
export function readLmHead(file: string, vocab: number | undefined, hidden: number, name = LM_HEAD_TENSOR): LmHead {
  const t = Checkpoint.file(file, 'head: ').info(name);
  const dtype = (DTYPE as Record<string, LmHead['dtype'] | undefined>)[t.dtype];
  if (!dtype) throw new TypeError(`head: ${file}: tensor '${name}' has dtype ${t.dtype}; F32, F16 and BF16 are read`);
  if (t.shape.length !== 2 || (vocab !== undefined && t.shape[0] !== vocab) || t.shape[1] !== hidden)
    throw new RangeError(`head: ${file}: tensor '${name}' has shape [${t.shape.join(', ')}], the model's is [${vocab ?? 'vocab'}, ${hidden}]`);
  vocab = t.shape[0];
  const width = dtype === 'float32' ? 4 : 2;
  if (t.bytes !== vocab * hidden * width) throw new RangeError(`head: ${file}: tensor '${name}' holds ${t.bytes} bytes, not ${vocab} x ${hidden} x ${width}`);
  const buf = new ArrayBuffer(t.bytes);
  const fd = openSync(t.file, 'r');
  try {
    readExactly(fd, Buffer.from(buf), t.offset, () => `head: ${file} ends inside tensor '${name}'`);
  } finally {
    closeSync(fd);
  }
  return { weight: dtype === 'float32' ? new Float32Array(buf) : new Uint16Array(buf), dtype, vocab };
}
