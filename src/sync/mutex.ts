import type { Future } from "../future/future.js";
import { WakerContractError } from "../task/errors.js";
import * as SemaphoreModule from "./semaphore.js";
import { type AcquireKind, Semaphore } from "./semaphore.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const { makeAcquire } = SemaphoreModule;

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
  /** @internal One permit: the lock. */
  readonly semaphore = new Semaphore(1);
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
   *
   * Single use: once a `yield*` of the future has completed, the mutex may return the same object
   * from a later `lock` (see `Semaphore.acquire`): do not keep it to poll or drop after that
   * `yield*`. The guard is never reused.
   */
  lock(): Future<MutexGuard<T>> {
    return makeAcquire(this.semaphore, 1, this as Mutex<unknown>, LOCK) as unknown as Future<
      MutexGuard<T>
    >;
  }

  /** The guard if the lock is free and no one is queued; `undefined` otherwise. */
  tryLock(): MutexGuard<T> | undefined {
    return this.semaphore.takeNow(1) ? new MutexGuard(this) : undefined;
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
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare private released: boolean;
  declare private readonly mutex: Mutex<T>;

  /** @internal */
  constructor(mutex: Mutex<T>) {
    this.released = false;
    this.mutex = mutex;
  }

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
    if (this.released === true) return;
    this.released = true;
    this.mutex.semaphore.release(1);
  }

  [Symbol.dispose](): void {
    this.release();
  }

  private check(): void {
    if (this.released === true) throw new WakerContractError("MutexGuard used after release()");
  }
}

/** The guard class through a const, for the contended lock's path: see "Hot imports" on Future. */
const GuardClass = MutexGuard;

/** `Mutex.lock`: a guard of the mutex. */
const LOCK: AcquireKind<MutexGuard<unknown>, Mutex<unknown>> = {
  grant: (mutex) => new GuardClass(mutex),
  label: () => "Mutex.lock",
};
