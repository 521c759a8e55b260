// Row sources and the pieces of training that are about rows: an in-memory source, the
// validation split by group, index subsets, and parameter layouts (which entries are weight
// matrices, how a head starts out).
import * as is from '../is.js';
import { headParamCount } from '../kernels/bce.js';
import type { TrainHead } from '../kernels/bce-types.js';
import { mulberry32 } from '../random.js';
import type { RowSource } from './types.js';

/** Rows already in memory (`data [N, H]`), e.g. from `gatherRows`. */
export function memoryRows(rows: { data: Float32Array; dims: readonly [number, number] }, labels: Float32Array, groups?: Int32Array): RowSource {
  const { data, dims } = is.object(rows, 'rows') as { data: unknown; dims: unknown };
  if (!(data instanceof Float32Array)) throw is.invalidType('rows.data', 'a Float32Array', data);
  if (!Array.isArray(dims) || dims.length !== 2) throw is.invalidType('rows.dims', '[N, H]', dims);
  const N = is.positiveInt(dims[0], 'rows.dims N');
  const H = is.positiveInt(dims[1], 'rows.dims H');
  if (data.length !== N * H) throw new RangeError(`rows.data has ${data.length} elements but rows.dims [${N}, ${H}] need ${N * H}`);
  if (!(labels instanceof Float32Array)) throw is.invalidType('labels', 'a Float32Array', labels);
  if (labels.length !== N) throw new RangeError(`labels has length ${labels.length} but there are ${N} rows`);
  if (groups !== undefined && !(groups instanceof Int32Array)) throw is.invalidType('groups', 'an Int32Array', groups);
  if (groups && groups.length !== N) throw new RangeError(`groups has length ${groups.length} but there are ${N} rows`);
  return {
    width: H,
    labels,
    groups,
    read(indices, out) {
      for (let j = 0; j < indices.length; j++) out.set(data.subarray(indices[j] * H, (indices[j] + 1) * H), j * H);
    },
  };
}

/** Shuffles `a` in place (Fisher-Yates) with `random`. */
export function shuffle<T extends { length: number; [i: number]: number }>(a: T, random: () => number): T {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

/**
 * Row indices for training and validation: whole groups, in a seeded random order, go to
 * validation until it holds `fraction` of the rows. Training keeps at least one group.
 */
export function splitRows(source: RowSource, fraction: number, seed: number): { train: Int32Array; validation: Int32Array } {
  const N = source.labels.length;
  const groupOf = source.groups ?? Int32Array.from({ length: N }, (_, i) => i);
  const members = new Map<number, number[]>();
  for (let i = 0; i < N; i++) {
    const list = members.get(groupOf[i]);
    if (list) list.push(i);
    else members.set(groupOf[i], [i]);
  }
  const order = shuffle([...members.keys()].sort((a, b) => a - b), mulberry32(seed ^ 0x5eed));
  const want = Math.round(fraction * N);
  const validation: number[] = [];
  let g = 0;
  for (; g < order.length - 1 && validation.length < want; g++) validation.push(...members.get(order[g])!);
  const train: number[] = [];
  for (; g < order.length; g++) train.push(...members.get(order[g])!);
  const sorted = (a: number[]) => Int32Array.from(a).sort();
  return { train: sorted(train), validation: sorted(validation) };
}

/** 1 for the entries of `params` that are weight matrices, 0 for biases (the layout of `TrainHead`). */
export function weightMask(head: TrainHead, H: number): Uint8Array {
  const mask = new Uint8Array(headParamCount(head, H));
  const K = head.outputs;
  if (head.kind === 'linear') mask.fill(1, 0, K * H);
  else {
    const M = head.hidden;
    mask.fill(1, 0, M * H); // W1
    mask.fill(1, M * H + M, M * H + M + K * M); // W2
  }
  return mask;
}

/**
 * Starting parameters: zeros for a linear head (its loss is convex; any start reaches the
 * same optimum); for an MLP, PyTorch's nn.Linear initialization, every weight and bias
 * uniform in +-1/sqrt(fan_in), from `seed`.
 */
export function initialParams(head: TrainHead, H: number, seed: number): Float32Array {
  const params = new Float32Array(headParamCount(head, H));
  if (head.kind === 'linear') return params;
  const random = mulberry32(seed ^ 0x1417);
  const M = head.hidden;
  const fill = (from: number, to: number, fanIn: number) => {
    const bound = 1 / Math.sqrt(fanIn);
    for (let i = from; i < to; i++) params[i] = (random() * 2 - 1) * bound;
  };
  fill(0, M * H + M, H); // W1, b1
  fill(M * H + M, params.length, M); // W2, b2
  return params;
}
