// The main thread's ledger of the keys/values its workers keep. A forward pass that keeps its
// keys/values leaves them in its worker as one block (every row of the pass); each row gets a
// handle on its slots of the block. The ledger counts the bytes each worker holds and frees
// a block once no handle needs it: a handle is released explicitly, or when it is garbage
// collected (a FinalizationRegistry). Each worker holds at most `budget` bytes: over it, the
// least recently used blocks that no call is reading are evicted. An evicted handle still
// knows its token ids, so using it recomputes its keys/values (same results, more time).

/** Keys/values of one kept forward pass, held by one worker. */
export interface Block {
  readonly id: number;
  readonly worker: number;
  /** Rows and slots of the stored tensors ([rows, heads, slots, headDim] per layer and kind). */
  readonly rows: number;
  readonly slots: number;
  readonly bytes: number;
  /** Live handles on it. */
  refs: number;
  /** Calls in flight that read it. */
  pins: number;
  /** Freed (released or evicted): its handles recompute. */
  freed: boolean;
}

/** Where a handle's keys/values are: slots [start, start + tokens) of `row` of `block`. */
export interface Place {
  block: Block;
  row: number;
  start: number;
}

/** What the finalizer needs of a handle (never the handle itself). */
export interface HandleRef {
  place?: Place;
  released: boolean;
}

export interface KvMemoryStats {
  /** Bytes of keys/values held, per worker. */
  bytes: number[];
  /** Blocks held over all workers. */
  blocks: number;
  /** Blocks evicted to stay within the budget since the model opened. */
  evictions: number;
  /** Tokens run again because their keys/values had been evicted. */
  recomputedTokens: number;
}

export class KvLedger {
  private nextId = 1;
  /** Per worker, blocks in least-recently-used order (a Map keeps insertion order). */
  private readonly held: Array<Map<number, Block>>;
  private readonly bytes: number[];
  private evictions = 0;
  recomputedTokens = 0;
  private readonly registry = new FinalizationRegistry<HandleRef>((ref) => this.drop(ref));

  constructor(
    workers: number,
    /** Bytes of keys/values each worker may hold. */
    readonly budget: number,
    private readonly free: (worker: number, blocks: number[]) => void,
  ) {
    this.held = Array.from({ length: workers }, () => new Map());
    this.bytes = new Array<number>(workers).fill(0);
  }

  /** An id for the block a pass is about to keep. */
  reserve(): number {
    return this.nextId++;
  }

  /**
   * Records a kept block (`refs` handles will point at it). Over budget, older unpinned
   * blocks of its worker are evicted; a block that cannot fit even then is freed at once
   * (returns false: its handles start out evicted).
   */
  admit(b: Omit<Block, 'refs' | 'pins' | 'freed'>, refs: number): Block | undefined {
    const block: Block = { ...b, refs, pins: 0, freed: false };
    const w = block.worker;
    for (const old of this.held[w].values()) {
      if (this.bytes[w] + block.bytes <= this.budget) break;
      if (old.pins === 0) this.evict(old);
    }
    if (this.bytes[w] + block.bytes > this.budget) {
      this.evictions++;
      this.free(w, [block.id]);
      return undefined;
    }
    this.held[w].set(block.id, block);
    this.bytes[w] += block.bytes;
    return block;
  }

  /** A block a call is about to read: kept from eviction until `unpin`, and most recently used. */
  pin(b: Block): void {
    b.pins++;
    const lru = this.held[b.worker];
    lru.delete(b.id);
    lru.set(b.id, b);
  }

  unpin(b: Block): void {
    b.pins--;
    if (b.refs === 0 && b.pins === 0) this.release(b);
  }

  /** Watches a handle: when it is collected without being released, its block loses a reference. */
  track(handle: object, ref: HandleRef): void {
    this.registry.register(handle, ref, ref);
  }

  /** An explicit release (idempotent). */
  untrack(ref: HandleRef): void {
    this.registry.unregister(ref);
    this.drop(ref);
  }

  private drop(ref: HandleRef): void {
    if (ref.released) return;
    ref.released = true;
    const b = ref.place?.block;
    ref.place = undefined;
    if (!b) return;
    b.refs--;
    if (b.refs === 0 && b.pins === 0) this.release(b);
  }

  private release(b: Block): void {
    if (b.freed) return;
    b.freed = true;
    this.held[b.worker].delete(b.id);
    this.bytes[b.worker] -= b.bytes;
    this.free(b.worker, [b.id]);
  }

  private evict(b: Block): void {
    this.evictions++;
    this.release(b);
  }

  stats(): KvMemoryStats {
    return { bytes: [...this.bytes], blocks: this.held.reduce((a, m) => a + m.size, 0), evictions: this.evictions, recomputedTokens: this.recomputedTokens };
  }
}
