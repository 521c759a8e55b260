// An ONNX model written as it is built: every weight goes to the external data file the
// moment it is added (so a 7B model never sits in memory), and only the graph's small
// protobuf structure is kept until the end. ONNX's protobuf cannot hold more than 2 GB,
// external data is what lifts that limit.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number };
export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8';

const DT = onnx.TensorProto.DataType;
const ELEM: Record<ElemType, number> = { float32: DT.FLOAT, float16: DT.FLOAT16, int64: DT.INT64, int32: DT.INT32, uint8: DT.UINT8 };
/** Tensors at least this big go to the data file; smaller ones stay inline. */
const EXTERNAL_MIN = 1024;
/** Page alignment lets onnxruntime map the data file instead of copying it. */
const ALIGN = 4096;

/** An ONNX node attribute from a plain value (`{ float }` marks a float, numbers are ints). */
export function attr(name: string, v: AttrValue): IAttr {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (typeof v === 'object') return { name, type: A.FLOAT, f: v.float };
  return { name, type: A.INT, i: v };
}

/** A typed graph input/output; string dims are symbolic. */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): IValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export class OnnxWriter {
  private readonly nodes: INode[] = [];
  private readonly inits: ITensor[] = [];
  private readonly inputs: IValueInfo[] = [];
  private readonly outputs: IValueInfo[] = [];
  private readonly fd: number;
  private readonly dataName: string;
  private readonly constants = new Map<string, string>();
  private offset = 0;
  private n = 0;
  /** Bytes written to the data file. */
  get dataBytes(): number {
    return this.offset;
  }

  /** `dataName`: the data file's name as the model refers to it (default: dataPath's own). */
  constructor(
    readonly modelPath: string,
    dataPath: string,
    dataName = basename(dataPath),
  ) {
    this.fd = openSync(dataPath, 'w');
    this.dataName = dataName;
  }

  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string, domain?: string): string {
    return this.opN(opType, inputs, 1, attrs, output ? [output] : undefined, domain)[0];
  }

  /** A node with several outputs ('' inputs mean "absent optional input"). */
  opN(opType: string, inputs: readonly string[], outputs: number, attrs: Record<string, AttrValue> = {}, names?: string[], domain?: string): string[] {
    const id = this.n++;
    const outs = names ?? Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}_${id}_${i}`);
    this.nodes.push({
      opType, name: `${opType}_${id}`, input: [...inputs], output: outs, ...(domain ? { domain } : {}),
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return outs;
  }

  /** A weight; its bytes are written now (external when large). */
  tensor(name: string, type: ElemType, dims: readonly number[], data: ArrayBufferView): string {
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const t: ITensor = { name, dims: [...dims], dataType: ELEM[type] };
    if (bytes.length < EXTERNAL_MIN) {
      t.rawData = bytes.slice();
    } else {
      const pad = (ALIGN - (this.offset % ALIGN)) % ALIGN;
      if (pad) writeSync(this.fd, new Uint8Array(pad));
      this.offset += pad;
      let done = 0;
      while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
      t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
      t.externalData = [
        { key: 'location', value: this.dataName },
        { key: 'offset', value: String(this.offset) },
        { key: 'length', value: String(bytes.length) },
      ];
      this.offset += bytes.length;
    }
    this.inits.push(t);
    return name;
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    return this.tensor(name, 'float32', dims, data);
  }

  /** A small int64 constant; asking again for the same name gives the same tensor. */
  ints(name: string, data: readonly number[]): string {
    const seen = this.constants.get(name);
    if (seen !== undefined) {
      if (seen !== data.join(',')) throw new Error(`constant ${name} redefined`);
      return name;
    }
    this.constants.set(name, data.join(','));
    return this.tensor(name, 'int64', [data.length], new BigInt64Array(data.map((x) => BigInt(x))));
  }

  /** A float32 scalar constant; asking again for the same name gives the same tensor. */
  scalar(name: string, value: number): string {
    const key = `f${Math.fround(value)}`;
    const seen = this.constants.get(name);
    if (seen !== undefined) {
      if (seen !== key) throw new Error(`constant ${name} redefined`);
      return name;
    }
    this.constants.set(name, key);
    return this.tensor(name, 'float32', [], new Float32Array([value]));
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, ELEM[type], dims));
    return name;
  }

  output(name: string, dims: readonly Dim[], type: ElemType = 'float32'): void {
    this.outputs.push(valueInfo(name, ELEM[type], dims));
  }

  /** Writes the .onnx file and closes the data file. */
  finish(graphName: string, opset: number, metadata: Record<string, string> = {}): void {
    closeSync(this.fd);
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'prmkit convert',
      opsetImport: [{ domain: '', version: opset }, { domain: 'com.microsoft', version: 1 }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: { name: graphName, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    writeFileSync(this.modelPath, onnx.ModelProto.encode(model).finish());
  }

  /** Closes the data file without writing a model (conversion failed). */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      /* already closed */
    }
  }
}
