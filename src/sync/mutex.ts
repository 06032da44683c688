import type { Future } from "../future/future.js";
import { WakerContractError } from "../task/errors.js";
import { Semaphore, type SemaphorePermit } from "./semaphore.js";

/**
 * An async mutual-exclusion lock around a value (tokio's `Mutex`): `lock()` waits, in FIFO order,
 * until no one else holds the lock; the guard gives access to the value until it is released
 * (`release()` or `using`).
 *
 * @example
 * ```ts
 * const counter = new Mutex(0);
 * const bump = asyncFn(function* () {
 *   using guard = yield* counter.lock();
 *   guard.value += 1;
 * });
 * ```
 */
export class Mutex<T> {
  private readonly semaphore = new Semaphore(1);
  /** @internal */
  data: T;

  constructor(value: T) {
    this.data = value;
  }

  /**
   * A future of the lock's guard.
   *
   * Cancel safety: dropping a pending `lock()` leaves the queue order of the other waiters
   * intact and never holds the lock.
   */
  lock(): Future<MutexGuard<T>> {
    return this.semaphore.acquire(1).map((permit) => new MutexGuard(this, permit));
  }

  /** The guard if the lock is free and no one is queued; `undefined` otherwise. */
  tryLock(): MutexGuard<T> | undefined {
    const permit = this.semaphore.tryAcquire(1);
    return permit === undefined ? undefined : new MutexGuard(this, permit);
  }

  /** True while someone holds the lock. */
  isLocked(): boolean {
    return this.semaphore.availablePermits === 0;
  }
}

/**
 * Access to a {@link Mutex}'s value while the lock is held.
 *
 * @example
 * ```ts
 * const guard = yield* mutex.lock();
 * try { guard.value.push(item); } finally { guard.release(); }
 * ```
 */
export class MutexGuard<T> {
  private released = false;

  /** @internal */
  constructor(
    private readonly mutex: Mutex<T>,
    private readonly permit: SemaphorePermit,
  ) {}

  /**
   * The protected value.
   *
   * @throws {WakerContractError} after `release()`.
   */
  get value(): T {
    this.check();
    return this.mutex.data;
  }

  set value(next: T) {
    this.check();
    this.mutex.data = next;
  }

  /** Unlocks; the next waiter in line gets the lock. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.permit.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  private check(): void {
    if (this.released) throw new WakerContractError("MutexGuard used after release()");
  }
}
