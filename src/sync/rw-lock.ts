import type { Future } from "../future/future.js";
import { WakerContractError } from "../task/errors.js";
import { type AcquireKind, makeAcquire, Semaphore, SemaphorePermit } from "./semaphore.js";

/** Readers allowed at once; a writer takes all of them. */
const MAX_READERS = 2 ** 30;

/**
 * An async reader-writer lock (tokio's `RwLock`): many readers or one writer. Built on a FIFO
 * semaphore of 2^30 permits (a read takes one, a write takes all), so requests are served in
 * arrival order: a queued writer holds back readers that come after it (writer-preferring), and
 * readers queued before a writer are never starved by later writers.
 *
 * @example
 * ```ts
 * const config = new RwLock({ port: 25 });
 * const port = (yield* config.read()).value.port;
 * using w = yield* config.write();
 * w.value = { port: 587 };
 * ```
 */
export class RwLock<T> {
  /** @internal */
  readonly semaphore = new Semaphore(MAX_READERS);
  /** @internal */
  data: T;

  constructor(value: T) {
    this.data = value;
  }

  /**
   * A future of a read guard.
   *
   * Cancel safety: dropping a pending `read()` holds nothing and keeps the others' order.
   *
   * Single use: once a `yield*` of the future has completed, the lock may return the same object
   * from a later `read` or `write` (see `Semaphore.acquire`): do not keep it to poll or drop
   * after that `yield*`. The guard is never reused.
   */
  read(): Future<RwLockGuard<T>> {
    return makeAcquire(this.semaphore, 1, this as RwLock<unknown>, READ) as unknown as Future<
      RwLockGuard<T>
    >;
  }

  /**
   * A future of the write guard.
   *
   * Cancel safety: dropping a pending `write()` holds nothing and keeps the others' order.
   *
   * Single use: as `read()`.
   */
  write(): Future<RwLockGuard<T>> {
    return makeAcquire(
      this.semaphore,
      MAX_READERS,
      this as RwLock<unknown>,
      WRITE,
    ) as unknown as Future<RwLockGuard<T>>;
  }

  /** A read guard if no writer holds or awaits the lock; `undefined` otherwise. */
  tryRead(): RwLockGuard<T> | undefined {
    const permit = this.semaphore.tryAcquire(1);
    return permit && new RwLockGuard(this, permit, false);
  }

  /** The write guard if the lock is free and no one is queued; `undefined` otherwise. */
  tryWrite(): RwLockGuard<T> | undefined {
    const permit = this.semaphore.tryAcquire(MAX_READERS);
    return permit && new RwLockGuard(this, permit, true);
  }
}

/**
 * Access to an {@link RwLock}'s value while a read or the write lock is held. Assigning `value`
 * needs the write lock.
 *
 * @example
 * ```ts
 * using guard = yield* lock.read();
 * console.log(guard.value);
 * ```
 */
export class RwLockGuard<T> {
  private released = false;

  /** @internal */
  constructor(
    private readonly lock: RwLock<T>,
    private readonly permit: SemaphorePermit,
    /** True for the write guard. */
    readonly writable: boolean,
  ) {}

  /**
   * The protected value.
   *
   * @throws {WakerContractError} after `release()`, or when assigning through a read guard.
   */
  get value(): T {
    this.check();
    return this.lock.data;
  }

  set value(next: T) {
    this.check();
    if (!this.writable) throw new WakerContractError("RwLock: assigning needs the write guard");
    this.lock.data = next;
  }

  /**
   * Turns the write guard into a read guard without letting a writer in between (tokio's
   * `downgrade`): readers queued first get in at once, a writer queued first keeps waiting (and
   * so holds back the readers behind it). This guard is spent; use the one returned.
   *
   * @example
   * ```ts
   * const w = yield* cache.write();
   * w.value = yield* load();
   * const r = w.downgrade(); // others may read now; no writer can change it meanwhile
   * ```
   * @throws {WakerContractError} for a read guard, or after `release()` or `downgrade()`.
   */
  downgrade(): RwLockGuard<T> {
    this.check();
    if (!this.writable) throw new WakerContractError("RwLock: downgrade needs the write guard");
    this.released = true;
    const others = this.permit.split(MAX_READERS - 1) as SemaphorePermit;
    const read = new RwLockGuard(this.lock, this.permit, false);
    others.release();
    return read;
  }

  /** Unlocks. Idempotent. */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.permit.release();
  }

  [Symbol.dispose](): void {
    this.release();
  }

  private check(): void {
    if (this.released) throw new WakerContractError("RwLock guard used after release()");
  }
}

/** What a granted `read()` makes: a read guard over the permit (see `AcquireKind`). */
const READ: AcquireKind<RwLockGuard<unknown>, RwLock<unknown>> = {
  grant: (lock, n) => new RwLockGuard(lock, new SemaphorePermit(lock.semaphore, n), false),
  label: () => "RwLock.read",
};

/** What a granted `write()` makes: the write guard over every permit. */
const WRITE: AcquireKind<RwLockGuard<unknown>, RwLock<unknown>> = {
  grant: (lock, n) => new RwLockGuard(lock, new SemaphorePermit(lock.semaphore, n), true),
  label: () => "RwLock.write",
};
