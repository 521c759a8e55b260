// A cache of scored chains' keys/values across scoring calls, for a service whose clients
// send a beam-search round or an RL group as separate requests: a chain that shares a
// prefix with one scored before continues that chain's keys/values (any first tokens of
// them) instead of running the prefix again. Entries are whole chains (their handle, their
// ids and the step log-probabilities read in them); a lookup finds the entry with the
// longest common token prefix among those that share the row's first `minTokens` tokens (a
// shorter match would not be worth using). Bounded by bytes of keys/values, least recently
// used first out; an entry a scoring call is using is never evicted under it.
import type { CachedForward, KvHandle } from '../backbones/cached-forward.js';
import { integer, keysOf, knownKeys, object } from '../is.js';

export interface PrefixCacheOptions {
  /** Keys/values the cache may hold, in bytes (0: nothing is kept). */
  maxBytes: number;
  /** Shortest prefix worth reusing, in tokens (default 32). */
  minTokens?: number;
}

export interface PrefixCacheStats {
  /** Rows that continued a cached prefix. */
  hits: number;
  /** Rows looked up that found none. */
  misses: number;
  /** Entries dropped to stay within maxBytes, or whose keys/values the backbone evicted. */
  evictions: number;
  /** Tokens not run because a cached prefix covered them. */
  reusedTokens: number;
  entries: number;
  bytes: number;
  maxBytes: number;
}

export interface CacheEntry {
  readonly ids: Int32Array;
  readonly handle: KvHandle;
  /** log P(step correct) at the boundaries read in it, by token position. */
  readonly known: ReadonlyMap<number, number>;
  readonly bytes: number;
  /** Scoring calls using it now. */
  active: number;
}

/** A row's best cached prefix: continue `entry.handle`'s first `length` tokens. */
export interface CacheHit {
  entry: CacheEntry;
  length: number;
}

const KEYS = keysOf<PrefixCacheOptions>()({ maxBytes: true, minTokens: true });

export class PrefixCache {
  readonly maxBytes: number;
  readonly minTokens: number;
  private readonly buckets = new Map<string, Set<CacheEntry>>();
  /** Least recently used first. */
  private readonly lru = new Set<CacheEntry>();
  private bytes = 0;
  private readonly counts = { hits: 0, misses: 0, evictions: 0, reusedTokens: 0 };

  constructor(
    /** The cached forward whose handles it holds (one model's). */
    readonly forward: CachedForward,
    options: PrefixCacheOptions,
  ) {
    knownKeys(object(options, 'prefix cache options'), KEYS, 'prefix cache options');
    this.maxBytes = integer(options.maxBytes, 'maxBytes', 0, Number.MAX_SAFE_INTEGER);
    this.minTokens = integer(options.minTokens ?? 32, 'minTokens', 1, 1 << 20);
  }

  private key(ids: Int32Array): string | undefined {
    return ids.length < this.minTokens ? undefined : ids.subarray(0, this.minTokens).join(',');
  }

  /**
   * The cached prefix `ids` can continue furthest, marked in use until `done`: the longest
   * common prefix, cut at the first boundary in it that the entry did not read.
   */
  lookup(ids: Int32Array, at: Int32Array): CacheHit | undefined {
    const key = this.key(ids);
    let best: CacheHit | undefined;
    for (const e of (key !== undefined ? this.buckets.get(key) : undefined) ?? []) {
      if (this.forward.holds && !this.forward.holds(e.handle)) {
        // the backbone evicted its keys/values: using it would run the prefix again
        if (e.active === 0) this.drop(e, true);
        continue;
      }
      const n = Math.min(ids.length, e.ids.length);
      let length = 0;
      while (length < n && ids[length] === e.ids[length]) length++;
      for (const p of at) if (p < length && !e.known.has(p)) length = p;
      if (length >= this.minTokens && (!best || length > best.length)) best = { entry: e, length };
    }
    if (!best) {
      this.counts.misses++;
      return undefined;
    }
    this.counts.hits++;
    this.counts.reusedTokens += best.length;
    best.entry.active++;
    this.lru.delete(best.entry);
    this.lru.add(best.entry);
    return best;
  }

  /** The calls that looked these up are over. */
  done(entries: Iterable<CacheEntry>): void {
    for (const e of entries) e.active--;
  }

  /**
   * Takes a chain's handle (the cache releases it when the entry goes). Returns false when it
   * does not fit (the handle is released at once).
   */
  insert(ids: Int32Array, handle: KvHandle, known: ReadonlyMap<number, number>): boolean {
    const key = this.key(ids);
    const bytes = handle.tokens * (this.forward.bytesPerToken ?? 0);
    if (key === undefined || bytes > this.maxBytes) {
      this.forward.release([handle]);
      return false;
    }
    for (const e of this.lru) {
      if (this.bytes + bytes <= this.maxBytes) break;
      if (e.active === 0) this.drop(e, true);
    }
    if (this.bytes + bytes > this.maxBytes) {
      this.forward.release([handle]);
      return false;
    }
    const entry: CacheEntry = { ids, handle, known, bytes, active: 0 };
    const bucket = this.buckets.get(key) ?? new Set();
    // the same chain again: the newer entry replaces it
    for (const e of bucket) if (e.active === 0 && e.ids.length === ids.length && e.ids.every((x, i) => x === ids[i])) this.drop(e, false);
    bucket.add(entry);
    this.buckets.set(key, bucket);
    this.lru.add(entry);
    this.bytes += bytes;
    return true;
  }

  private drop(e: CacheEntry, evicted: boolean): void {
    const key = this.key(e.ids)!;
    const bucket = this.buckets.get(key);
    bucket?.delete(e);
    if (bucket?.size === 0) this.buckets.delete(key);
    if (!this.lru.delete(e)) return;
    this.bytes -= e.bytes;
    if (evicted) this.counts.evictions++;
    this.forward.release([e.handle]);
  }

  /** Drops every entry not in use. */
  clear(): void {
    for (const e of [...this.lru]) if (e.active === 0) this.drop(e, false);
  }

  stats(): PrefixCacheStats {
    return { ...this.counts, entries: this.lru.size, bytes: this.bytes, maxBytes: this.maxBytes };
  }
}
