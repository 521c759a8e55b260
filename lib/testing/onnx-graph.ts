// A minimal ONNX graph writer over onnx-proto: enough to emit a decoder-only transformer
// from TypeScript (nodes, float/int64 initializers, typed inputs/outputs with symbolic dims).
import onnxProto from 'onnx-proto';
import { attr, valueInfo } from '../convert/onnx-writer.js';
import type { AttrValue, Dim } from '../convert/onnx-writer.js';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;

export type { AttrValue, Dim } from '../convert/onnx-writer.js';

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const FLOAT16 = onnx.TensorProto.DataType.FLOAT16;
const INT64 = onnx.TensorProto.DataType.INT64;
const ELEM = { float32: FLOAT, float16: FLOAT16, int64: INT64 } as const;
export type ElemType = keyof typeof ELEM;

export class GraphBuilder {
  private readonly nodes: INode[] = [];
  private readonly inits: ITensor[] = [];
  private readonly inputs: IValueInfo[] = [];
  private readonly outputs: IValueInfo[] = [];
  private n = 0;

  /** Adds a node; returns the name of its (first) output. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.n++}`;
    this.nodes.push({
      opType,
      name: `${opType}_${this.n++}`,
      input: [...inputs],
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return out;
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    this.inits.push({ name, dims: [...dims], dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    return name;
  }

  ints(name: string, data: readonly number[]): string {
    const b = new BigInt64Array(data.map((x) => BigInt(x)));
    this.inits.push({ name, dims: [data.length], dataType: INT64, rawData: new Uint8Array(b.buffer) });
    return name;
  }

  scalar(name: string, value: number): string {
    this.inits.push({ name, dims: [], dataType: FLOAT, rawData: new Uint8Array(new Float32Array([value]).buffer) });
    return name;
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, ELEM[type], dims));
    return name;
  }

  output(name: string, dims: readonly Dim[], type: ElemType = 'float32'): void {
    this.outputs.push(valueInfo(name, ELEM[type], dims));
  }

  encode(graphName: string, opset: number): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'prmkit',
      opsetImport: [{ domain: '', version: opset }],
      graph: { name: graphName, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
