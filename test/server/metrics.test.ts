import { describe, expect, it } from 'vitest';
import { Counter, Gauge, Histogram, ServerMetrics } from '../../lib/server/metrics.js';

describe('Prometheus text', () => {
  it('renders counters with escaped labels', () => {
    const c = new Counter('x_total', 'Things.');
    expect(c.render()).toBe('# HELP x_total Things.\n# TYPE x_total counter\nx_total 0\n');
    c.inc({ route: '/a"b\\c' });
    c.inc({ route: '/a"b\\c' }, 2);
    expect(c.get({ route: '/a"b\\c' })).toBe(3);
    expect(c.render()).toContain('x_total{route="/a\\"b\\\\c"} 3\n');
  });

  it('renders histograms with cumulative buckets, +Inf, sum and count', () => {
    const h = new Histogram('lat_seconds', 'Latency.', [0.1, 1, 0.5]);
    for (const v of [0.05, 0.3, 0.3, 0.7, 5]) h.observe(v, { route: 'r' });
    const text = h.render();
    expect(text).toContain('lat_seconds_bucket{route="r",le="0.1"} 1\n');
    expect(text).toContain('lat_seconds_bucket{route="r",le="0.5"} 3\n');
    expect(text).toContain('lat_seconds_bucket{route="r",le="1"} 4\n');
    expect(text).toContain('lat_seconds_bucket{route="r",le="+Inf"} 5\n');
    expect(text).toContain('lat_seconds_sum{route="r"} 6.35\n');
    expect(text).toContain('lat_seconds_count{route="r"} 5\n');
    expect(h.count({ route: 'r' })).toBe(5);
  });

  it('reads gauges at scrape time', () => {
    let depth = 2;
    const g = new Gauge('q', 'Queue.', () => depth);
    expect(g.render()).toContain('q 2\n');
    depth = 7;
    expect(g.render()).toContain('q 7\n');
  });

  it('exposes the service metrics, every sample line well formed', () => {
    const m = new ServerMetrics({ queuedRequests: () => 3, queuedTokens: () => 99, inFlightRequests: () => 1 });
    m.recordBatch({ items: 4, tokens: 500, seconds: 0.02, ok: true });
    m.recordBatch({ items: 2, tokens: 100, seconds: 0.01, ok: false });
    const text = m.render();
    m.close();
    for (const line of text.trim().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? (-?[0-9.e+-]+|NaN|\+Inf))$/);
    }
    expect(text).toContain('prmkit_queue_depth 3\n');
    expect(text).toContain('prmkit_queue_tokens 99\n');
    expect(text).toContain('prmkit_inflight_requests 1\n');
    expect(text).toContain('prmkit_backbone_tokens_total 500\n'); // failed batches do not count
    expect(text).toContain('prmkit_batch_errors_total 1\n');
    expect(text).toContain('prmkit_batch_size_count 2\n');
    expect(text).toMatch(/process_resident_memory_bytes \d+/);
  });

  it("a server's /metrics carries the settings it runs with", async () => {
    const { createServer } = await import('../../lib/server/index.js');
    const { FakeModel } = await import('./fake-model.js');
    const s = createServer({ model: new FakeModel(), batching: { maxWaitMs: 7, maxQueueRequests: 9 }, requestTimeoutMs: 4321, maxConnections: 17 });
    try {
      const text = await s.app.inject({ method: 'GET', url: '/metrics' }).then((r) => r.body);
      expect(text).toContain('prmkit_setting{name="maxWaitMs"} 7\n');
      expect(text).toContain('prmkit_setting{name="maxQueueRequests"} 9\n');
      expect(text).toContain('prmkit_setting{name="requestTimeoutMs"} 4321\n');
      expect(text).toContain('prmkit_setting{name="maxConnections"} 17\n');
      expect(text).toContain('prmkit_setting{name="maxBodyBytes"} 4194304\n');
    } finally {
      await s.close();
    }
  });
});
