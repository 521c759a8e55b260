// @ts-check
// Keys/values kept inside the worker that computed them. A forward pass with `kv.keep` stores
// its present tensors here as a block (what onnxruntime returned, as it returned it) instead
// of sending them to the main thread; a later pass on this worker reads them back as its past
// keys/values: a whole block fed as it is (no copy: the usual case of one row per call), or
// slices of rows copied right-aligned into a packed past (several rows of different lengths
// in one call). The main thread decides what is kept and when it is freed: it holds the
// handles, counts the bytes and sends `free`; this store only does as told.

/** @typedef {import('onnxruntime-node').Tensor} OrtTensor */
/** @typedef {import('./protocol.js').RunMessage} RunMessage */
/** @typedef {import('./protocol.js').PastSlice} PastSlice */

/**
 * A tensor's elements as a typed array to copy from: float16 comes as Uint16Array or a
 * Float16Array, read here as its raw bits.
 * @param {OrtTensor} t
 * @returns {Float32Array | Uint16Array}
 */
function elements(t) {
  const d = t.data;
  if (d instanceof Float32Array || d instanceof Uint16Array) return d;
  if (ArrayBuffer.isView(d)) return new Uint16Array(d.buffer, d.byteOffset, d.byteLength / 2);
  throw new Error(`a key/value tensor has data of type ${typeof d}`);
}

export class KvStore {
  /** @type {Map<number, OrtTensor[]>} block id → per layer key, value */
  #blocks = new Map();

  /**
   * @param {typeof import('onnxruntime-node').Tensor} Tensor
   * @param {number} layers
   * @param {'float32' | 'float16'} kvType
   */
  constructor(Tensor, layers, kvType) {
    this.Tensor = Tensor;
    this.layers = layers;
    this.kvType = kvType;
  }

  /** Blocks held (for tests through the worker's answers; the main thread keeps the counts). */
  get size() {
    return this.#blocks.size;
  }

  /**
   * The past_key_values feeds of a run: a stored block as it is, slices packed, or empty.
   * @param {RunMessage} m
   * @param {Record<string, OrtTensor>} feeds
   */
  feed(m, feeds) {
    const { layers, kvType, Tensor } = this;
    const past = m.kv?.past;
    const dims = [m.B, m.kvHeads, m.P, m.headDim];
    /** @type {(i: number) => OrtTensor} */
    let at;
    if (past && 'block' in past) {
      const b = this.#get(past.block);
      const got = b[0].dims;
      if (Number(got[0]) !== m.B || Number(got[2]) !== m.P) throw new Error(`kv block ${past.block} is [${got.join(', ')}], the call needs [${dims.join(', ')}]`);
      at = (i) => b[i];
    } else if (past && m.P > 0) {
      const packed = this.#pack(past.pack, m);
      at = (i) => new Tensor(kvType, packed[i], dims);
    } else {
      at = () => new Tensor(kvType, kvType === 'float16' ? new Uint16Array(0) : new Float32Array(0), dims);
    }
    for (let l = 0; l < layers; l++) {
      feeds[`past_key_values.${l}.key`] = at(2 * l);
      feeds[`past_key_values.${l}.value`] = at(2 * l + 1);
    }
  }

  /**
   * Rows' slices copied right-aligned into P slots: row b's `length` cached slots end at P,
   * where its new tokens begin (the mask the main thread built says the same).
   * @param {Array<PastSlice | null>} rows
   * @param {RunMessage} m
   */
  #pack(rows, m) {
    const { P, headDim: hd, kvHeads: heads } = m;
    if (rows.length !== m.B) throw new Error(`kv pack has ${rows.length} rows, the call has ${m.B}`);
    const Kv = this.kvType === 'float16' ? Uint16Array : Float32Array;
    /** @type {Array<Float32Array | Uint16Array>} */
    const out = Array.from({ length: 2 * this.layers }, () => new Kv(m.B * heads * P * hd));
    rows.forEach((r, b) => {
      if (!r || r.length === 0) return;
      if (r.length > P) throw new Error(`kv slice of ${r.length} slots does not fit ${P}`);
      const src = this.#get(r.block);
      const slots = Number(src[0].dims[2]);
      if (r.start + r.length > slots || r.row >= Number(src[0].dims[0])) throw new Error(`kv slice [${r.start}, ${r.start + r.length}) of row ${r.row} is outside block ${r.block}`);
      for (let i = 0; i < out.length; i++) {
        const from = elements(src[i]);
        for (let h = 0; h < heads; h++) {
          const s = ((r.row * heads + h) * slots + r.start) * hd;
          out[i].set(from.subarray(s, s + r.length * hd), ((b * heads + h) * P + P - r.length) * hd);
        }
      }
    });
    return out;
  }

  /**
   * Keeps a run's present tensors as block `id`; returns their slots.
   * @param {number} id
   * @param {Record<string, OrtTensor>} out
   */
  keep(id, out) {
    /** @type {OrtTensor[]} */
    const tensors = [];
    for (let l = 0; l < this.layers; l++) tensors.push(out[`present.${l}.key`], out[`present.${l}.value`]);
    this.#blocks.set(id, tensors);
    return Number(tensors[0].dims[2]);
  }

  /** @param {readonly number[]} ids */
  free(ids) {
    for (const id of ids) this.#blocks.delete(id);
  }

  /** @param {number} id */
  #get(id) {
    const b = this.#blocks.get(id);
    if (!b) throw new Error(`kv block ${id} is not held by this worker`);
    return b;
  }
}
