// The search takes step probabilities to log space in one place (lib/batch/log-space.ts); the
// service gets the backbone's step log-probabilities as they are. Both agree on what every
// aggregation of the same chain is, and both are checked against the definitions computed
// directly in double precision.
import { describe, expect, it } from 'vitest';
import { toLogSpace } from '../../lib/batch/index.js';
import { AGGREGATIONS } from '../../lib/kernels/index.js';
import type { Aggregation } from '../../lib/kernels/index.js';
import { aggregateChains } from '../../lib/search/engine/aggregate.js';
import { mulberry32 } from '../../lib/random.js';
import { summarize } from '../../lib/server/summarize.js';

const direct: Record<Aggregation, (p: number[]) => number> = {
  prod: (p) => p.reduce((a, x) => a * x, 1),
  min: (p) => Math.min(...p),
  last: (p) => p[p.length - 1],
  mean: (p) => p.reduce((a, x) => a + x, 0) / p.length,
  geomean: (p) => Math.exp(p.reduce((a, x) => a + Math.log(x), 0) / p.length),
};

describe('step probabilities in log space', () => {
  it('toLogSpace lays chains out as CSR', () => {
    const { logs, offsets } = toLogSpace([[0.5, 0.25], [], Float32Array.of(1)]);
    expect(Array.from(offsets)).toEqual([0, 2, 2, 3]);
    expect(Array.from(logs)).toEqual([Math.fround(Math.log(0.5)), Math.fround(Math.log(0.25)), 0]);
  });

  it('search and service give the same aggregates, equal to the definitions', () => {
    const u = mulberry32(7);
    const chains = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 7) }, () => 0.02 + 0.97 * u()));
    const served = summarize(chains.map((p) => p.map(Math.log)), 'prod', 0.5);
    for (const how of AGGREGATIONS) {
      const searched = aggregateChains(chains, how);
      chains.forEach((p, i) => {
        // the service reduces on the native backend and the search on js: the same to float32 rounding
        expect(searched[i]).toBeCloseTo(served[i].aggregates[how], 6);
        expect(searched[i]).toBeCloseTo(direct[how](p), 5);
        // the answer's step probabilities are the logs taken back, once
        served[i].stepProbs.forEach((q, k) => expect(q).toBeCloseTo(p[k]!, 12));
      });
    }
  });

  it('an empty chain aggregates to NaN in both', () => {
    for (const how of AGGREGATIONS) {
      expect(aggregateChains([[]], how)[0]).toBeNaN();
      expect(summarize([[]], how, 0.5)[0].score).toBeNaN();
    }
  });
});
