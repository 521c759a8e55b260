// Incremental scoring over a KV cache: the prefix bookkeeping. A session holds one chain's
// token ids, the step scores inside them, and a handle to the backbone's keys/values for
// them; scoring continuations runs only their new tokens on top (the backbone's cached
// forward does the rest). Correctness does not rest on tokenization being prefix-stable: the
// cached part actually used is the longest common prefix of cached and new token ids, and
// cached step scores are reused only for boundaries inside that part.
//
// Many sessions can be scored in one call (`PrmSession.scoreMany`, what a beam search
// wants): their rows go to the cached forward together, which batches them.
import type { CachedForward, KvHandle } from '../backbones/cached-forward.js';
import { isInputError, PrmInputError, reroot } from '../errors.js';
import type { InputError } from '../errors.js';
import type { ChainItem } from '../interfaces.js';
import { signal as abortSignal, invalidType, knownKeys, object } from '../is.js';
import { aggregate, firstError } from '../kernels/index.js';
import type { Aggregation } from '../kernels/types.js';
import type { PrmEncoding } from './encoding.js';
import { checkScoreCall } from './results.js';
import type { PrmScore, ScoreCall, ScoreCallOptions } from './results.js';

/** What sessions need of their model: its encoding and context, and a cached forward. */
export interface SessionModel {
  encode(items: readonly ChainItem[]): PrmEncoding;
  readonly maxContext?: number;
  readonly defaultAggregate: Aggregation;
  readonly cache: CachedForward;
}

export interface SessionScore extends PrmScore {
  /** With `keep: true`: a session whose prefix is this continuation's whole chain. */
  session?: PrmSession;
}

export interface SessionScoreOptions extends ScoreCallOptions {
  /** Return a session per continuation (its keys/values are kept, without copying). */
  keep?: boolean;
}

interface Row {
  session: PrmSession;
  item: ChainItem;
  ids: Int32Array;
  positions: number[];
  /** Cached tokens this row reuses. */
  reuse: number;
}

function lcp(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** Chains a session scores: the session's steps, then a continuation's. */
interface Group {
  session: PrmSession;
  items: readonly ChainItem[];
  /** Where each chain is in the caller's arguments (`entries[0].continuations[2]`, `item`). */
  paths: readonly string[];
  /** Where a continuation's steps are: its step j is steps[session's steps + j] of the chain. */
  stepPaths: readonly string[];
}

/**
 * An input error about `items[k]` of a group's encoding, renamed to what the caller passed:
 * a step of continuation k is `entries[i].continuations[k][j]`, not `items[k].steps[P + j]`.
 */
function callerPath(e: InputError, g: Group): InputError {
  const k = e.itemIndex;
  if (k === undefined) return e;
  const own = g.session.item.steps.length;
  const step = new RegExp(`^items\\[${k}\\]\\.steps\\[(\\d+)\\]`).exec(e.path);
  if (step && Number(step[1]) >= own) return reroot(e, step[0], `${g.stepPaths[k]}[${Number(step[1]) - own}]`);
  return reroot(e, `items[${k}]`, g.paths[k]);
}

/** Options objects whose only key is `signal`. */
function checkSignalOnly(o: unknown, name: string): AbortSignal | undefined {
  knownKeys(object(o, name), ['signal'], name);
  return abortSignal((o as { signal?: unknown }).signal);
}

export class PrmSession {
  private constructor(
    /** @internal read by `scoreMany` through other sessions (not private: the compiler's unused check misses reads from a static method) */
    readonly model: SessionModel,
    /** The chain this session holds. */
    readonly item: ChainItem,
    private readonly ids: Int32Array,
    /**
     * The backbone's keys/values of `ids` (none for the empty root, or once released). The
     * backbone frees them when the handle is collected with the session, or on `release()`.
     */
    private kv: KvHandle | undefined,
    /** log P(correct) of boundaries inside the cached tokens, by token position. */
    private readonly known: Map<number, number>,
  ) {}

  /**
   * Frees the session's keys/values now rather than when it is garbage collected. The session
   * still scores continuations, running its own tokens again.
   */
  release(): void {
    if (this.kv) this.model.cache.release([this.kv]);
    this.kv = undefined;
  }

  /** Cached tokens. */
  get tokens(): number {
    return this.ids.length;
  }

  /** P(step correct) for the session's own steps. */
  get stepProbs(): number[] {
    return [...this.known.entries()].sort((a, b) => a[0] - b[0]).map(([, lp]) => Math.exp(lp));
  }

  static async open(model: SessionModel, item: ChainItem, options: { signal?: AbortSignal } = {}): Promise<PrmSession> {
    const signal = checkSignalOnly(options, 'session options');
    const root = new PrmSession(model, { problem: item.problem, steps: [] }, new Int32Array(0), undefined, new Map());
    const call = { how: model.defaultAggregate, threshold: 0.5, signal, share: false as const };
    const [[r]] = await PrmSession.run(model, [{ session: root, items: [item], paths: ['item'], stepPaths: ['item.steps'] }], true, call);
    return r.session!;
  }

  /** Cached tokens usable for `ids` (and boundaries whose scores are known). */
  private prefixFor(ids: Int32Array, positions: readonly number[]): number {
    if (!this.kv) return 0;
    // keep at least one new token to run, and never rely on a boundary the cache did not score
    let reuse = Math.min(lcp(this.ids, ids), ids.length - 1);
    for (const p of positions) if (p < reuse && !this.known.has(p)) reuse = p;
    return Math.max(reuse, 0);
  }

  private static async run(
    model: SessionModel,
    groups: ReadonlyArray<Group>,
    keep: boolean,
    { how, threshold, signal }: ScoreCall,
  ): Promise<SessionScore[][]> {
    const rows: Row[] = [];
    for (const g of groups) {
      if (g.items.length === 0) continue;
      let enc: PrmEncoding;
      try {
        enc = model.encode(g.items);
      } catch (e) {
        throw isInputError(e) ? callerPath(e, g) : e;
      }
      enc.inputIds.forEach((ids, i) => {
        if (enc.truncated[i])
          throw new PrmInputError(g.paths[i], `exceeds maxContext ${model.maxContext}; a session cannot truncate (it would cache a cut chain)`);
        const positions = Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]));
        rows.push({ session: g.session, item: g.items[i], ids, positions, reuse: g.session.prefixFor(ids, positions) });
      });
    }
    signal?.throwIfAborted();
    // a chain that encodes to no tokens (a format's empty chain) needs no backbone work
    const work = rows.flatMap((r, i) => (r.ids.length > 0 ? [i] : []));
    const res = work.length === 0 ? { stepLogProbs: [] } : await model.cache.extend(
      work.map((i) => {
        const r = rows[i];
        return {
          past: r.reuse > 0 && r.session.kv ? { handle: r.session.kv, length: r.reuse } : undefined,
          ids: r.ids.subarray(r.reuse),
          at: Int32Array.from(r.positions.filter((p) => p >= r.reuse), (p) => p - r.reuse),
        };
      }),
      { keep, signal },
    );
    const newLogProbs: Float32Array[] = rows.map(() => new Float32Array(0));
    const handles: Array<KvHandle | undefined> = new Array(rows.length);
    work.forEach((i, k) => {
      newLogProbs[i] = res.stepLogProbs[k];
      handles[i] = res.handles?.[k];
    });
    // every chain's full list of step log-probs: cached ones, then new ones
    const allOffsets = new Int32Array(rows.length + 1);
    const all: number[] = [];
    const knownPer: Array<Map<number, number>> = [];
    rows.forEach((r, i) => {
      const known = new Map<number, number>();
      let k = 0;
      for (const p of r.positions) {
        const lp = p < r.reuse ? r.session.known.get(p)! : newLogProbs[i][k++];
        known.set(p, lp);
        all.push(lp);
      }
      knownPer.push(known);
      allOffsets[i + 1] = all.length;
    });
    const lp = Float32Array.from(all);
    const agg = aggregate({ stepLogProbs: lp, offsets: allOffsets, how });
    const fe = firstError({ stepLogProbs: lp, offsets: allOffsets, threshold });
    const out: SessionScore[][] = groups.map(() => []);
    let i = 0;
    groups.forEach((g, gi) => {
      for (let j = 0; j < g.items.length; j++, i++) {
        const r = rows[i];
        const stepLogProbs = all.slice(allOffsets[i], allOffsets[i + 1]);
        const s: SessionScore = {
          stepProbs: stepLogProbs.map(Math.exp),
          stepLogProbs,
          score: Math.exp(agg[i]),
          firstError: fe[i],
          tokens: r.ids.length,
          truncated: false,
        };
        if (r.item.id !== undefined) s.id = r.item.id;
        if (keep) s.session = new PrmSession(model, r.item, r.ids, handles[i], knownPer[i]);
        out[gi].push(s);
      }
    });
    return out;
  }

  /**
   * Scores `item.steps + continuation` for each continuation, running only the tokens after
   * the cached prefix. Results match `prm.score` on the whole chains. `keep: true` also
   * returns a session per continuation.
   */
  async score(continuations: readonly (readonly string[])[], options: SessionScoreOptions = {}): Promise<SessionScore[]> {
    const [r] = await PrmSession.scoreMany([{ session: this, continuations }], options);
    return r;
  }

  /**
   * Scores continuations of many sessions (of the same Prm) in shared backbone calls: one
   * result list per entry, in order.
   */
  static async scoreMany(
    entries: ReadonlyArray<{ session: PrmSession; continuations: readonly (readonly string[])[] }>,
    options: SessionScoreOptions = {},
  ): Promise<SessionScore[][]> {
    if (!Array.isArray(entries)) throw invalidType('entries', 'an array of { session, continuations }', entries);
    if (entries.length === 0) return [];
    const first = entries[0]?.session;
    entries.forEach((e, i) => {
      object(e, `entries[${i}]`, 'an object { session, continuations }');
      if (!(e.session instanceof PrmSession)) throw invalidType(`entries[${i}].session`, 'a PrmSession', e.session);
      if (e.session.model !== first.model) throw new RangeError(`entries[${i}].session belongs to another Prm`);
      if (!Array.isArray(e.continuations)) throw invalidType(`entries[${i}].continuations`, 'an array of step arrays', e.continuations);
      e.continuations.forEach((c: readonly string[], k: number) => {
        if (!Array.isArray(c)) throw invalidType(`entries[${i}].continuations[${k}]`, 'an array of step strings', c);
      });
    });
    for (const k of ['sharePrefixes', 'prefixCache'] as const)
      if (options[k] !== undefined) throw new TypeError(`session score options.${k} is not an option of sessions: their continuations already run on the session's cached prefix`);
    const o = checkScoreCall(options, first.model.defaultAggregate, ['keep'], 'session score options');
    const keep = options.keep ?? false;
    if (typeof keep !== 'boolean') throw invalidType('keep', 'true or false', keep);
    const groups = entries.map((e, i) => ({
      session: e.session,
      items: e.continuations.map((c: readonly string[]) => ({ problem: e.session.item.problem, steps: [...e.session.item.steps, ...c] })),
      paths: e.continuations.map((_c: readonly string[], k: number) => `entries[${i}].continuations[${k}]`),
      stepPaths: e.continuations.map((_c: readonly string[], k: number) => `entries[${i}].continuations[${k}]`),
    }));
    return PrmSession.run(first.model, groups, keep, o);
  }

  /** A new session whose chain also holds `steps`. */
  async extend(steps: readonly string[], options: { signal?: AbortSignal } = {}): Promise<PrmSession> {
    const [r] = await this.score([steps], { keep: true, signal: checkSignalOnly(options, 'extend options') });
    return r.session!;
  }
}
