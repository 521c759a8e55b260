// Scoring chains tokenized once: prm.scoreEncoded on prm.encode's output (whole, deferred,
// picked from several encodings, or from encodeChains) gives exactly what prm.score gives,
// and refuses malformed encodings before any backbone work.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { joinEncodings, pickRows, Prm } from '../../lib/prm/index.js';
import type { PrmEncoding } from '../../lib/prm/index.js';
import { encodeChains } from '../../lib/formats/encode.js';
import { chains, cleanup, tiny } from './helpers.js';

let model: Awaited<ReturnType<typeof tiny>>;
let prm: Prm; // overflow 'error', maxContext 256 from the tokenizer config
let cut: Prm; // overflow 'truncate'

const long = { problem: 'long', steps: Array.from({ length: 10 }, (_, k) => `step number ${k} is here, and it is long enough`), id: 'long' };

beforeAll(async () => {
  model = await tiny({ layers: 2, hidden: 32, seed: 11, output: 'hidden', maxPositions: 256 });
  const base = { model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd' as const, workers: { threads: 1 } };
  [prm, cut] = await Promise.all([Prm.load(base), Prm.load({ ...base, overflow: 'truncate' })]);
});

afterAll(async () => {
  await prm?.close();
  await cut?.close();
  cleanup();
});

/** Items with ids on some, an empty chain, and varied lengths. */
function items(n: number, seed: number) {
  const xs: Array<{ problem: string; steps: string[]; id?: string }> = chains(n, seed).map((c, i) => (i % 3 === 0 ? { ...c, id: `c${i}` } : c));
  xs.push({ problem: 'nothing yet', steps: [], id: 'empty' });
  return xs;
}

describe('prm.scoreEncoded', () => {
  it('equals prm.score exactly, for every aggregation and threshold', async () => {
    const xs = items(9, 3);
    const enc = prm.encode(xs);
    for (const aggregate of ['prod', 'min', 'last', 'mean', 'geomean'] as const) {
      const opts = { aggregate, errorThreshold: 0.45 };
      expect(await prm.scoreEncoded(enc, opts)).toEqual(await prm.score(xs, opts));
    }
    // the model's default aggregation, no options
    const [a, b] = [await prm.scoreEncoded(enc), await prm.score(xs)];
    expect(a).toEqual(b);
    expect(a.map((r) => r.id)).toEqual(xs.map((x) => x.id));
    expect(Number.isNaN(a[a.length - 1].score)).toBe(true);
  });

  it('equals prm.score on a batch large enough to be encoded in slices', async () => {
    const xs = items(45, 5);
    expect(await prm.scoreEncoded(prm.encode(xs))).toEqual(await prm.score(xs));
  });

  it('a deferred encoding shows full lengths; scoring applies the overflow policy as score does', async () => {
    const xs = [...items(2, 7), long];
    const deferred = prm.encode(xs, { deferContext: true });
    expect(deferred.inputIds[3].length).toBeGreaterThan(256);
    expect(deferred.truncated).toEqual([false, false, false, false]);
    expect(prm.countTokens(xs)).toEqual(deferred.inputIds.map((r) => r.length));
    // overflow 'error': the same RangeError, naming the same item
    const scoreErr = await prm.score(xs).catch((e: unknown) => e);
    const encodedErr = await prm.scoreEncoded(deferred).catch((e: unknown) => e);
    expect(scoreErr).toBeInstanceOf(RangeError);
    expect(encodedErr).toBeInstanceOf(RangeError);
    expect((encodedErr as Error).message).toBe((scoreErr as Error).message);
    expect((encodedErr as Error).message).toMatch(/items\[3\] is \d+ tokens, over maxContext 256/);
    // overflow 'truncate': cut like score cuts, flagged, same numbers
    const want = await cut.score(xs);
    expect(want[3].truncated).toBe(true);
    expect(want[3].tokens).toBe(256);
    expect(await cut.scoreEncoded(cut.encode(xs, { deferContext: true }))).toEqual(want);
    expect(await cut.scoreEncoded(cut.encode(xs))).toEqual(want);
  });

  it('rows picked from several encodings score as their items do', async () => {
    const a = items(4, 8);
    const b = items(3, 9);
    const ea = prm.encode(a);
    const eb = prm.encode(b);
    const picks = [
      { encoding: eb, row: 2 },
      { encoding: ea, row: 0 },
      { encoding: ea, row: 3 },
      { encoding: eb, row: 0 },
    ];
    const want = await prm.score([b[2], a[0], a[3], b[0]]);
    expect(await prm.scoreEncoded(pickRows(picks, prm.format))).toEqual(want);
    expect(await prm.scoreEncoded(joinEncodings([ea, eb], prm.format))).toEqual(await prm.score([...a, ...b]));
  });

  it("takes encodeChains' output (no ids) with this model's format and tokenizer", async () => {
    const xs = chains(5, 12);
    const enc = encodeChains(xs, { format: 'math-shepherd', tokenizer: prm.tokenizer, maxContext: 256 });
    expect(await prm.scoreEncoded(enc)).toEqual(await prm.score(xs));
  });

  it('refuses malformed encodings and bad options with clear errors, before any backbone work', async () => {
    const xs = items(3, 2);
    const good = prm.encode(xs);
    const chunks = prm.stats.calls;
    const bad = (patch: Partial<PrmEncoding>) => prm.scoreEncoded({ ...good, ...patch } as PrmEncoding);
    const { offsets, positions } = good.boundaries;
    await expect(prm.scoreEncoded(null as never)).rejects.toThrow(TypeError);
    await expect(prm.scoreEncoded({} as never)).rejects.toThrow(/encoded\.inputIds must be an array/);
    await expect(bad({ inputIds: good.inputIds.map((r) => Array.from(r)) as never })).rejects.toThrow(/inputIds\[0\] must be an Int32Array/);
    await expect(bad({ boundaries: { offsets: offsets.subarray(1), positions } })).rejects.toThrow(/offsets must hold inputIds.length \+ 1 = 5 entries/);
    await expect(bad({ boundaries: { offsets, positions: positions.subarray(1) } })).rejects.toThrow(/must equal positions.length/);
    const outside = positions.slice();
    outside[0] = good.inputIds[0].length;
    await expect(bad({ boundaries: { offsets, positions: outside } })).rejects.toThrow(/positions\[0\] = \d+ must be increasing within chain 0 and inside its \d+ tokens/);
    const negative = good.inputIds.slice();
    negative[1] = Int32Array.of(5, -3, 7);
    await expect(bad({ inputIds: negative })).rejects.toThrow(/inputIds\[1\]\[1\] is -3/);
    await expect(bad({ truncated: [false] })).rejects.toThrow(/truncated must be an array of 4 booleans/);
    await expect(bad({ ids: ['a'] as never })).rejects.toThrow(/ids must be an array of 4 strings/);
    const other = encodeChains(xs, { format: 'skywork', tokenizer: prm.tokenizer });
    await expect(prm.scoreEncoded(other)).rejects.toThrow(/encoded.format is 'skywork', but this model reads 'math-shepherd'/);
    // options: the same checks and messages as score
    for (const o of [{ aggregate: 'max' as 'min' }, { errorThreshold: 2 }, 'x' as never]) {
      const a = await prm.score(xs, o).catch((e: Error) => e);
      const b = await prm.scoreEncoded(good, o).catch((e: Error) => e);
      expect(b).toBeInstanceOf(a.constructor);
      expect(b.message).toBe(a.message);
    }
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(prm.scoreEncoded(good, { signal: ac.signal })).rejects.toThrow(/stop now/);
    expect(() => prm.encode(xs, { deferContext: 'yes' as never })).toThrow(/deferContext must be true or false, got "yes" \(string\)/);
    expect(() => prm.encode('x' as never)).toThrow(/items must be an array/);
    expect(prm.stats.calls).toBe(chunks);
  });

  it('a closed Prm refuses encodings too', async () => {
    const p = await Prm.load({ model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd', workers: { threads: 1 } });
    const enc = p.encode(chains(2, 1));
    await p.close();
    await expect(p.scoreEncoded(enc)).rejects.toThrow(/is closed/);
  });
});
