// The ONNX backbone's cached forward. Keys/values stay in the worker thread that computed
// them (kv-store.mjs); a handle on the main thread names a row of a block there (kv-blocks.ts
// keeps the ledger), so nothing but ids, masks and the output rows crosses between threads.
// A row that continues a handle runs on that handle's worker. One row per call (the cpu
// default, and what GroupQueryAttention with past keys/values takes) reads the block as it
// is, with no copy; rows of several prefixes in one call are packed against the longest
// prefix among them, inside the worker: each row's cached slots right-aligned before its new
// tokens, the slots in front of a shorter prefix masked out, position ids carrying each
// row's true positions, so a row scores as it would alone. A handle whose block was evicted
// runs its tokens again.
import type { Boundaries } from '../../kernels/types.js';
import { invalidType } from '../../is.js';
import type { CachedForward, CachedRow, ExtendOptions, ExtendResult, KvHandle } from '../cached-forward.js';
import type { Chunk } from '../../batch/index.js';
import type { ForwardRequest, ForwardResult, KvRequest } from './backbone.js';
import { KvLedger } from './kv-blocks.js';
import type { Block, HandleRef, KvMemoryStats, Place } from './kv-blocks.js';
import { limited } from './limited.js';

/** What the cache needs of its source. */
export interface KvSource {
  readonly output: string;
  readonly workers: number;
  readonly chunking: { padId: number };
  plan(lengths: readonly number[]): Chunk[];
  forward(req: ForwardRequest, tokens: number, worker?: number): Promise<ForwardResult>;
  /** Worker `worker` drops these blocks. */
  free(worker: number, blocks: number[]): void;
  /** log P(step correct) at the boundaries of a forward pass (the source's head applied). */
  scoreAt(res: ForwardResult, boundaries: Boundaries): Promise<Float32Array>;
}

export interface KvShape {
  layers: number;
  kvHeads: number;
  headDim: number;
  type: 'float32' | 'float16';
  /**
   * 'gqa': GroupQueryAttention with past keys/values (positions from the mask's length; one
   * row per call; the past is read from slot 0); 'plain': any rows, any mask.
   */
  attention: 'gqa' | 'plain';
}

/** Default bytes of keys/values one worker keeps. */
export const DEFAULT_KV_MEMORY = 2 ** 30;

class OnnxKvHandle implements KvHandle {
  constructor(
    readonly owner: OnnxKvCache,
    readonly tokens: number,
    /** Every token id it covers: what an evicted handle runs again. */
    readonly ids: Int32Array,
    readonly ref: HandleRef,
  ) {}
}

/** A row as it runs: its past resolved to a live block (or none), its ids and head positions. */
interface Member {
  past?: { place: Place; length: number };
  ids: Int32Array;
  at: Int32Array;
  /** Token ids before `ids` (the past's): a kept handle covers them too. */
  before: Int32Array;
}

export class OnnxKvCache implements CachedForward {
  private readonly ledger: KvLedger;

  constructor(
    private readonly source: KvSource,
    private readonly kv: KvShape,
    kvMemory = DEFAULT_KV_MEMORY,
  ) {
    this.ledger = new KvLedger(source.workers, kvMemory, (w, blocks) => source.free(w, blocks));
  }

  /** Bytes of keys/values per token (all layers, key and value). */
  get bytesPerToken(): number {
    const { layers, kvHeads, headDim, type } = this.kv;
    return 2 * layers * kvHeads * headDim * (type === 'float16' ? 2 : 4);
  }

  /** Keys/values held per worker, evictions and recomputed tokens so far. */
  memory(): KvMemoryStats {
    return this.ledger.stats();
  }

  /** The row as it will run: a live past, or (none, evicted) its tokens prepended. */
  private member(r: CachedRow, i: number): Member {
    if (!(r.ids instanceof Int32Array) || r.ids.length === 0) throw invalidType(`rows[${i}].ids`, 'a non-empty Int32Array', r.ids);
    if (!(r.at instanceof Int32Array)) throw invalidType(`rows[${i}].at`, 'an Int32Array', r.at);
    const past = r.past;
    if (!past) return { ids: r.ids, at: r.at, before: new Int32Array(0) };
    const h = past.handle;
    if (!(h instanceof OnnxKvHandle) || h.owner !== this) throw invalidType(`rows[${i}].past.handle`, 'a handle from this model', h);
    if (h.ref.released) throw new RangeError(`rows[${i}].past.handle was released`);
    const n = past.length;
    if (!Number.isInteger(n) || n < 0 || n > h.tokens) throw new RangeError(`rows[${i}].past.length must be an integer in [0, ${h.tokens}], got ${String(n)}`);
    const before = h.ids.subarray(0, n);
    const place = h.ref.place;
    if (n > 0 && place && !place.block.freed) return { past: { place, length: n }, ids: r.ids, at: r.at, before };
    if (n > 0) this.ledger.recomputedTokens += n;
    // evicted: run the prefix's tokens again in front of the row's
    const ids = new Int32Array(n + r.ids.length);
    ids.set(before);
    ids.set(r.ids, n);
    return { ids, at: r.at.map((a) => a + n), before: new Int32Array(0) };
  }

  async extend(rows: readonly CachedRow[], options: ExtendOptions = {}): Promise<ExtendResult> {
    const { keep = false, signal } = options;
    const members = rows.map((r, i) => this.member(r, i));
    const pinned = [...new Set(members.flatMap((m) => (m.past ? [m.past.place.block] : [])))];
    for (const b of pinned) this.ledger.pin(b);
    try {
      const stepLogProbs: Float32Array[] = new Array(rows.length);
      const handles: KvHandle[] = new Array(rows.length);
      // a row that continues a block runs where the block is; the others anywhere
      const groups = new Map<number | undefined, number[]>();
      members.forEach((m, i) => {
        const w = m.past?.place.block.worker;
        groups.set(w, [...(groups.get(w) ?? []), i]);
      });
      const calls: Array<{ worker?: number; items: number[] }> = [];
      for (const [worker, idx] of groups) {
        // GroupQueryAttention takes one row per call; otherwise bucketed by new tokens (what is
        // padded and what the output holds), memory-bounded like full scoring
        if (this.kv.attention === 'gqa') for (const i of idx) calls.push({ worker, items: [i] });
        else for (const c of this.source.plan(idx.map((i) => members[i].ids.length))) calls.push({ worker, items: c.items.map((k) => idx[k]) });
      }
      signal?.throwIfAborted();
      await limited(calls.length, this.source.workers, async (ci) => {
        signal?.throwIfAborted();
        const { worker, items } = calls[ci];
        const res = await this.run(items.map((m) => members[m]), keep, worker);
        items.forEach((m, b) => {
          stepLogProbs[m] = res.stepLogProbs[b];
          if (res.handles) handles[m] = res.handles[b];
        });
      });
      return keep ? { stepLogProbs, handles } : { stepLogProbs };
    } finally {
      for (const b of pinned) this.ledger.unpin(b);
    }
  }

  /** Feeding the block as it is: one row whose slice is where the graph reads its past from. */
  private whole(members: readonly Member[]): Place | undefined {
    if (members.length !== 1 || !members[0].past) return undefined;
    const { place, length } = members[0].past;
    if (place.block.rows !== 1) return undefined;
    // GroupQueryAttention reads the first `length` slots; plain attention the slots before the new tokens
    return (this.kv.attention === 'gqa' ? place.start === 0 : place.start + length === place.block.slots) ? place : undefined;
  }

  /** One backbone call over `members`, on `worker` when they continue blocks there. */
  private async run(members: Member[], keep: boolean, worker: number | undefined): Promise<ExtendResult> {
    const B = members.length;
    const whole = this.whole(members);
    const pastLen = whole ? whole.block.slots : Math.max(...members.map((m) => m.past?.length ?? 0));
    const newLen = Math.max(...members.map((m) => m.ids.length));
    const slots = pastLen + newLen;
    const ids = new Int32Array(B * newLen).fill(this.source.chunking.padId);
    const mask = new Int32Array(B * slots);
    const positions = new Int32Array(B * newLen);
    const offsets = new Int32Array(B + 1);
    const at: number[] = [];
    members.forEach((m, b) => {
      const n = m.ids.length;
      const p = m.past?.length ?? 0;
      ids.set(m.ids, b * newLen);
      // real keys: the row's p cached slots (right before pastLen, or where the block holds them), then its n new tokens
      const first = whole ? whole.start : pastLen - p;
      mask.fill(1, b * slots + first, b * slots + first + p);
      mask.fill(1, b * slots + pastLen, b * slots + pastLen + n);
      for (let t = 0; t < n; t++) positions[b * newLen + t] = p + t;
      for (const a of m.at) at.push(a);
      offsets[b + 1] = at.length;
    });
    const kv: KvRequest = {};
    if (whole) kv.past = { block: whole.block.id };
    else if (pastLen > 0) kv.past = { pack: members.map((m) => (m.past ? { block: m.past.place.block.id, row: m.past.place.row, start: m.past.place.start, length: m.past.length } : null)) };
    if (keep) kv.keep = this.ledger.reserve();
    const real = members.reduce((a, m) => a + m.ids.length, 0);
    const res = await this.source.forward({ B, T: newLen, P: pastLen, ids, mask, positions, output: this.source.output, kv }, real, worker);
    // a shared prefix may hold no boundary: nothing to read there
    const scored = at.length === 0 ? new Float32Array(0) : await this.source.scoreAt(res, { offsets, positions: Int32Array.from(at) });
    const stepLogProbs = members.map((_, b) => scored.slice(offsets[b], offsets[b + 1]));
    if (kv.keep === undefined) return { stepLogProbs };
    const handles = this.keepBlock(kv.keep, res, members, whole, pastLen);
    return { stepLogProbs, handles };
  }

  /** The handles on a block just kept (evicted from the start when it does not fit the budget). */
  private keepBlock(id: number, res: ForwardResult, members: Member[], whole: Place | undefined, pastLen: number): KvHandle[] {
    const B = members.length;
    const slots = res.keptSlots ?? 0;
    const block: Block | undefined = this.ledger.admit({ id, worker: res.worker ?? 0, rows: B, slots, bytes: (B * slots * this.bytesPerToken) }, B);
    return members.map((m, b) => {
      const p = m.past?.length ?? 0;
      const all = new Int32Array(m.before.length + m.ids.length);
      all.set(m.before);
      all.set(m.ids, m.before.length);
      // the row's slots: its past where the graph put it, then its new tokens
      const start = this.kv.attention === 'gqa' ? 0 : whole ? whole.start : pastLen - p;
      const ref: HandleRef = { released: false, ...(block ? { place: { block, row: b, start } } : {}) };
      const h = new OnnxKvHandle(this, p + m.ids.length, all, ref);
      if (block) this.ledger.track(h, ref);
      return h;
    });
  }

  holds(handle: KvHandle): boolean {
    const b = handle instanceof OnnxKvHandle && handle.owner === this ? handle.ref.place?.block : undefined;
    return b !== undefined && !b.freed;
  }

  release(handles: readonly KvHandle[]): void {
    for (const h of handles) if (h instanceof OnnxKvHandle && h.owner === this) this.ledger.untrack(h.ref);
  }
}
