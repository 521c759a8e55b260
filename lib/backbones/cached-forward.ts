// Forward passes on top of cached prefixes. The backbone keeps the keys/values it computed
// and hands out opaque handles; a caller says "this row continues the first `length` tokens
// of handle X with these ids; read the head there" and never sees a tensor. Where the
// keys/values live (the main thread, the worker that computed them, a device) is the
// source's business, so a handle is only ever passed back to the source that made it.
//
// This is what prefix reuse of every kind is built from: a session's continuations (beam
// and tree search), a prefix shared by many chains run once and extended per chain
// (best-of-N candidates, an RL group), a cache of prefixes kept across requests.

/** Keys/values of a token prefix, kept by the source that computed them. */
export interface KvHandle {
  /** Tokens it covers: any first `length <= tokens` of them can be continued. */
  readonly tokens: number;
}

/** One row of an `extend` call. */
export interface CachedRow {
  /** The cached prefix the row continues and how many of its tokens it uses; none: the row starts at token 0. */
  past?: { handle: KvHandle; length: number };
  /** The tokens after the prefix (at least one). */
  ids: Int32Array;
  /** Where the head is read, as indices into `ids`, increasing. */
  at: Int32Array;
}

export interface ExtendOptions {
  /** Return a handle per row covering its prefix and its new tokens (default false). */
  keep?: boolean;
  signal?: AbortSignal;
}

export interface ExtendResult {
  /** Per row, log P(step correct) at its `at` positions. */
  stepLogProbs: Float32Array[];
  /** With `keep`: per row, the keys/values of its whole chain (prefix + ids). */
  handles?: KvHandle[];
}

export interface CachedForward {
  /** Runs every row's new tokens on top of its prefix, in as few backbone calls as the budgets allow. */
  extend(rows: readonly CachedRow[], options?: ExtendOptions): Promise<ExtendResult>;
  /** The source may free what the handles hold; extending a released handle is an error. */
  release(handles: readonly KvHandle[]): void;
  /** Bytes of keys/values one token holds (for caches that bound their memory). */
  readonly bytesPerToken?: number;
  /** Whether the handle's keys/values are still held (false: released, or evicted and continuing it runs its tokens again). */
  holds?(handle: KvHandle): boolean;
}
