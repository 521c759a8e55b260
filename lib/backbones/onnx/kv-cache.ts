// The ONNX backbone's cached forward. Keys/values stay where a forward pass returned them,
// on the main thread, shared by the rows of that pass: a handle is a view of its row, so
// keeping one per candidate costs no copy. Rows of one call are packed against the longest
// prefix among them: each row's cached slots are right-aligned before the new tokens, the
// slots in front of a shorter prefix are masked out, and position ids carry each row's true
// positions, so a row scores as it would alone.
import type { Boundaries } from '../../kernels/types.js';
import { invalidType } from '../../is.js';
import type { CachedForward, CachedRow, ExtendOptions, ExtendResult, KvHandle } from '../cached-forward.js';
import type { Chunk } from '../../batch/index.js';
import type { ForwardRequest, ForwardResult, KvArray } from './backbone.js';
import { limited } from './limited.js';

/** What the cache needs of its source. */
export interface KvSource {
  readonly output: string;
  readonly workers: number;
  readonly chunking: { padId: number };
  plan(lengths: readonly number[]): Chunk[];
  forward(req: ForwardRequest, tokens: number): Promise<ForwardResult>;
  /** log P(step correct) at the boundaries of a forward pass (the source's head applied). */
  scoreAt(res: ForwardResult, boundaries: Boundaries): Promise<Float32Array>;
}

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  type: 'float32' | 'float16';
}

/**
 * A row's keys/values: slots [start, start + tokens) of row `row` in tensors laid out
 * [rows, heads, slots, headDim] (per layer: key, value, key, value, ...).
 */
interface KvView {
  tensors: KvArray[];
  row: number;
  slots: number;
  start: number;
}

class OnnxKvHandle implements KvHandle {
  #view: KvView | undefined;
  constructor(
    readonly owner: OnnxKvCache,
    readonly tokens: number,
    view: KvView,
  ) {
    this.#view = view;
  }
  get view(): KvView | undefined {
    return this.#view;
  }
  release(): void {
    this.#view = undefined;
  }
}

export class OnnxKvCache implements CachedForward {
  constructor(
    private readonly source: KvSource,
    private readonly kv: KvShape,
  ) {}

  /** The handle's view, after checking that this cache made it and that it covers `length` tokens. */
  private viewOf(past: NonNullable<CachedRow['past']>, i: number): KvView {
    const h = past.handle;
    if (!(h instanceof OnnxKvHandle) || h.owner !== this) throw invalidType(`rows[${i}].past.handle`, 'a handle from this model', h);
    const v = h.view;
    if (!v) throw new RangeError(`rows[${i}].past.handle was released`);
    if (!Number.isInteger(past.length) || past.length < 0 || past.length > h.tokens)
      throw new RangeError(`rows[${i}].past.length must be an integer in [0, ${h.tokens}], got ${String(past.length)}`);
    return v;
  }

  async extend(rows: readonly CachedRow[], options: ExtendOptions = {}): Promise<ExtendResult> {
    const { keep = false, signal } = options;
    const views = rows.map((r, i) => {
      if (!(r.ids instanceof Int32Array) || r.ids.length === 0) throw invalidType(`rows[${i}].ids`, 'a non-empty Int32Array', r.ids);
      return r.past && r.past.length > 0 ? this.viewOf(r.past, i) : undefined;
    });
    const pastOf = (i: number) => (views[i] ? rows[i].past!.length : 0);
    const stepLogProbs: Float32Array[] = new Array(rows.length);
    const handles: KvHandle[] = new Array(rows.length);
    // bucketed by new tokens (what is padded and what the output holds), memory-bounded like full scoring
    const chunks = this.source.plan(rows.map((r) => r.ids.length));
    signal?.throwIfAborted();
    await limited(chunks.length, this.source.workers, async (ci) => {
      signal?.throwIfAborted();
      const members = chunks[ci].items;
      const res = await this.run(members.map((m) => ({ row: rows[m], view: views[m], past: pastOf(m) })), keep);
      members.forEach((m, b) => {
        stepLogProbs[m] = res.stepLogProbs[b];
        if (res.handles) handles[m] = res.handles[b];
      });
    });
    return keep ? { stepLogProbs, handles } : { stepLogProbs };
  }

  /** One backbone call over `members`, each continuing `past` tokens of its view. */
  private async run(members: Array<{ row: CachedRow; view?: KvView; past: number }>, keep: boolean): Promise<ExtendResult> {
    const { layers, kvHeads: heads, headDim: hd } = this.kv;
    const B = members.length;
    const pastLen = Math.max(...members.map((m) => m.past));
    const newLen = Math.max(...members.map((m) => m.row.ids.length));
    const slots = pastLen + newLen;
    const ids = new Int32Array(B * newLen).fill(this.source.chunking.padId);
    const mask = new Int32Array(B * slots);
    const positions = new Int32Array(B * newLen);
    const offsets = new Int32Array(B + 1);
    const at: number[] = [];
    const Kv = this.kv.type === 'float16' ? Uint16Array : Float32Array;
    const past: KvArray[] = [];
    if (pastLen > 0) for (let l = 0; l < 2 * layers; l++) past.push(new Kv(B * heads * pastLen * hd));
    members.forEach(({ row, view, past: p }, b) => {
      const n = row.ids.length;
      ids.set(row.ids, b * newLen);
      // real keys: the row's p cached slots right before pastLen, then its n new tokens
      mask.fill(1, b * slots + pastLen - p, b * slots + pastLen + n);
      for (let t = 0; t < n; t++) positions[b * newLen + t] = p + t;
      for (const a of row.at) at.push(a);
      offsets[b + 1] = at.length;
      if (!view) return;
      for (let l = 0; l < past.length; l++)
        for (let h = 0; h < heads; h++) {
          const src = ((view.row * heads + h) * view.slots + view.start) * hd;
          past[l].set(view.tensors[l].subarray(src, src + p * hd), ((b * heads + h) * pastLen + pastLen - p) * hd);
        }
    });
    const real = members.reduce((a, m) => a + m.row.ids.length, 0);
    const res = await this.source.forward({ B, T: newLen, P: pastLen, ids, mask, positions, past: pastLen > 0 ? past : undefined, output: this.source.output, present: keep }, real);
    const scored = await this.source.scoreAt(res, { offsets, positions: Int32Array.from(at) });
    const stepLogProbs = members.map((_, b) => scored.slice(offsets[b], offsets[b + 1]));
    if (!keep || !res.present) return { stepLogProbs };
    const tensors = res.present.map((t) => t.data);
    const handles = members.map(({ row, past: p }, b) => new OnnxKvHandle(this, p + row.ids.length, { tensors, row: b, slots, start: pastLen - p }));
    return { stepLogProbs, handles };
  }

  release(handles: readonly KvHandle[]): void {
    for (const h of handles) if (h instanceof OnnxKvHandle && h.owner === this) h.release();
  }
}
