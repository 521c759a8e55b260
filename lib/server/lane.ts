import { positiveInt } from '../is.js';

/**
 * Slots on the model shared by every batcher of one server (score and /pooling), so the
 * two routes never run more batches at once than the model is sized for.
 */
export class Lane {
  readonly capacity: number;
  #active = 0;
  #waiters: Array<() => void> = [];

  constructor(capacity: number) {
    this.capacity = positiveInt(capacity, 'lane capacity');
  }

  get active(): number {
    return this.#active;
  }

  tryAcquire(): boolean {
    if (this.#active >= this.capacity) return false;
    this.#active++;
    return true;
  }

  release(): void {
    this.#active--;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Call `fn` once at the next release. */
  onFree(fn: () => void): void {
    if (!this.#waiters.includes(fn)) this.#waiters.push(fn);
  }
}
