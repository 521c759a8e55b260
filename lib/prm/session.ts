// Incremental scoring over a KV cache. A session holds one chain's token ids and the
// backbone's keys/values for them; scoring continuations runs only their new tokens on top
// of the cached prefix. Correctness does not rest on tokenization being prefix-stable: the
// cached part actually used is the longest common prefix of cached and new token ids, and
// cached step scores are reused only for boundaries inside that part.
//
// Many sessions can be scored in one backbone call (`PrmSession.scoreMany`, what a beam
// search wants): each row's cached keys/values are left-aligned against the longest past,
// the slots in front are masked out, and position ids carry each row's true positions.
import { planChunks } from '../batch/index.js';
import { isInputError, PrmInputError, reroot } from '../errors.js';
import type { InputError } from '../errors.js';
import type { ChainItem } from '../interfaces.js';
import { signal as abortSignal, invalidType, knownKeys, object } from '../is.js';
import { aggregate, firstError, scoreBatch } from '../kernels/index.js';
import type { Prm } from './prm.js';
import { limited } from '../backbones/onnx/steps.js';
import type { OnnxSteps } from '../backbones/onnx/steps.js';
import type { KvArray } from '../backbones/onnx/backbone.js';
import { checkScoreCall } from './results.js';
import type { PrmScore, ScoreCall, ScoreCallOptions } from './results.js';

export interface SessionScore extends PrmScore {
  /** With `keep: true`: a session whose prefix is this continuation's whole chain. */
  session?: PrmSession;
}

export interface SessionScoreOptions extends ScoreCallOptions {
  /** Return a session per continuation (its keys/values are kept, without copying). */
  keep?: boolean;
}

/**
 * Keys/values of one cached chain: slots [start, start + length) of row `row` in tensors
 * laid out [rows, heads, total, headDim] (per layer: key, value, key, value, ...). A view,
 * so keeping a session per candidate costs no copy.
 */
interface KvView {
  tensors: KvArray[];
  row: number;
  total: number;
  start: number;
  length: number;
}

interface Row {
  session: PrmSession;
  item: ChainItem;
  ids: Int32Array;
  positions: number[];
  /** Cached tokens this row reuses. */
  P: number;
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

const EMPTY: KvView = { tensors: [], row: 0, total: 0, start: 0, length: 0 };

export class PrmSession {
  private constructor(
    private readonly prm: Prm,
    private readonly steps: OnnxSteps,
    /** The chain this session holds. */
    readonly item: ChainItem,
    private readonly ids: Int32Array,
    private readonly kv: KvView,
    /** log P(correct) of boundaries inside the cached tokens, by token position. */
    private readonly known: Map<number, number>,
  ) {}

  /** Cached tokens. */
  get tokens(): number {
    return this.ids.length;
  }

  /** P(step correct) for the session's own steps. */
  get stepProbs(): number[] {
    return [...this.known.entries()].sort((a, b) => a[0] - b[0]).map(([, lp]) => Math.exp(lp));
  }

  static async open(prm: Prm, steps: OnnxSteps, item: ChainItem, options: { signal?: AbortSignal } = {}): Promise<PrmSession> {
    const signal = checkSignalOnly(options, 'session options');
    const root = new PrmSession(prm, steps, { problem: item.problem, steps: [] }, new Int32Array(0), EMPTY, new Map());
    const call = { how: prm.defaultAggregate, threshold: 0.5, signal };
    const [[r]] = await PrmSession.run(prm, steps, [{ session: root, items: [item], paths: ['item'], stepPaths: ['item.steps'] }], true, call);
    return r.session!;
  }

  /** Cached tokens usable for `ids` (and boundaries whose scores are known). */
  private prefixFor(ids: Int32Array, positions: readonly number[]): number {
    let P = lcp(this.ids, ids);
    // keep at least one new token to run, and never rely on a boundary the cache did not score
    P = Math.min(P, ids.length - 1);
    for (const p of positions) if (p < P && !this.known.has(p)) P = p;
    return Math.max(P, 0);
  }

  private static async run(
    prm: Prm,
    steps: OnnxSteps,
    groups: ReadonlyArray<Group>,
    keep: boolean,
    { how, threshold, signal }: ScoreCall,
  ): Promise<SessionScore[][]> {
    const rows: Row[] = [];
    for (const g of groups) {
      if (g.items.length === 0) continue;
      let enc: ReturnType<Prm['encode']>;
      try {
        enc = prm.encode(g.items);
      } catch (e) {
        throw isInputError(e) ? callerPath(e, g) : e;
      }
      enc.inputIds.forEach((ids, i) => {
        if (enc.truncated[i])
          throw new PrmInputError(g.paths[i], `exceeds maxContext ${prm.maxContext}; a session cannot truncate (it would cache a cut chain)`);
        const positions = Array.from(enc.boundaries.positions.subarray(enc.boundaries.offsets[i], enc.boundaries.offsets[i + 1]));
        rows.push({ session: g.session, item: g.items[i], ids, positions, P: g.session.prefixFor(ids, positions) });
      });
    }
    const info = steps.backbone.info;
    const heads = info.kvHeads!;
    const hd = info.headDim!;
    const c = steps.chunking;
    const newLogProbs: Float32Array[] = new Array(rows.length);
    const views: KvView[] = new Array(rows.length);
    signal?.throwIfAborted();
    // bucketed by new tokens (what is padded and what the output holds), memory-bounded like full scoring
    const chunks = planChunks(rows.map((r) => r.ids.length - r.P), { bytesPerToken: 4 * steps.width, maxOutputBytes: c.maxOutputBytes, maxBatchTokens: c.maxBatchTokens, maxBatch: c.maxBatch, maxPadFraction: c.maxPadFraction });
    await limited(chunks.length, steps.backbone.workers, async (ci) => {
      signal?.throwIfAborted();
      const members = chunks[ci].items;
      const B = members.length;
      const Pmax = Math.max(...members.map((m) => rows[m].P));
      const Tn = Math.max(...members.map((m) => rows[m].ids.length - rows[m].P));
      const K = Pmax + Tn;
      const ids = new Int32Array(B * Tn).fill(c.padId);
      const mask = new Int32Array(B * K);
      const positions = new Int32Array(B * Tn);
      const offsets = new Int32Array(B + 1);
      const rel: number[] = [];
      const past: KvArray[] = [];
      const Kv = info.kvType === 'float16' ? Uint16Array : Float32Array;
      if (Pmax > 0) for (let l = 0; l < 2 * info.layers; l++) past.push(new Kv(B * heads * Pmax * hd));
      members.forEach((m, b) => {
        const r = rows[m];
        const n = r.ids.length - r.P;
        ids.set(r.ids.subarray(r.P), b * Tn);
        // real keys: the row's cached P slots right before Pmax, then its n new tokens
        mask.fill(1, b * K + Pmax - r.P, b * K + Pmax + n);
        for (let t = 0; t < n; t++) positions[b * Tn + t] = r.P + t;
        for (const p of r.positions) if (p >= r.P) rel.push(p - r.P);
        offsets[b + 1] = rel.length;
        const v = r.session.kv;
        for (let l = 0; l < past.length && r.P > 0; l++)
          for (let h = 0; h < heads; h++) {
            const src = ((v.row * heads + h) * v.total + v.start) * hd;
            past[l].set(v.tensors[l].subarray(src, src + r.P * hd), ((b * heads + h) * Pmax + Pmax - r.P) * hd);
          }
      });
      const stats = steps.stats;
      stats.tokens += members.reduce((a, m) => a + rows[m].ids.length - rows[m].P, 0);
      stats.paddedTokens += B * Tn;
      stats.chunks++;
      const res = await steps.backbone.forward({ B, T: Tn, P: Pmax, ids, mask, positions, past: Pmax > 0 ? past : undefined, output: steps.output, present: keep });
      const scored = await scoreBatch({ data: res.data, dtype: res.dtype, dims: res.dims }, { offsets, positions: Int32Array.from(rel) }, steps.head, { aggregations: [] });
      const tensors = res.present?.map((t) => t.data);
      members.forEach((m, b) => {
        newLogProbs[m] = scored.stepLogProbs.slice(offsets[b], offsets[b + 1]);
        if (tensors) views[m] = { tensors, row: b, total: K, start: Pmax - rows[m].P, length: rows[m].ids.length };
      });
    });
    // every chain's full list of step log-probs: cached ones, then new ones
    const allOffsets = new Int32Array(rows.length + 1);
    const all: number[] = [];
    const knownPer: Array<Map<number, number>> = [];
    rows.forEach((r, i) => {
      const known = new Map<number, number>();
      let k = 0;
      for (const p of r.positions) {
        const lp = p < r.P ? r.session.known.get(p)! : newLogProbs[i][k++];
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
        if (views[i]) s.session = new PrmSession(prm, steps, r.item, r.ids, views[i], knownPer[i]);
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
      if (e.session.prm !== first.prm) throw new RangeError(`entries[${i}].session belongs to another Prm`);
      if (!Array.isArray(e.continuations)) throw invalidType(`entries[${i}].continuations`, 'an array of step arrays', e.continuations);
      e.continuations.forEach((c: readonly string[], k: number) => {
        if (!Array.isArray(c)) throw invalidType(`entries[${i}].continuations[${k}]`, 'an array of step strings', c);
      });
    });
    const o = checkScoreCall(options, first.prm.defaultAggregate, ['keep'], 'session score options');
    const keep = options.keep ?? false;
    if (typeof keep !== 'boolean') throw invalidType('keep', 'true or false', keep);
    const groups = entries.map((e, i) => ({
      session: e.session,
      items: e.continuations.map((c: readonly string[]) => ({ problem: e.session.item.problem, steps: [...e.session.item.steps, ...c] })),
      paths: e.continuations.map((_c: readonly string[], k: number) => `entries[${i}].continuations[${k}]`),
      stepPaths: e.continuations.map((_c: readonly string[], k: number) => `entries[${i}].continuations[${k}]`),
    }));
    return PrmSession.run(first.prm, first.steps, groups, keep, o);
  }

  /** A new session whose chain also holds `steps`. */
  async extend(steps: readonly string[], options: { signal?: AbortSignal } = {}): Promise<PrmSession> {
    const [r] = await this.score([steps], { keep: true, signal: checkSignalOnly(options, 'extend options') });
    return r.session!;
  }
}
