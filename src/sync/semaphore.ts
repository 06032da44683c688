import {
  droppedWhenSpent,
  type Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
  SelfAwaitingFuture,
  yieldSteps,
} from "../future/future.js";
import * as Budget from "../runtime/budget.js";
import type { Context } from "../task/context.js";
import * as Debug from "../task/debug.js";
import { OutOfRangeError, WakerContractError } from "../task/errors.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { SemaphoreClosed } from "./errors.js";
import * as WaitListModule from "./wait-list.js";
import { type Waiter, WaitList } from "./wait-list.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const { consumeBudget } = Budget;
const WaiterNode = WaitListModule.Waiter;
const { FRESH, SPENT, flaggedPending, startYield } = yieldSteps;
const { debugFlag } = Debug;

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
  /**
   * @internal The permits the semaphore has in all, free or taken: what `addPermits` checks
   * against the maximum (free permits alone would let releases push the count past it).
   */
  total: number;
  private closed = false;
  /** @internal */
  readonly waiters = new WaitList();
  /** @internal Spent acquires, for the next acquires to reuse: see "Reused acquires" on Acquire. */
  readonly spares: Acquire<unknown, unknown>[] = [];

  constructor(permits: number) {
    this.available = checkCount(permits, "Semaphore", true);
    this.total = this.available;
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
   *
   * Single use: once a `yield*` of the future has completed, the semaphore may return the same
   * object from a later `acquire` (so that a contended acquire allocates only its permit). Do not
   * keep it to poll or drop after that `yield*`; as with Rust's `.await`, the future is used up.
   * A future awaited any other way (`select`, `join`, `map`) is never reused. In debug mode
   * (`setDebugMode`) nothing is reused, and dropping a spent acquire throws `WakerContractError`.
   */
  acquire(n = 1): Future<SemaphorePermit> {
    const count = checkCount(n, "Semaphore.acquire", false);
    return makeAcquire(this, count, this, PERMIT) as unknown as Future<SemaphorePermit>;
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
   * @throws {OutOfRangeError} (a `RangeError`) when the total, free and taken permits together,
   * would exceed 2^31-1.
   */
  addPermits(n: number): void {
    checkCount(n, "Semaphore.addPermits", true);
    if (this.total + n > MAX_PERMITS) {
      throw new OutOfRangeError(`Semaphore.addPermits: more than ${MAX_PERMITS} permits`);
    }
    this.total += n;
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
    if (this.released === true) return;
    this.released = true;
    this.semaphore.total -= this.permits;
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

/** `Acquire.state`: not queued (yet). */
const IDLE = 0;
/** `Acquire.state`: its waiter is in the semaphore's queue (or was granted from there). */
const QUEUED = 1;
/** `Acquire.state`: completed, failed or dropped. */
const FINISHED = 2;

/** The most spent acquires a semaphore keeps for reuse. */
const MAX_SPARES = 16;

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
 *
 * Reused acquires: an acquire whose `yield*` completed is spent (see "Spent futures" on
 * SelfAwaitingFuture) and goes to its semaphore's `spares`, up to {@link MAX_SPARES}; the next
 * `acquire` or `lock` of that semaphore takes it from there, reset ({@link makeAcquire}). It keeps
 * its wait-list node, so a contended acquire allocates neither. Many tasks take turns on a
 * contended lock, so the spares are a small stack rather than one slot per semaphore (as the
 * channel's): the acquire a task spent is taken by whichever task asks next. In the
 * mutex-contention benchmark, sampled allocation went from ~260 to ~80 bytes per lock (the rest is
 * the guard and the `yieldNow` inside the lock).
 */
export class Acquire<P, O> implements InheritedFuture<P> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal SelfAwaitingFuture's. */
  declare stage: number;
  /** 0 or 1: see "Numeric `done`" on Await. */
  declare done: 0 | 1;
  declare value: unknown;
  /** Our place in the queue once queued; kept, released, when the acquire is reused. */
  declare private waiter: Waiter | null;
  /** IDLE, QUEUED or FINISHED. */
  declare private state: number;
  declare private readonly semaphore: Semaphore;
  declare private n: number;
  declare private owner: O;
  declare private kind: AcquireKind<P, O>;

  constructor(semaphore: Semaphore, n: number, owner: O, kind: AcquireKind<P, O>) {
    this.stage = FRESH;
    this.done = 0;
    this.value = this;
    this.waiter = null;
    this.state = IDLE;
    this.semaphore = semaphore;
    this.n = n;
    this.owner = owner;
    this.kind = kind;
  }

  /** @internal A spent acquire made new, for {@link makeAcquire}. */
  reuse(n: number, owner: O, kind: AcquireKind<P, O>): void {
    this.stage = FRESH;
    this.done = 0;
    this.value = this;
    this.state = IDLE;
    this.n = n;
    this.owner = owner;
    this.kind = kind;
    const waiter = this.waiter;
    if (waiter !== null) {
      // Out of the queue (granted) and released (`succeed`): only its counts are left to reset.
      waiter.assigned = 0;
      waiter.ready = false;
    }
  }

  /**
   * @internal The `yield*` protocol, written out here: see SelfAwaitingFuture. Completing it
   * spends the acquire, for its semaphore to reuse (see "Reused acquires" above).
   */
  next(sent?: unknown): this {
    if (this.stage !== FRESH) return this.spend(sent);
    const cx = startYield(this);
    if (cx === null) return this;
    const r = this.poll(cx);
    return flaggedPending(this, r) ? this : this.spend(r);
  }

  /** The `yield*` completes with `output`: this acquire is spent, kept by its semaphore if room. */
  private spend(output: unknown): this {
    this.stage = SPENT;
    this.done = 1;
    this.value = output;
    const spares = this.semaphore.spares;
    if (spares.length < MAX_SPARES && debugFlag.on === false) {
      spares.push(this as Acquire<unknown, unknown>);
    }
    return this;
  }

  poll(cx: Context): Poll<P> {
    const state = this.state;
    if (state === FINISHED) throw pollAfterCompletion(this);
    const sem = this.semaphore;
    if (state === IDLE) {
      if (sem.isClosed() === true) return this.fail();
      if (consumeBudget(cx) === false) return Pending;
      if (sem.takeNow(this.n)) return this.succeed();
      this.enqueue();
    }
    const waiter = this.waiter as Waiter;
    if (waiter.assigned === waiter.needed) return this.succeed();
    if (sem.isClosed() === true) return this.fail();
    waiter.register(cx.waker);
    return Pending;
  }

  /** Joins the queue (with the node kept from an earlier use, if any) and takes what is free. */
  private enqueue(): void {
    let waiter = this.waiter;
    if (waiter === null) {
      waiter = new WaiterNode();
      this.waiter = waiter;
    }
    waiter.needed = this.n;
    this.state = QUEUED;
    const sem = this.semaphore;
    sem.waiters.pushBack(waiter);
    sem.release(0); // assign what is available now to the queue head (maybe us)
  }

  drop(): void {
    const state = this.state;
    if (state === FINISHED) {
      if (this.stage === SPENT && debugFlag.on === true)
        throw droppedWhenSpent(this, "lock or semaphore");
      return;
    }
    this.state = FINISHED;
    if (state === IDLE) return;
    const waiter = this.waiter as Waiter;
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
    if (this.state === QUEUED) (this.waiter as Waiter).release();
    this.state = FINISHED;
    return this.kind.grant(this.owner, this.n);
  }

  private fail(): never {
    this.drop();
    throw new SemaphoreClosed("the semaphore is closed");
  }
}
inheritFrom(Acquire, SelfAwaitingFuture);

/**
 * @internal An acquire of `n` permits of `semaphore` for `owner`: a spent one of the semaphore's
 * made new if there is one (see "Reused acquires" on Acquire), else a new one.
 */
export function makeAcquire<P, O>(
  semaphore: Semaphore,
  n: number,
  owner: O,
  kind: AcquireKind<P, O>,
): Acquire<P, O> {
  const spare = semaphore.spares.pop() as Acquire<P, O> | undefined;
  if (spare === undefined) return new Acquire(semaphore, n, owner, kind);
  spare.reuse(n, owner, kind);
  return spare;
}

/** The permit class through a const, for the contended acquire: see "Hot imports" on Future. */
const PermitClass = SemaphorePermit;

/** `Semaphore.acquire`: a permit for the `n` permits. */
const PERMIT: AcquireKind<SemaphorePermit, Semaphore> = {
  grant: (semaphore, n) => new PermitClass(semaphore, n),
  label: (n) => `Semaphore.acquire(${n})`,
};
