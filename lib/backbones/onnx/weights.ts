// Reading head weights: a tensor from a .safetensors file (only its bytes are read, so a
// multi-GB checkpoint is fine) or an initializer of an ONNX model by name.
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createRequire } from 'node:module';
import type onnxProto from 'onnx-proto';
import { bf16ToFloat, f16ToFloat } from '../../kernels/half.js';
import { readSafetensorsHeader } from './safetensors-header.js';
import type { SafetensorsHeader } from './safetensors-header.js';

export interface Tensor2 {
  shape: number[];
  data: Float32Array;
}

export function safetensorsHeader(path: string): SafetensorsHeader {
  return readSafetensorsHeader(path, 'head: ');
}

export function readSafetensor(path: string, name: string): Tensor2 {
  const { entries, dataStart } = safetensorsHeader(path);
  const e = entries[name];
  if (!e) throw new RangeError(`head: ${path} has no tensor '${name}' (it has ${Object.keys(entries).slice(0, 20).join(', ')})`);
  const [start, end] = e.data_offsets;
  const count = e.shape.reduce((a, b) => a * b, 1);
  const width = e.dtype === 'F32' ? 4 : e.dtype === 'F16' || e.dtype === 'BF16' ? 2 : 0;
  if (width === 0) throw new TypeError(`head: tensor '${name}' has dtype ${e.dtype}; F32, F16 and BF16 are supported`);
  if (end - start !== count * width) throw new RangeError(`head: tensor '${name}' byte range does not match its shape`);
  const bytes = Buffer.alloc(end - start);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, bytes, 0, bytes.length, dataStart + start);
  } finally {
    closeSync(fd);
  }
  const data = new Float32Array(count);
  if (width === 4) {
    for (let i = 0; i < count; i++) data[i] = bytes.readFloatLE(4 * i);
  } else {
    const conv = e.dtype === 'F16' ? f16ToFloat : bf16ToFloat;
    for (let i = 0; i < count; i++) data[i] = conv(bytes.readUInt16LE(2 * i));
  }
  return { shape: [...e.shape], data };
}

/** An initializer of an ONNX model (float32, or float16 raw data), by name. */
export function readOnnxInitializer(modelPath: string, name: string): Tensor2 {
  // required here, not imported: loading the protobuf schema costs more than the rest of
  // `import('prmkit')`, and only heads kept inside an ONNX model need it
  const { onnx } = createRequire(import.meta.url)('onnx-proto') as typeof onnxProto;
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const init = model.graph?.initializer?.find((t) => t.name === name);
  if (!init) {
    const names = (model.graph?.initializer ?? []).map((t) => t.name).slice(0, 20);
    throw new RangeError(`head: ${modelPath} has no initializer '${name}' (first ones: ${names.join(', ')})`);
  }
  const shape = (init.dims ?? []).map((d) => Number(d));
  const count = shape.reduce((a, b) => a * b, 1);
  const T = onnx.TensorProto.DataType;
  const data = new Float32Array(count);
  if (init.dataType === T.FLOAT) {
    if (init.rawData && init.rawData.length > 0) {
      const dv = new DataView(init.rawData.buffer, init.rawData.byteOffset, init.rawData.byteLength);
      for (let i = 0; i < count; i++) data[i] = dv.getFloat32(4 * i, true);
    } else data.set(init.floatData ?? []);
  } else if (init.dataType === T.FLOAT16 && init.rawData) {
    const dv = new DataView(init.rawData.buffer, init.rawData.byteOffset, init.rawData.byteLength);
    for (let i = 0; i < count; i++) data[i] = f16ToFloat(dv.getUint16(2 * i, true));
  } else {
    throw new TypeError(`head: initializer '${name}' has data type ${String(init.dataType)}; float32 and float16 are supported`);
  }
  return { shape, data };
}
