// Prometheus text exposition (format 0.0.4) for the service, written by hand: a handful of
// counters, gauges and histograms do not need a client library.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { kernelBackendInfo } from '../kernels/backend.js';

type Labels = Record<string, string>;

function labelKey(labels: Labels): string {
  const keys = Object.keys(labels).sort();
  return keys.map((k) => `${k}="${escapeLabel(labels[k]!)}"`).join(',');
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

interface Metric {
  readonly name: string;
  render(): string;
}

export class Counter implements Metric {
  #values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    const k = labelKey(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + by);
  }

  get(labels: Labels = {}): number {
    return this.#values.get(labelKey(labels)) ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`;
    if (this.#values.size === 0) out += `${this.name} 0\n`;
    for (const [k, v] of this.#values) out += `${this.name}${k ? `{${k}}` : ''} ${fmt(v)}\n`;
    return out;
  }
}

/** A gauge read at scrape time. */
export class Gauge implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => Array<[Labels, number]> | number,
  ) {}

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`;
    const v = this.read();
    const rows: Array<[Labels, number]> = typeof v === 'number' ? [[{}, v]] : v;
    for (const [labels, value] of rows) {
      const k = labelKey(labels);
      out += `${this.name}${k ? `{${k}}` : ''} ${fmt(value)}\n`;
    }
    return out;
  }
}

/** A counter kept elsewhere (a model's cache), read at scrape time. */
export class ReadCounter implements Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly read: () => number,
  ) {}

  render(): string {
    return `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n${this.name} ${fmt(this.read())}\n`;
  }
}

/** What the metrics read of a model's prefix cache (all zero without one). */
export interface PrefixCacheProbe {
  stats(): { hits: number; misses: number; evictions: number; reusedTokens: number; entries: number; bytes: number; maxBytes: number };
}

function prefixCacheMetrics(cache: PrefixCacheProbe | undefined): Metric[] {
  const zero = { hits: 0, misses: 0, evictions: 0, reusedTokens: 0, entries: 0, bytes: 0, maxBytes: 0 };
  const read = () => cache?.stats() ?? zero;
  return [
    new ReadCounter('prmkit_prefix_cache_hits_total', 'Chains that continued the keys/values of a prefix scored in an earlier batch.', () => read().hits),
    new ReadCounter('prmkit_prefix_cache_misses_total', 'Chains looked up in the prefix cache that found no prefix worth continuing.', () => read().misses),
    new ReadCounter('prmkit_prefix_cache_evictions_total', 'Prefix cache entries dropped to stay within its bytes (or whose keys/values the backbone evicted).', () => read().evictions),
    new ReadCounter('prmkit_prefix_cache_reused_tokens_total', 'Backbone tokens not run because a cached prefix covered them.', () => read().reusedTokens),
    new Gauge('prmkit_prefix_cache_entries', 'Chains held by the prefix cache.', () => read().entries),
    new Gauge('prmkit_prefix_cache_bytes', 'Keys/values held by the prefix cache.', () => read().bytes),
    new Gauge('prmkit_prefix_cache_max_bytes', 'The prefix cache bound (0: no prefix cache).', () => read().maxBytes),
  ];
}

interface Series {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram implements Metric {
  #series = new Map<string, Series>();
  readonly buckets: readonly number[];

  constructor(readonly name: string, readonly help: string, buckets: readonly number[]) {
    this.buckets = [...buckets].sort((a, b) => a - b);
  }

  observe(value: number, labels: Labels = {}): void {
    const k = labelKey(labels);
    let s = this.#series.get(k);
    if (!s) {
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    // counts are per bucket here and made cumulative when rendered
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  count(labels: Labels = {}): number {
    return this.#series.get(labelKey(labels))?.count ?? 0;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`;
    for (const [k, s] of this.#series) {
      const sep = k ? `${k},` : '';
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += s.counts[i]!;
        out += `${this.name}_bucket{${sep}le="${fmt(b)}"} ${acc}\n`;
      });
      out += `${this.name}_bucket{${sep}le="+Inf"} ${s.count}\n`;
      out += `${this.name}_sum${k ? `{${k}}` : ''} ${fmt(s.sum)}\n`;
      out += `${this.name}_count${k ? `{${k}}` : ''} ${s.count}\n`;
    }
    return out;
  }
}

export interface QueueProbe {
  queuedRequests(): number;
  queuedTokens(): number;
  inFlightRequests(): number;
}

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
const TOKEN_BUCKETS = [64, 256, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** The service's metrics; one instance per server. */
export class ServerMetrics {
  readonly requests = new Counter('prmkit_http_requests_total', 'HTTP requests answered, by route and status code.');
  readonly latency = new Histogram('prmkit_http_request_duration_seconds', 'HTTP request latency, by route.', LATENCY_BUCKETS);
  readonly rejected = new Counter('prmkit_rejected_requests_total', 'Requests refused or dropped before an answer, by reason.');
  readonly batchItems = new Histogram('prmkit_batch_size', 'Chains (or /pooling inputs) per model batch.', SIZE_BUCKETS);
  readonly batchTokens = new Histogram('prmkit_batch_tokens', 'Backbone tokens per model batch.', TOKEN_BUCKETS);
  readonly batchSeconds = new Histogram('prmkit_batch_duration_seconds', 'Model time per batch.', LATENCY_BUCKETS);
  readonly batchErrors = new Counter('prmkit_batch_errors_total', 'Model batches that failed.');
  readonly backboneTokens = new Counter('prmkit_backbone_tokens_total', 'Tokens run through the backbone.');
  readonly chains = new Counter('prmkit_chains_scored_total', 'Chains scored (or /pooling inputs classified).');
  readonly #loopDelay: IntervalHistogram;
  readonly #metrics: Metric[];

  /**
   * `settings` are exported as `prmkit_setting{name="..."}`: what a server runs with (batch
   * wait, queue bounds, limits), readable by anyone who reports its figures.
   */
  constructor(queue: QueueProbe, settings: Readonly<Record<string, number>> = {}, prefixCache?: PrefixCacheProbe) {
    const resolutionMs = 10;
    this.#loopDelay = monitorEventLoopDelay({ resolution: resolutionMs });
    this.#loopDelay.enable();
    const loop = this.#loopDelay;
    // the histogram holds the time between its timer's ticks; the delay is what exceeds the period
    const loopSeconds = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e9 - resolutionMs / 1e3) : 0);
    this.#metrics = [
      this.requests,
      this.latency,
      this.rejected,
      this.batchItems,
      this.batchTokens,
      this.batchSeconds,
      this.batchErrors,
      this.backboneTokens,
      this.chains,
      new Gauge('prmkit_queue_depth', 'Requests waiting for a batch.', () => queue.queuedRequests()),
      new Gauge('prmkit_queue_tokens', 'Backbone tokens waiting for a batch.', () => queue.queuedTokens()),
      new Gauge('prmkit_inflight_requests', 'Requests being handled.', () => queue.inFlightRequests()),
      new Gauge('prmkit_event_loop_delay_seconds', 'Event-loop delay (beyond a 10 ms timer period) since start, by quantile; quantile 1 is the max.', () => [
        [{ quantile: '0.5' }, loopSeconds(loop.percentile(50))],
        [{ quantile: '0.99' }, loopSeconds(loop.percentile(99))],
        [{ quantile: '1' }, loopSeconds(loop.max)],
      ]),
      new Gauge('prmkit_kernel_backend_info', 'The step-scoring kernels in use (always 1; the labels say which).', () => {
        const k = kernelBackendInfo();
        return [[{ backend: k.backend, source: k.source ?? 'none', simd: k.simd }, 1]];
      }),
      new Gauge('prmkit_setting', 'The settings this server runs with (batching, queue, limits, timeouts), by name.', () =>
        Object.entries(settings).map(([name, v]): [Labels, number] => [{ name }, v]),
      ),
      new Gauge('process_resident_memory_bytes', 'Resident memory of the server process.', () => process.memoryUsage.rss()),
      new Gauge('nodejs_heap_used_bytes', 'V8 heap in use.', () => process.memoryUsage().heapUsed),
      // backbone outputs arrive as ArrayBuffers: outside the heap, freed only by a GC
      new Gauge('nodejs_external_memory_bytes', 'Memory of ArrayBuffers and other objects outside the V8 heap.', () => process.memoryUsage().external),
      ...prefixCacheMetrics(prefixCache),
    ];
  }

  recordBatch(report: { items: number; tokens: number; seconds: number; ok: boolean }): void {
    this.batchItems.observe(report.items);
    this.batchTokens.observe(report.tokens);
    this.batchSeconds.observe(report.seconds);
    if (report.ok) {
      this.backboneTokens.inc({}, report.tokens);
      this.chains.inc({}, report.items);
    } else {
      this.batchErrors.inc();
    }
  }

  render(): string {
    return this.#metrics.map((m) => m.render()).join('');
  }

  close(): void {
    this.#loopDelay.disable();
  }
}
