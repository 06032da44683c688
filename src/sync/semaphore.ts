import {
  type Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
  SelfAwaitingFuture,
  yieldSteps,
} from "../future/future.js";
import * as Budget from "../runtime/budget.js";
import type { Context } from "../task/context.js";
import { OutOfRangeError, WakerContractError } from "../task/errors.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { SemaphoreClosed } from "./errors.js";
import * as WaitListModule from "./wait-list.js";
import { type Waiter, WaitList } from "./wait-list.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const { consumeBudget } = Budget;
const WaiterNode = WaitListModule.Waiter;
const { FRESH, finishYield, settleYield, startYield } = yieldSteps;

/** The most permits a semaphore can hold or a single acquire can ask for. */
const MAX_PERMITS = 2 ** 31 - 1;

function checkCount(n: unknown, where: string, allowZero: boolean): number {
  if (typeof n !== "number" || !Number.isInteger(n) || n < (allowZero ? 0 : 1) || n > MAX_PERMITS) {
    throw new OutOfRangeError(
      `${where}: expected an integer ${allowZero ? ">= 0" : ">= 1"} and <= ${MAX_PERMITS}, got ${typeof n === "number" ? n : `${typeof n} ${String(n)}`}`,
    );
  }
  return n;
}

/**
 * A counting semaphore with a FIFO queue (tokio's `Semaphore`): `acquire(n)` waits until `n`
 * permits can be taken. Waiters are served strictly in order, and released permits go to the
 * oldest waiter first (also partially), so a large request is never starved by small ones.
 *
 * @example
 * ```ts
 * const sem = new Semaphore(10); // at most 10 downloads at once
 * const download = asyncFn(function* (url: string) {
 *   using permit = yield* sem.acquire();
 *   return yield* fetchPage(url);
 * });
 * ```
 * @throws {OutOfRangeError} (a `RangeError`) when `permits` is not an integer in 0..2^31-1.
 */
export class Semaphore {
  /** The most permits a semaphore can hold or one acquire can ask for (2^31 - 1). */
  static readonly MAX_PERMITS = MAX_PERMITS;

  private available: number;
  private closed = false;
  /** @internal */
  readonly waiters = new WaitList();

  constructor(permits: number) {
    this.available = checkCount(permits, "Semaphore", true);
  }

  /** Permits that can be taken right now. */
  get availablePermits(): number {
    return this.available;
  }

  /** True after `close()`. */
  isClosed(): boolean {
    return this.closed;
  }

  /**
   * A future of `n` permits (default 1), released when the permit is released or disposed.
   *
   * @throws {SemaphoreClosed} when the semaphore is (or gets) closed.
   * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer in 1..2^31-1 (at the call).
   *
   * Cancel safety: dropping a pending acquire holds no permit: permits already assigned to it go
   * to the next waiter, and the others keep their places in the queue.
   */
  acquire(n = 1): Future<SemaphorePermit> {
    const count = checkCount(n, "Semaphore.acquire", false);
    return new Acquire(this, count, this, PERMIT) as unknown as Future<SemaphorePermit>;
  }

  /**
   * Takes `n` permits now if no one is queued before and enough are available; `undefined`
   * otherwise.
   *
   * @throws {SemaphoreClosed} when the semaphore is closed.
   */
  tryAcquire(n = 1): SemaphorePermit | undefined {
    checkCount(n, "Semaphore.tryAcquire", false);
    if (this.closed === true) throw new SemaphoreClosed("the semaphore is closed");
    if (this.waiters.length > 0 || this.available < n) return undefined;
    this.available -= n;
    return new SemaphorePermit(this, n);
  }

  /**
   * Adds `n` permits (waiters are served first).
   *
   * @throws {OutOfRangeError} (a `RangeError`) when the total would exceed 2^31-1.
   */
  addPermits(n: number): void {
    checkCount(n, "Semaphore.addPermits", true);
    if (this.available + n > MAX_PERMITS) {
      throw new OutOfRangeError(`Semaphore.addPermits: more than ${MAX_PERMITS} permits`);
    }
    this.release(n);
  }

  /** Closes the semaphore: every pending and later acquire throws {@link SemaphoreClosed}. */
  close(): void {
    if (this.closed === true) return;
    this.closed = true;
    this.waiters.wakeAll();
  }

  /** @internal Returns permits and hands them to the waiters in order. */
  release(n: number): void {
    this.available += n;
    for (;;) {
      const waiter = this.waiters.front();
      if (waiter === null || this.available === 0) return;
      // A comparison, not Math.min, which V8 (Node 20) compiles through floating point.
      const want = waiter.needed - waiter.assigned;
      // biome-ignore lint/complexity/useMathMinMax: see above.
      const give = this.available < want ? this.available : want;
      waiter.assigned += give;
      this.available -= give;
      if (waiter.assigned < waiter.needed) return;
      this.waiters.popFront();
      waiter.ready = true;
      waiter.wake();
    }
  }

  /** @internal Takes `n` permits at once if allowed (nobody queued, enough available). */
  takeNow(n: number): boolean {
    if (this.waiters.length > 0 || this.available < n) return false;
    this.available -= n;
    return true;
  }
}

/**
 * Permits taken from a {@link Semaphore}. `release()` (or `using`) gives them back; `forget()`
 * keeps them out of the semaphore for good.
 *
 * @example
 * ```ts
 * const permit = yield* sem.acquire(2);
 * try { yield* work(); } finally { permit.release(); }
 * ```
 */
export class SemaphorePermit {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare private released: boolean;
  declare private readonly semaphore: Semaphore;
  /** How many permits this holds. */
  declare readonly permits: number;

  /** @internal */
  constructor(semaphore: Semaphore, permits: number) {
    this.released = false;
    this.semaphore = semaphore;
    this.permits = permits;
  }

  /** Gives the permits back. Idempotent. */
  release(): void {
    if (this.released === true) return;
    this.released = true;
    this.semaphore.release(this.permits);
  }

  /** Drops the permits without giving them back (the semaphore shrinks). */
  forget(): void {
    this.released = true;
  }

  /**
   * Moves `n` of this permit's permits into a new permit (tokio's `split`); `undefined` when it
   * holds fewer than `n`. Each permit is then released on its own.
   *
   * @example
   * ```ts
   * const all = yield* sem.acquire(3);
   * const one = all.split(1);   // `all` now holds 2
   * all.release();              // hand back 2, keep working with 1
   * ```
   * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer >= 0.
   * @throws {WakerContractError} after `release()` or `forget()`.
   */
  split(n: number): SemaphorePermit | undefined {
    checkCount(n, "SemaphorePermit.split", true);
    if (this.released === true) {
      throw new WakerContractError("SemaphorePermit.split: the permit was already released");
    }
    if (n > this.permits) return undefined;
    (this as { permits: number }).permits -= n;
    return new SemaphorePermit(this.semaphore, n);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * @internal What an {@link Acquire} makes once its permits are held, and how a task dump names
 * it: one const object per primitive, so that an acquire keeps one field for both.
 */
export interface AcquireKind<P, O> {
  /** The output: a `SemaphorePermit`, a mutex guard, ... */
  readonly grant: (owner: O, n: number) => P;
  readonly label: (n: number) => string;
}

/**
 * @internal The wait for `n` permits of a semaphore, in FIFO order; once they are held,
 * `kind.grant(owner, n)` makes the output (a `SemaphorePermit`, a mutex guard, ...).
 *
 * One concrete class for every primitive built on the semaphore, told apart by the
 * {@link AcquireKind} it is given rather than by subclasses: V8 then sees one shape at the acquire
 * code they share. With a subclass per primitive, a program that used both the mutex and the
 * semaphore measured ~10% slower per contended acquire than one that used the semaphore alone.
 * A base class that inherits from SelfAwaitingFuture without deriving from it: see "Constructors
 * in try blocks" on Future.
 */
export class Acquire<P, O> implements InheritedFuture<P> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal SelfAwaitingFuture's. */
  declare stage: number;
  /** 0 or 1: see "Numeric `done`" on Await. */
  declare done: 0 | 1;
  declare value: unknown;
  declare private waiter: Waiter | null;
  declare private finished: boolean;
  declare private readonly semaphore: Semaphore;
  declare private readonly n: number;
  declare private readonly owner: O;
  declare private readonly kind: AcquireKind<P, O>;

  constructor(semaphore: Semaphore, n: number, owner: O, kind: AcquireKind<P, O>) {
    this.stage = FRESH;
    this.done = 0;
    this.value = this;
    this.waiter = null;
    this.finished = false;
    this.semaphore = semaphore;
    this.n = n;
    this.owner = owner;
    this.kind = kind;
  }

  /** @internal The `yield*` protocol, written out here: see SelfAwaitingFuture. */
  next(sent?: unknown): this {
    if (this.stage !== FRESH) return finishYield(this, sent);
    const cx = startYield(this);
    return cx === null ? this : settleYield(this, this.poll(cx));
  }

  poll(cx: Context): Poll<P> {
    if (this.finished === true) throw pollAfterCompletion(this);
    const sem = this.semaphore;
    let waiter = this.waiter;
    if (waiter === null) {
      if (sem.isClosed() === true) return this.fail();
      if (consumeBudget(cx) === false) return Pending;
      if (sem.takeNow(this.n)) return this.succeed();
      waiter = new WaiterNode();
      waiter.needed = this.n;
      this.waiter = waiter;
      sem.waiters.pushBack(waiter);
      sem.release(0); // assign what is available now to the queue head (maybe us)
    }
    if (waiter.assigned === waiter.needed) return this.succeed();
    if (sem.isClosed() === true) return this.fail();
    waiter.register(cx.waker);
    return Pending;
  }

  drop(): void {
    if (this.finished === true) return;
    this.finished = true;
    const waiter = this.waiter;
    if (waiter === null) return;
    this.semaphore.waiters.cancel(waiter);
    if (waiter.assigned > 0) {
      const back = waiter.assigned;
      waiter.assigned = 0;
      this.semaphore.release(back);
    }
  }

  describe(): string {
    return this.kind.label(this.n);
  }

  private succeed(): P {
    this.finished = true;
    this.waiter?.release();
    return this.kind.grant(this.owner, this.n);
  }

  private fail(): never {
    this.drop();
    throw new SemaphoreClosed("the semaphore is closed");
  }
}
inheritFrom(Acquire, SelfAwaitingFuture);

/** The permit class through a const, for the contended acquire: see "Hot imports" on Future. */
const PermitClass = SemaphorePermit;

/** `Semaphore.acquire`: a permit for the `n` permits. */
const PERMIT: AcquireKind<SemaphorePermit, Semaphore> = {
  grant: (semaphore, n) => new PermitClass(semaphore, n),
  label: (n) => `Semaphore.acquire(${n})`,
};
