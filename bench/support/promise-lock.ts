/**
 * The native baselines for the contention workloads: a counting semaphore and a mutex on
 * promises, written the way they are written with async/await. `acquire`/`lock` return a promise
 * that resolves when the caller holds the permit (at once when one is free and nobody waits);
 * `release`/`unlock` hands the permit straight to the oldest waiter (FIFO, no barging), whose
 * resolve function is kept in an array.
 */

/** The promise every acquire that needs no wait returns (awaiting it still takes one microtask). */
const ACQUIRED: Promise<void> = Promise.resolve();

/**
 * A FIFO counting semaphore on promises.
 *
 * @example
 * ```ts
 * const sem = new PromiseSemaphore(10);
 * await sem.acquire();
 * try { await download(url); } finally { sem.release(); }
 * ```
 */
export class PromiseSemaphore {
  private available: number;
  private readonly waiters: (() => void)[] = [];

  /** @throws {RangeError} when `permits` is not a non-negative integer. */
  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 0) {
      throw new RangeError(`PromiseSemaphore: permits must be an integer >= 0, got ${permits}`);
    }
    this.available = permits;
  }

  /** Resolves once the caller holds one permit. */
  acquire(): Promise<void> {
    if (this.available > 0 && this.waiters.length === 0) {
      this.available--;
      return ACQUIRED;
    }
    return new Promise<void>((resolve) => {
      this.waiters.push(resolve);
    });
  }

  /** Returns one permit: the oldest waiter gets it, else it becomes available. */
  release(): void {
    const next = this.waiters.shift();
    if (next !== undefined) next();
    else this.available++;
  }
}

/**
 * A FIFO mutex on promises (a semaphore with one permit).
 *
 * @example
 * ```ts
 * const mutex = new PromiseMutex();
 * await mutex.lock();
 * try { state = await update(state); } finally { mutex.unlock(); }
 * ```
 */
export class PromiseMutex {
  private readonly semaphore = new PromiseSemaphore(1);

  /** Resolves once the caller holds the lock. */
  lock(): Promise<void> {
    return this.semaphore.acquire();
  }

  /** Releases the lock; the oldest waiter gets it. */
  unlock(): void {
    this.semaphore.release();
  }
}
