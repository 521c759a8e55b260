// The kernel's math as an ONNX graph, run by onnxruntime-node: an implementation of
// gather + head + log-score that shares no code with prmkit, for the parity test and the
// benchmark. Inputs: `hidden` [B, T, H] (float, float16 or bfloat16) and `rows` [S] int64
// (b * T + position); output `log_probs` [S, K]. The head is linear (`weight` [K, H], a
// MatMul) or logits (`columns` picked by a second Gather, or the whole row of H = V).
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const ELEM = { float32: onnx.TensorProto.DataType.FLOAT, float16: onnx.TensorProto.DataType.FLOAT16, bfloat16: onnx.TensorProto.DataType.BFLOAT16 };

function tensor(name, dataType, dims, values) {
  const t = { name, dataType, dims };
  if (dataType === onnx.TensorProto.DataType.INT64) t.int64Data = values;
  else t.floatData = Array.from(values);
  return t;
}

function valueInfo(name, elemType, dims) {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) } } },
  };
}

/**
 * @param {{ dtype: 'float32'|'float16'|'bfloat16', H: number, K?: number, kind?: 'linear'|'logits', weight?: Float32Array, bias?: Float32Array, columns?: Int32Array, activation: 'sigmoid'|'softmax' }} spec
 * @returns {Uint8Array} the serialized model
 */
export function headGraph({ dtype, H, K, kind = 'linear', weight, bias, columns, activation }) {
  const F = onnx.TensorProto.DataType.FLOAT;
  const nodes = [
    { opType: 'Reshape', input: ['hidden', 'flat_shape'], output: ['flat'] },
    { opType: 'Gather', input: ['flat', 'rows'], output: ['gathered'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 0 }] },
  ];
  let x = 'gathered';
  if (dtype !== 'float32') {
    nodes.push({ opType: 'Cast', input: [x], output: ['gathered_f32'], attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: F }] });
    x = 'gathered_f32';
  }
  const initializer = [tensor('flat_shape', onnx.TensorProto.DataType.INT64, [2], [-1, H])];
  if (kind === 'linear') {
    const weightT = new Float32Array(H * K); // MatMul wants [H, K]
    for (let k = 0; k < K; k++) for (let i = 0; i < H; i++) weightT[i * K + k] = weight[k * H + i];
    nodes.push({ opType: 'MatMul', input: [x, 'head_weight'], output: ['z0'] });
    initializer.push(tensor('head_weight', F, [H, K], weightT));
  } else if (columns) {
    K = columns.length;
    nodes.push({ opType: 'Gather', input: [x, 'head_columns'], output: ['z0'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }] });
    initializer.push(tensor('head_columns', onnx.TensorProto.DataType.INT64, [K], Array.from(columns, (c) => c)));
  } else {
    K = H;
    nodes.push({ opType: 'Identity', input: [x], output: ['z0'] });
  }
  let z = 'z0';
  if (bias && kind === 'linear') {
    nodes.push({ opType: 'Add', input: [z, 'head_bias'], output: ['z'] });
    initializer.push(tensor('head_bias', F, [K], bias));
    z = 'z';
  }
  if (activation === 'softmax') {
    nodes.push({ opType: 'LogSoftmax', input: [z], output: ['log_probs'], attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }] });
  } else {
    // log sigmoid(z) = -softplus(-z)
    nodes.push({ opType: 'Neg', input: [z], output: ['nz'] });
    nodes.push({ opType: 'Softplus', input: ['nz'], output: ['sp'] });
    nodes.push({ opType: 'Neg', input: ['sp'], output: ['log_probs'] });
  }
  const model = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }],
    producerName: 'prmkit-bench',
    graph: {
      name: 'prm_head',
      node: nodes,
      initializer,
      input: [valueInfo('hidden', ELEM[dtype], ['B', 'T', H]), valueInfo('rows', onnx.TensorProto.DataType.INT64, ['S'])],
      output: [valueInfo('log_probs', F, ['S', K])],
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(model)).finish();
}

/** Flat row indices b * T + position for the graph's `rows` input. */
export function flatRows(offsets, positions, T) {
  const rows = new BigInt64Array(positions.length);
  for (let b = 0; b + 1 < offsets.length; b++)
    for (let s = offsets[b]; s < offsets[b + 1]; s++) rows[s] = BigInt(b * T + positions[s]);
  return rows;
}
