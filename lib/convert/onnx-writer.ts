// An ONNX model written as it is built: every weight goes to the external data file the
// moment it is added (so a 7B model never sits in memory), and only the graph's small
// protobuf structure is kept until the end. ONNX's protobuf cannot hold more than 2 GB,
// external data is what lifts that limit.
//
// Names follow one scheme, so a graph reads like the model it came from: a node is named by
// its path and op (`/model/layers.3/attn/qkv_proj/MatMul`), its outputs are that name plus
// `/output_N`, and constants are named by their type and value (`/model/constants/INT64/[0,0,2,16]`)
// and written once however often they are asked for.
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import type { PathLike } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
type INode = onnxProto.onnx.INodeProto;
type ITensor = onnxProto.onnx.ITensorProto;
type IValueInfo = onnxProto.onnx.IValueInfoProto;
type IAttr = onnxProto.onnx.IAttributeProto;

export type Dim = number | string;
export type AttrValue = number | number[] | string | { float: number };
export type ElemType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8';

const DT = onnx.TensorProto.DataType;
/** ONNX element type numbers by name (what a Cast's `to` and a tensor's data type take). */
export const TYPE: Readonly<Record<ElemType, number>> = { float32: DT.FLOAT, float16: DT.FLOAT16, int64: DT.INT64, int32: DT.INT32, uint8: DT.UINT8, int8: DT.INT8 };
const TYPE_NAME: Readonly<Record<ElemType, string>> = { float32: 'FLOAT', float16: 'FLOAT16', int64: 'INT64', int32: 'INT32', uint8: 'UINT8', int8: 'INT8' };
/** Tensors at least this big go to the data file; smaller ones stay inline. */
const EXTERNAL_MIN = 1024;
/** Page alignment lets onnxruntime map the data file instead of copying it. */
const ALIGN = 4096;

/**
 * An ONNX node attribute from a plain value (`{ float }` marks a float, numbers are ints).
 * @internal onnx-proto's types need `long`'s, which a consumer's type check does not have
 */
export function attr(name: string, v: AttrValue): IAttr {
  const A = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: A.STRING, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: A.INTS, ints: v };
  if (typeof v === 'object') return { name, type: A.FLOAT, f: v.float };
  return { name, type: A.INT, i: v };
}

/**
 * A typed graph input/output; string dims are symbolic.
 * @internal
 */
export function valueInfo(name: string, elemType: number, dims: readonly Dim[]): IValueInfo {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export interface NodeOptions {
  /** Number of outputs (default 1), named `<node>/output_N` unless `names` gives them. */
  outputs?: number;
  /** Output names, for outputs that are graph outputs (`logits`, `present.0.key`). */
  names?: readonly string[];
  domain?: 'com.microsoft';
}

export class OnnxWriter {
  private readonly nodes: INode[] = [];
  private readonly inits: ITensor[] = [];
  private readonly inputs: IValueInfo[] = [];
  private readonly outputs: IValueInfo[] = [];
  private readonly names = new Set<string>();
  private fd: number | undefined;
  private opened = false;
  private readonly dataName: string;
  private readonly externalMin: number;
  private offset = 0;
  /** Bytes written to the data file. */
  get dataBytes(): number {
    return this.offset;
  }

  /**
   * `dataPath`: the external data file, created (exclusively) with the first tensor that goes
   * there; `dataName`: its name as the model refers to it; `externalMin`: the smallest tensor
   * in bytes that goes there (Infinity: a single self-contained .onnx file).
   */
  constructor(
    readonly modelPath: PathLike,
    private readonly dataPath: string,
    dataName = basename(dataPath),
    { externalMin = EXTERNAL_MIN } = {},
  ) {
    this.dataName = dataName;
    this.externalMin = externalMin;
  }

  /** Whether any tensor went to the data file (the file exists). */
  get hasData(): boolean {
    return this.opened;
  }

  /** Whether a node or tensor of this name is in the graph. */
  has(name: string): boolean {
    return this.names.has(name);
  }

  /** One node named `name` (a path ending in the op, unique in the graph); returns its outputs. */
  node(name: string, opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, o: NodeOptions = {}): string[] {
    if (this.names.has(name)) throw new Error(`graph: node name ${name} is used twice`);
    this.names.add(name);
    const outs = o.names ? [...o.names] : Array.from({ length: o.outputs ?? 1 }, (_, i) => `${name}/output_${i}`);
    this.nodes.push({
      opType, name, input: [...inputs], output: outs, ...(o.domain ? { domain: o.domain } : {}),
      attribute: Object.entries(attrs).map(([k, v]) => attr(k, v)),
    });
    return outs;
  }

  /** A single-output node; `output` names it when it is a graph output. */
  op(name: string, opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string, domain?: 'com.microsoft'): string {
    return this.node(name, opType, inputs, attrs, { ...(output ? { names: [output] } : {}), ...(domain ? { domain } : {}) })[0];
  }

  /** A weight; its bytes are written now (external when large). */
  tensor(name: string, type: ElemType, dims: readonly number[], data: ArrayBufferView): string {
    if (this.names.has(name)) throw new Error(`graph: tensor name ${name} is used twice`);
    this.names.add(name);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const t: ITensor = { name, dims: [...dims], dataType: TYPE[type] };
    if (bytes.length < this.externalMin) {
      t.rawData = bytes.slice();
    } else {
      const fd = this.dataFd();
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      this.external(t, this.offset, bytes.length);
      this.offset += bytes.length;
    }
    this.inits.push(t);
    return name;
  }

  /**
   * A large weight written piece by piece (a 7B model's embedding is 1-2 GB): `pieces` yields
   * its bytes in order, so only one piece is in memory at a time. Always external.
   */
  streamed(name: string, type: ElemType, dims: readonly number[], byteLength: number, pieces: Iterable<ArrayBufferView>): string {
    if (this.names.has(name)) throw new Error(`graph: tensor name ${name} is used twice`);
    if (this.externalMin === Infinity) {
      const all = new Uint8Array(byteLength);
      let at = 0;
      for (const p of pieces) {
        all.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
        at += p.byteLength;
      }
      return this.tensor(name, type, dims, all);
    }
    this.names.add(name);
    const fd = this.dataFd();
    const start = this.offset;
    for (const p of pieces) {
      const bytes = new Uint8Array(p.buffer, p.byteOffset, p.byteLength);
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
      this.offset += bytes.length;
    }
    if (this.offset - start !== byteLength) throw new Error(`graph: tensor ${name} was ${this.offset - start} bytes, expected ${byteLength}`);
    this.inits.push(this.external({ name, dims: [...dims], dataType: TYPE[type] }, start, byteLength));
    return name;
  }

  /** The data file, opened with the first tensor that goes there, at a page boundary. */
  private dataFd(): number {
    if (this.fd === undefined) {
      this.fd = openSync(this.dataPath, 'wx');
      this.opened = true;
    }
    const pad = (ALIGN - (this.offset % ALIGN)) % ALIGN;
    if (pad) writeSync(this.fd, new Uint8Array(pad));
    this.offset += pad;
    return this.fd;
  }

  private external(t: ITensor, offset: number, length: number): ITensor {
    t.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [
      { key: 'location', value: this.dataName },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ];
    return t;
  }

  floats(name: string, dims: readonly number[], data: Float32Array): string {
    return this.tensor(name, 'float32', dims, data);
  }

  /** An int64 vector constant, written once per value. */
  ints(values: readonly number[]): string {
    const name = `/model/constants/${TYPE_NAME.int64}/[${values.join(',')}]`;
    return this.names.has(name) ? name : this.tensor(name, 'int64', [values.length], BigInt64Array.from(values, (x) => BigInt(x)));
  }

  /** A scalar constant (rank 0), written once per type and value. */
  scalar(type: 'float32' | 'int64' | 'uint8', value: number): string {
    const name = `/model/constants/${TYPE_NAME[type]}/${type === 'float32' ? Math.fround(value) : value}`;
    if (this.names.has(name)) return name;
    const data = type === 'float32' ? new Float32Array([value]) : type === 'uint8' ? new Uint8Array([value]) : new BigInt64Array([BigInt(value)]);
    return this.tensor(name, type, [], data);
  }

  input(name: string, type: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, TYPE[type], dims));
    return name;
  }

  output(name: string, dims: readonly Dim[], type: ElemType = 'float32'): void {
    this.outputs.push(valueInfo(name, TYPE[type], dims));
  }

  /** Writes the .onnx file (exclusive creation) and closes the data file. */
  finish(graphName: string, opset: number, metadata: Record<string, string> = {}): void {
    this.abort();
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'prmkit convert',
      opsetImport: [{ domain: '', version: opset }, { domain: 'com.microsoft', version: 1 }],
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: { name: graphName, node: this.nodes, initializer: this.inits, input: this.inputs, output: this.outputs },
    });
    writeFileSync(this.modelPath, onnx.ModelProto.encode(model).finish(), { flag: 'wx' });
  }

  /** Closes the data file without writing a model (conversion failed). */
  abort(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    closeSync(fd);
  }
}
