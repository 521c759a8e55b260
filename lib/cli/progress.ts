// A progress bar on stderr: redrawn in place on a terminal, a plain line every few seconds
// when stderr is a file or pipe (so logs stay readable).
import type { Writable } from 'node:stream';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export class Progress {
  readonly #stream: Writable & { isTTY?: boolean; columns?: number };
  readonly #total: number | undefined;
  readonly #label: string;
  readonly #t0 = performance.now();
  #done = 0;
  #lastDraw = 0;

  constructor(stream: Writable & { isTTY?: boolean; columns?: number }, total: number | undefined, label = 'scored') {
    this.#stream = stream;
    this.#total = total;
    this.#label = label;
  }

  get done(): number {
    return this.#done;
  }

  advance(n: number): void {
    this.#done += n;
    const now = performance.now();
    const every = this.#stream.isTTY ? 100 : 2000;
    if (now - this.#lastDraw >= every) this.#draw(now);
  }

  line(now = performance.now()): string {
    const secs = (now - this.#t0) / 1000;
    const rate = secs > 0 ? this.#done / secs : 0;
    const stats = `${this.#done}${this.#total !== undefined ? `/${this.#total}` : ''} ${this.#label}  ${rate.toFixed(1)}/s  ${duration(secs)}`;
    if (this.#total === undefined || this.#total === 0) return stats;
    const frac = Math.min(1, this.#done / this.#total);
    const width = 24;
    const full = Math.round(frac * width);
    const eta = rate > 0 ? (this.#total - this.#done) / rate : Infinity;
    return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${(frac * 100).toFixed(1)}%  ${stats}  eta ${duration(eta)}`;
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    if (this.#stream.isTTY) this.#stream.write(`\r${this.line(now)}\x1b[K`);
    else this.#stream.write(`${this.line(now)}\n`);
  }

  /** Final state, ending the in-place line. */
  finish(): void {
    this.#draw(performance.now());
    if (this.#stream.isTTY) this.#stream.write('\n');
  }
}
