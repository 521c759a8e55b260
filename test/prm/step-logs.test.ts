// The log-probabilities-only path: prm.stepLogsEncoded gives exactly the step numbers that
// prm.scoreEncoded reduces (log P per step; an implicit PRM's per-step log-ratios, its 'step'
// rewards at beta 1), with the same tokens, truncation and ids, and none of the reductions.
// The service's chain scorer takes this path: its batches, and the answers of its routes,
// are identical to those of a scorer that maps scoreEncoded's results as the service did
// before. Its option errors come before any work.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { convert } from '../../lib/convert/index.js';
import { pickRows, Prm } from '../../lib/prm/index.js';
import type { PrmEncoding } from '../../lib/prm/index.js';
import { createServer, prmServerModel } from '../../lib/server/index.js';
import type { PrmServer, ServerModel } from '../../lib/server/index.js';
import { createTinyCheckpoint } from '../../lib/testing/tiny-checkpoint.js';
import { postJson } from '../server/http.js';
import { chains, cleanup, tempDir, tiny } from './helpers.js';

let prm: Prm; // overflow 'error'
let cut: Prm; // overflow 'truncate', maxContext 48
let implicit: Prm;

const long = { problem: 'long', steps: Array.from({ length: 10 }, (_, k) => `step number ${k} is here, and it is long enough`), id: 'long' };

function items(n: number, seed: number) {
  const xs: Array<{ problem: string; steps: string[]; id?: string }> = chains(n, seed).map((c, i) => (i % 3 === 0 ? { ...c, id: `c${i}` } : c));
  xs.push({ problem: 'nothing yet', steps: [], id: 'empty' });
  return xs;
}

beforeAll(async () => {
  const model = await tiny({ layers: 2, hidden: 32, seed: 13, output: 'hidden', maxPositions: 256 });
  const base = { model: model.model, tokenizer: model.tokenizer, head: model.head, format: 'math-shepherd' as const, workers: { threads: 1 } };
  const root = tempDir();
  createTinyCheckpoint({ dir: join(root, 'p'), format: 'eurus-prm', seed: 3, hidden: 32, layers: 2, heads: 2 });
  createTinyCheckpoint({ dir: join(root, 'r'), format: 'eurus-prm', seed: 4, hidden: 32, layers: 2, heads: 2 });
  await convert({ input: join(root, 'p'), reference: join(root, 'r'), output: join(root, 'out') });
  [prm, cut, implicit] = await Promise.all([
    Prm.load(base),
    Prm.load({ ...base, overflow: 'truncate', maxContext: 48 }),
    Prm.load({ model: join(root, 'out'), workers: { threads: 1 } }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([prm, cut, implicit].map((p) => p?.close()));
  cleanup();
});

/** What the service's scorer answered before it had its own path: scoreEncoded's results, mapped. */
async function viaScoreEncoded(model: Prm, enc: PrmEncoding) {
  if (model.implicit) {
    const s = await model.scoreEncoded(enc, { beta: 1, rewards: 'step' });
    return s.map((r) => ({ stepLogProbs: [], stepLogRatios: r.stepRewards!, tokens: r.tokens, truncated: r.truncated, ...(r.id !== undefined ? { id: r.id } : {}) }));
  }
  const s = await model.scoreEncoded(enc);
  return s.map((r) => ({ stepLogProbs: r.stepLogProbs, tokens: r.tokens, truncated: r.truncated, ...(r.id !== undefined ? { id: r.id } : {}) }));
}

describe('prm.stepLogsEncoded', () => {
  it('gives exactly the step log-probabilities, tokens, truncation and ids that scoreEncoded reduces', async () => {
    const xs = items(9, 5);
    const enc = prm.encode(xs);
    const logs = await prm.stepLogsEncoded(enc);
    expect(logs).toEqual(await viaScoreEncoded(prm, enc));
    expect(logs.map((r) => r.id)).toEqual(xs.map((x) => x.id));
    expect(logs.every((r) => !('score' in r) && !('firstError' in r) && !('stepProbs' in r) && r.stepLogRatios === undefined)).toBe(true);
    expect(logs.at(-1)!.stepLogProbs).toEqual([]);
    expect(logs.slice(0, -1).every((r) => r.stepLogProbs.length > 0 && r.stepLogProbs.every((v) => v <= 0))).toBe(true);
  });

  it('applies the model\'s overflow policy as scoreEncoded does (a deferred encoding, truncated)', async () => {
    const xs = [...items(3, 6), long];
    const enc = cut.encode(xs, { deferContext: true });
    const logs = await cut.stepLogsEncoded(enc);
    expect(logs).toEqual(await viaScoreEncoded(cut, enc));
    expect(logs.at(-1)!.truncated).toBe(true);
    expect(logs.at(-1)!.stepLogProbs.length).toBeLessThan(long.steps.length);
    expect(logs.at(-1)!.tokens).toBeLessThanOrEqual(48);
  });

  it('an implicit PRM: its unscaled per-step log-ratios, and no probabilities', async () => {
    const xs = items(6, 8);
    const enc = implicit.encode(xs);
    const logs = await implicit.stepLogsEncoded(enc);
    expect(logs).toEqual(await viaScoreEncoded(implicit, enc));
    // at the model's own beta, the cumulative rewards are beta times the running sums
    const scored = await implicit.score(xs, { rewards: 'cumulative' });
    logs.forEach((r, i) => {
      expect(r.stepLogProbs).toEqual([]);
      let q = 0;
      r.stepLogRatios!.forEach((v, k) => expect(scored[i]!.stepRewards![k]).toBe(implicit.implicit!.beta * (q += v)));
    });
  });

  it('refuses unknown options and a signal that is not one before any work, and honours an aborted one', async () => {
    const enc = prm.encode(items(2, 9));
    await expect(prm.stepLogsEncoded(enc, { aggregate: 'min' } as never)).rejects.toThrow(/options\.aggregate is not an option/);
    await expect(prm.stepLogsEncoded(enc, { signal: 'stop' } as never)).rejects.toThrow(TypeError);
    await expect(prm.stepLogsEncoded(enc, 'fast' as never)).rejects.toThrow(/options must be an object/);
    await expect(prm.stepLogsEncoded({ ...enc, inputIds: enc.inputIds.slice(1) })).rejects.toThrow();
    await expect(prm.stepLogsEncoded(enc, { signal: AbortSignal.abort() })).rejects.toThrow();
  });
});

describe("the service's chain scorer", () => {
  /** The scorer as it was: chains scored through scoreEncoded, its reductions dropped. */
  function beforeModel(model: Prm): ServerModel {
    const m = prmServerModel(model);
    return {
      ...m,
      chains: {
        ...m.chains,
        score: async (cs) => (await viaScoreEncoded(model, pickRows(cs as never, model.format))).map(({ id: _id, ...r }) => r),
      },
    };
  }

  it('hands the batcher what scoreEncoded gave it', async () => {
    for (const model of [prm, cut, implicit]) {
      const m = prmServerModel(model);
      // a chain over the context is scored cut only where the model truncates
      const cs = [...m.chains.encode(items(4, 10)), ...(model.overflow === 'truncate' ? m.chains.encode([long]) : [])];
      expect(await m.chains.score(cs)).toEqual(await beforeModel(model).chains.score(cs));
    }
  });

  it('answers every scoring route as before, to the bit', async () => {
    const servers: PrmServer[] = [];
    try {
      const serve = async (model: ServerModel) => {
        const s = createServer({ model, closeModel: false, batching: { maxWaitMs: 1 } });
        servers.push(s);
        return (await s.listen({ port: 0 })).url;
      };
      const xs = items(5, 12);
      const requests: Array<[string, object]> = [
        ['/v1/prm/score', { items: xs, aggregate: 'min', errorThreshold: 0.4 }],
        ['/v1/prm/rerank', { problem: 'what is 2 + 2?', candidates: [['2 + 2 = 4.'], ['2 + 2 = 5.', 'So 5.'], ['It is 4.', 'The answer is 4.']] }],
        ['/v1/rerank', { query: 'what is 2 + 2?', documents: ['2 + 2 = 4.', '2 + 2 = 5.\nSo 5.'] }],
        ['/score', { queries: 'what is 2 + 2?', documents: ['2 + 2 = 4.', 'It is 5.'] }],
      ];
      for (const model of [prm, implicit]) {
        const [now, then] = await Promise.all([serve(prmServerModel(model)), serve(beforeModel(model))]);
        for (const [path, body] of requests) {
          if (model.implicit && path === '/v1/prm/score') continue; // errorThreshold is refused for rewards
          const [a, b] = await Promise.all([postJson(now, path, body), postJson(then, path, body)]);
          expect(a.status, `${path} ${JSON.stringify(a.body)}`).toBe(200);
          expect(b.status, path).toBe(200);
          expect(a.body.results ?? a.body.data, path).toEqual(b.body.results ?? b.body.data);
          expect(a.body.results ?? a.body.data, path).toBeDefined();
        }
      }
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
