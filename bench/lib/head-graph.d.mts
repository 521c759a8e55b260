export function headGraph(spec: {
  dtype: 'float32' | 'float16' | 'bfloat16';
  H: number;
  K: number;
  weight: Float32Array;
  bias?: Float32Array;
  activation: 'sigmoid' | 'softmax';
}): Uint8Array;
export function flatRows(offsets: Int32Array, positions: Int32Array, T: number): BigInt64Array;
