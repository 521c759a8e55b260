// What prmkit reads of an ONNX file itself: a weight kept inside the model (an initializer),
// by name (the head of a bare .onnx decoder that outputs hidden states may live in the graph),
// and the files the model keeps its weights in.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type onnxProto from 'onnx-proto';
import { f16ToFloat } from '../kernels/half.js';
import type { Tensor } from './safetensors.js';

type Onnx = typeof onnxProto.onnx;

/**
 * Required when used, not imported: loading the protobuf schema costs more than the rest of
 * `import('prmkit')`, and only these rarer paths need it.
 */
function onnxSchema(): Onnx {
  return (createRequire(import.meta.url)('onnx-proto') as typeof onnxProto).onnx;
}

/**
 * The external data files of a model's initializers (and constants), as the model names them:
 * paths relative to the model's folder. A self-contained model has none.
 */
export function externalDataFiles(modelPath: string): string[] {
  const onnx = onnxSchema();
  const model = onnx.ModelProto.decode(readFileSync(modelPath));
  const files = new Set<string>();
  const visit = (t: onnxProto.onnx.ITensorProto | null | undefined) => {
    if (t?.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return;
    const location = t.externalData?.find((e) => e.key === 'location')?.value;
    if (location) files.add(location);
  };
  for (const t of model.graph?.initializer ?? []) visit(t);
  for (const n of model.graph?.node ?? []) for (const a of n.attribute ?? []) visit(a.t);
  return [...files];
}

/** An initializer of an ONNX model (float32, or float16 raw data), by name. */
export function readOnnxInitializer(modelPath: string, name: string): Tensor {
  const onnx = onnxSchema();
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
