// A progress bar on stderr, shown only when asked for (by default: when stderr is a terminal).
// On a terminal it is redrawn in place; elsewhere it is a plain line every few seconds. Other
// messages go through `note`, which clears the bar first, so no line is ever glued onto it.
import type { Writable } from 'node:stream';
import { write } from './io.js';

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

type Stderr = Writable & { isTTY?: boolean; columns?: number };

export class Progress {
  readonly #stream: Stderr;
  readonly #enabled: boolean;
  #total: number | undefined;
  readonly #label: string;
  readonly #t0 = performance.now();
  #done = 0;
  #lastDraw = -Infinity;
  /** A bar is on the terminal's current line (not yet ended by a newline). */
  #open = false;

  constructor(stream: Stderr, options: { enabled: boolean; total?: number; label?: string }) {
    this.#stream = stream;
    this.#enabled = options.enabled;
    this.#total = options.total;
    this.#label = options.label ?? 'scored';
  }

  get done(): number {
    return this.#done;
  }

  set total(n: number | undefined) {
    this.#total = n;
  }

  /** Sets the count (for callers that report totals rather than increments). */
  update(done: number): void {
    this.advance(done - this.#done);
  }

  advance(n: number): void {
    this.#done += n;
    if (!this.#enabled) return;
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
    if (this.#stream.isTTY) {
      this.#stream.write(`\r${this.line(now)}\x1b[K`);
      this.#open = true;
    } else this.#stream.write(`${this.line(now)}\n`);
  }

  #clear(): void {
    if (!this.#open) return;
    this.#stream.write('\r\x1b[K');
    this.#open = false;
  }

  /** A message line on stderr, never on the bar's line. */
  async note(text: string): Promise<void> {
    this.#clear();
    await write(this.#stream, text.endsWith('\n') ? text : text + '\n');
  }

  /** Final state, ending the in-place line; nothing when disabled. */
  finish(): void {
    if (!this.#enabled) return;
    this.#draw(performance.now());
    if (this.#stream.isTTY) {
      this.#stream.write('\n');
      this.#open = false;
    }
  }
}
