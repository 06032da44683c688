import type { Context } from "../task/context.js";
import {
  describeValue,
  expectFunction,
  InvalidArgumentError,
  WakerContractError,
} from "../task/errors.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { dropNow } from "./orphan-cleanup.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;

/**
 * A value that becomes available later, computed only while someone polls it (Rust's
 * `std::future::Future`). Futures are lazy: creating one starts nothing.
 *
 * Implementations:
 * - `poll(cx)` returns the output, or {@link Pending} after arranging for `cx.waker` (or a clone)
 *   to be woken when progress is possible. It must tolerate spurious polls and is never called
 *   again after it returned a value or threw.
 * - `drop()` cancels: release resources, deregister wakers. Idempotent, synchronous.
 * - `pollDrop(cx)` is the asynchronous form of `drop` that owners (tasks, `select`, scopes) drive:
 *   it returns `Pending` while cleanup (a generator's `finally` that waits) is still running and
 *   `undefined` once it is done. The default calls `drop()` and is done at once.
 *
 * Inside a generator async block, `yield* fut` waits for `fut` and evaluates to its output.
 *
 * @example
 * ```ts
 * class Ready42 extends Future<number> {
 *   poll(): Poll<number> { return 42; }
 * }
 * const main = future(function* () {
 *   const n = yield* new Ready42();
 *   return n + 1;
 * });
 * ```
 *
 * Hot constructors: the classes built per poll, per message or per spawn (this library's futures,
 * `Waker`/`Task`, `HeldWaker`/`Waiter`, guards and permits) declare their fields with `declare`
 * and assign them in the constructor, with no class-field initializers or parameter properties.
 * Emitted for ES2022, those are class fields, and V8 (Node 20) constructs a subclass whose chain
 * has them several times slower: measured ~24 ns against ~8 ns for the mutex lock future.
 *
 * Hot imports: the modules on the task switch's path (the executor, tasks and their wakers, async
 * blocks, `yield*`, the channels and locks) bind the imported constants they test against
 * (`Pending`, the task-state bits, the task vtable) and the imported functions they call there to
 * module-local consts. V8 (Node 20) reads an imported binding through its module cell, with a
 * check that it is initialized, on every use; a module-local const is folded into the optimized
 * code. For the same reason their mutable module state lives in fields of a const object, not in
 * module `let`s. A module's own helpers called there are `const` arrow functions, not `function`
 * declarations: a declaration is a mutable binding, and V8 checks the callee's identity at each
 * optimized call of it; a const is folded. Measured for the `yield*` steps below: -67 instructions
 * (JIT code and builtins) per iteration of two task switches, -87 per contended mutex lock. The
 * same goes for the classes constructed there: an imported or exported class is read through its
 * module cell, and a class declaration's binding is checked for initialization; a const alias or
 * a const class expression is folded (-30 instructions per contended mutex lock for its acquire,
 * wait-list node, guard and `yieldNow`, -47 per contended semaphore acquire).
 *
 * Constructors in try blocks: V8 (Node 20) does not inline the constructor of a derived class (one
 * that calls `super()`) where the `new` sits in a `try` block of optimized code; it constructs
 * through its generic stubs, one level of the class chain at a time. User code awaits inside
 * `try`/`finally` all the time, and `yield* tx.send(v)` constructs there. So the futures built
 * per await on the hot paths (the channel's send and receive, the lock acquire, `yieldNow`) are
 * base classes whose prototypes {@link inheritFrom} a future class: `instanceof`, the inherited
 * methods and `yield*` work as for a subclass, and the constructor sets the inherited fields
 * itself. Measured: channel throughput with each `yield*` in a `try`/`finally`, 1,135
 * instructions per message with subclasses against 741 (599 without the `try`). The other futures
 * user code awaits per operation are built the same way (notify, watch, broadcast, barrier,
 * `closed()`, sleep, timeout, interval ticks, the combinators, join, select, `fromPromise`,
 * `pollFn`, `lazy`, the join set's and `FuturesUnordered`'s `next`, a stream's `next`, `forEach`
 * and `collect`): per await inside a `try`, a notified permit went from 484 to 381 instructions, a
 * `ready(v).map(f)` from 704 to 502 (unchanged without the `try`). Not converted: futures made
 * once per task or connection (`JoinHandle`, `scope`, `GenFuture`, which measured no penalty as
 * its constructor is not inlined into the caller) and the I/O futures, whose operating-system
 * work costs microseconds against the ~100 instructions of the generic construct.
 *
 * Boolean tests: on the same path, a boolean field is tested as `flag === true` (or `=== false`),
 * not as `if (flag)`. V8 does not track that a field only ever holds booleans, so a bare test
 * compiles to its generic truthiness check (false, "", 0, NaN, 0n, document.all); the comparison
 * compiles to one compare. Together with hot imports, measured at ~8% of the instructions of a
 * channel ping-pong round trip. The same holds for the result of a call that is not inlined
 * entirely: `consumeBudget(cx) === false`, not `!consumeBudget(cx)`.
 */
export abstract class Future<T> {
  /** Drives the future: its output, or `Pending` with `cx.waker` registered for a wake. */
  abstract poll(cx: Context): Poll<T>;

  /**
   * Cancels the future now (Rust's `Drop`). Idempotent. Asynchronous cleanup that cannot finish
   * synchronously is handed to the runtime and still runs to its end exactly once.
   */
  drop(): void {}

  /**
   * Cancels the future and drives its cleanup: `Pending` while cleanup waits on something,
   * `undefined` when it is complete. Throws the cleanup's error, if any. Idempotent once done.
   */
  pollDrop(_cx: Context): Poll<void> {
    this.drop();
    return undefined;
  }

  /** A short description for task dumps: what this future is waiting on. */
  describe(): string {
    return this.constructor.name;
  }

  /** Makes `yield* fut` inside a generator async block wait for `fut` and evaluate to its output. */
  [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    const block = active.block;
    let awaiter: Await;
    if (block === null) {
      awaiter = new Await(this);
    } else if (block.awaiter === null || block.awaiter.done === 0) {
      awaiter = block.awaiter = new Await(this);
    } else {
      awaiter = block.awaiter.reset(this);
    }
    return awaiter as unknown as Iterator<Future<unknown>, T, unknown>;
  }

  /** `using fut = ...` drops the future at the end of the block. */
  [Symbol.dispose](): void {
    this.drop();
  }

  /**
   * A future that completes with `fn(output)`.
   *
   * @example
   * ```ts
   * const length = readLine().map((line) => line.length);
   * ```
   * @throws {InvalidArgumentError} when `fn` is not a function.
   */
  map<U>(fn: (value: T) => U): Future<U> {
    expectFunction(fn, "Future.map", "a function (value) => U");
    return new MapFuture(this, fn) as unknown as Future<U>;
  }

  /**
   * A future that waits for this one, then for the future `fn(output)` returns.
   *
   * @example
   * ```ts
   * const body = connect(host).andThen((conn) => conn.read());
   * ```
   * @throws {InvalidArgumentError} when `fn` is not a function.
   */
  andThen<U>(fn: (value: T) => Future<U>): Future<U> {
    expectFunction(fn, "Future.andThen", "a function (value) => Future<U>");
    return new AndThenFuture(this, fn) as unknown as Future<U>;
  }

  /**
   * A future that completes with this one's output or, if it throws, with `fn(error)`: a value, or
   * a future to wait for.
   *
   * @example
   * ```ts
   * const config = readConfig().catch(() => DEFAULT_CONFIG);
   * ```
   * @throws {InvalidArgumentError} when `fn` is not a function.
   */
  catch<U>(fn: (error: unknown) => U | Future<U>): Future<T | U> {
    expectFunction(fn, "Future.catch", "a function (error) => U | Future<U>");
    return new CatchFuture(this, fn) as unknown as Future<T | U>;
  }

  /**
   * A future that runs `fn` exactly once after this one completes, throws or is dropped, then
   * completes as this one did. If `fn` returns a future, it is waited for (also on drop, when the
   * owner drives `pollDrop`).
   *
   * @example
   * ```ts
   * const work = transfer(file).finally(() => file.close());
   * ```
   * @throws {InvalidArgumentError} when `fn` is not a function.
   */
  finally(fn: () => void | Future<unknown>): Future<T> {
    expectFunction(fn, "Future.finally", "a function () => void | Future");
    return new FinallyFuture(this, fn) as unknown as Future<T>;
  }
}

/** What a generator driver keeps so that its `yield*`s reuse one iterator object. */
export interface AwaiterOwner {
  awaiter: Await | null;
}

/**
 * The completed iterator result of every `yield*` of a {@link SelfAwaitingFuture} that is not its
 * own result object: one shared object whose `value` is overwritten by each completion and read
 * at once by the `yield*` that called `next()`. Its `done` is on the prototype, where V8 folds the
 * load to a constant (see "Numeric `done`" on {@link Await}). The generator driver clears `value`
 * when the generator stops ({@link leaveAsyncBlock}), so that the last output is not kept alive.
 * A result object per completion (as before) was an allocation per message for channel receives.
 */
class SharedDone {
  declare readonly done: true;
  value: unknown = undefined;
}
Object.defineProperty(SharedDone.prototype, "done", { value: true });
const SHARED_DONE = new SharedDone();

/**
 * The generator async block being resumed right now and its context, so that `yield* fut` can poll
 * `fut` at once: a ready future then costs a call instead of a generator suspension. Set by the
 * generator driver around `gen.next()`/`gen.throw()`; `null` outside. Fields of a const object,
 * not module `let`s, which V8 (Node 20) checks for initialization on every read and write (see
 * "Hot imports" on Future).
 */
const active: { cx: Context | null; block: AwaiterOwner | null } = { cx: null, block: null };

/** @internal Called by the generator driver before resuming; returns the block to restore. */
export function enterAsyncBlock(
  cx: Context | null,
  block: AwaiterOwner | null,
): AwaiterOwner | null {
  const previous = active.block;
  active.cx = cx;
  active.block = block;
  return previous;
}

/** @internal Restores what {@link enterAsyncBlock} returned, with its context. */
export function leaveAsyncBlock(previous: AwaiterOwner | null, previousCx: Context | null): void {
  active.block = previous;
  active.cx = previousCx;
  // The generator read what the shared result carried, if anything: do not keep it alive.
  SHARED_DONE.value = undefined;
}

/** @internal The context of the block being resumed, to restore after a nested one. */
export function currentAsyncContext(): Context | null {
  return active.cx;
}

/** {@link IN_AWAITER} through a module-local const, for `takePolledPending`: see "Hot imports". */
const inAwaiter: unique symbol = Symbol("in awaiter");
/**
 * @internal `GenFuture.waitingOn`: the awaited future is `awaiter.value`, the one in the block's
 * reused {@link Await}.
 */
export const IN_AWAITER: typeof inAwaiter = inAwaiter;

/**
 * @internal What the block waits on when `step`, what its generator just yielded, is a `yield*`
 * that already polled its future to `Pending` (the waker is registered, so the driver must not
 * poll it again): {@link IN_AWAITER} for the block's awaiter, the future itself for a
 * {@link SelfAwaitingFuture}. `null` otherwise (a plain `yield`, or a `yield*` that did not poll).
 * Clears the flag: it is taken once. (A flag on the awaiter rather than the future in a module
 * variable: storing a new future into an old object costs a write barrier.)
 */
export function takePolledPending(
  step: unknown,
  block: AwaiterOwner,
): Future<unknown> | typeof IN_AWAITER | null {
  const awaiter = block.awaiter;
  if (step === awaiter) {
    if (awaiter === null || awaiter.stage !== POLLED_PENDING) return null;
    awaiter.stage = STARTED;
    return inAwaiter;
  }
  if (step instanceof SelfAwaitingClass && step.stage === POLLED_PENDING) {
    step.stage = STARTED;
    return step;
  }
  return null;
}

/** `Await.stage`: `next()` not called yet. */
const FRESH = 0;
/** `Await.stage`: the first `next()` returned (the future was ready, or it is being waited for). */
const STARTED = 1;
/** `Await.stage`: the first `next()` polled the future to `Pending`; the driver has not seen it. */
const POLLED_PENDING = 2;
/**
 * `Await.stage`: the task was woken and the driver resumed the generator without polling the
 * future: the next `next()` polls it again (completing the `yield*` if ready, yielding the awaiter
 * once more if not). See {@link repollAwaiter}.
 */
const REPOLL = 3;
/**
 * `SelfAwaitingFuture.stage`: a `yield*` of the future completed through its `next()` (the
 * generator has its output). Nothing of the runtime refers to it any more, so its owner may reuse
 * the object for its next future of the same kind: see "Spent futures" on {@link SelfAwaitingFuture}.
 */
const SPENT = 4;

/**
 * @internal Has the block's awaiter, which a `yield*` left waiting ({@link takePolledPending}
 * gave {@link IN_AWAITER}), poll its future when the generator is resumed: the driver resumes the
 * generator at once and the future is polled inside it by `Await.next`, instead of by the driver
 * first and again through `next()` with the output. One call less per wake (and a spurious wake
 * costs a resume and a suspend of the generator).
 */
export function repollAwaiter(block: AwaiterOwner): void {
  (block.awaiter as Await).stage = REPOLL;
}

/**
 * The iterator behind `yield* fut`. Its first `next()` polls the future with the active context:
 * if ready, `yield*` completes without suspending the generator (and a throw surfaces at the
 * `yield*`, as with `await`); if `Pending`, it yields itself to the driver, and when the task is
 * woken, the driver resumes the generator and `next()` polls the future again
 * ({@link repollAwaiter}; a driver that polled the future itself sends its output instead). The
 * object is also the iterator result (`done`/`value`), which sync generators pass through
 * unchanged. Each async block reuses one for all its `yield*`s (a generator is suspended in at
 * most one place), so awaiting allocates nothing in steady state.
 *
 * Why the poll is here and not in `[Symbol.iterator]`: V8 (Node 20) inlines the
 * `[Symbol.iterator]` call of a `yield*` into the generator, but never its `next` call, even
 * with monomorphic feedback. The `next` method is loaded once before the `yield*` loop and
 * restored from the generator's register file after a resume, so at the call the target is a
 * loop phi, for which TurboFan does not use the call's feedback. Polling in `[Symbol.iterator]`
 * instead, where the poll could be inlined into the caller's generator, was measured: it put the
 * poll against the caller's inlining budget, and the constructors under it stopped being
 * inlined (+300 instructions per contended mutex lock, +466 per channel ping-pong round trip).
 *
 * Numeric `done`: the iterator results of `yield*` keep `done` as 0 or 1, not a boolean. The
 * protocol only needs it truthy or falsy, and V8 (Node 20) tests a field it knows to hold small
 * integers with one comparison, but a boolean field with its generic truthiness check (~10
 * instructions at every `yield*`: a boolean field is typed as "any heap object"). A result whose
 * `done` never changes keeps it on its prototype instead, where the load folds to a constant
 * (`SharedDone`). Measured in the throughput benchmark: 573 instructions per message before, 556
 * with the shared `undefined` result on a `DoneWith` (now `SharedDone`; it was a frozen literal),
 * 542 with the receive's numeric `done`.
 */
export class Await {
  /** 0 while waiting, 1 when complete: see "Numeric `done`". */
  done: 0 | 1 = 0;
  value: unknown;
  /** @internal FRESH, STARTED, POLLED_PENDING or REPOLL. */
  stage = FRESH;

  constructor(fut: Future<unknown>) {
    this.value = fut;
  }

  /** Reuses this finished iterator for the next `yield*` of the same block. */
  reset(fut: Future<unknown>): this {
    this.done = 0;
    this.stage = FRESH;
    this.value = fut;
    return this;
  }

  next(sent?: unknown): this {
    const stage = this.stage;
    if (stage !== FRESH && stage !== REPOLL) return finishYield(this, sent);
    const cx = startYield(this);
    return cx === null ? this : settleYield(this, (this.value as Future<unknown>).poll(cx));
  }

  throw(error: unknown): never {
    throw error;
  }

  return(value?: unknown): this {
    return finishYield(this, value);
  }
}

/** The state a `yield*` iterator keeps: it is its own iterator result. */
interface YieldState {
  /** 0 or 1: see "Numeric `done`" on {@link Await}. */
  done: 0 | 1;
  value: unknown;
  stage: number;
}

/** First `next()` of a `yield*`: marks it started; the context to poll with (`null`: do not poll). */
const startYield = (it: { stage: number }): Context | null => {
  it.stage = STARTED;
  return active.cx;
};

/** After the in-line poll: done with the output, or flagged Pending for the driver. */
const settleYield = <I extends YieldState>(it: I, r: unknown): I => {
  if (typeof r === "symbol" && r === Pending) {
    // Typed Pending test: see `Pending`.
    it.stage = POLLED_PENDING;
  } else {
    it.done = 1;
    it.value = r;
  }
  return it;
};

/** The `yield*` is over: `value` is what the generator receives (or returns). */
const finishYield = <I extends YieldState>(it: I, value: unknown): I => {
  it.done = 1;
  it.value = value;
  return it;
};

/**
 * The result for the output `undefined` (a send's), never written: the common case skips the
 * store into the shared one (a write barrier when V8 does not know the value).
 */
const DONE_VOID = new SharedDone() as IteratorResult<never, unknown>;

/**
 * The iterator result that completes a `yield*` with `value`, for a future that is not its own
 * result object ({@link SelfAwaitingFuture} without `done`/`value` fields of its own): the shared
 * {@link SharedDone}, valid until the caller's next step.
 */
const doneWith = (value: unknown): IteratorResult<never, unknown> => {
  if (value === undefined) return DONE_VOID;
  SHARED_DONE.value = value;
  return SHARED_DONE as IteratorResult<never, unknown>;
};

/**
 * After the in-line poll of a `yield*`: `true` if it was `Pending`, which is then flagged for the
 * driver (`it` is what the `yield*` yields); `false` if `r` is the output.
 */
const flaggedPending = (it: { stage: number }, r: unknown): boolean => {
  // Typed Pending test: see `Pending`.
  if (typeof r === "symbol" && r === Pending) {
    it.stage = POLLED_PENDING;
    return true;
  }
  return false;
};

/** {@link settleYield} for a future that is not its own result object: see {@link doneWith}. */
const settleYieldResult = <I extends { stage: number }>(
  it: I,
  r: unknown,
): I | IteratorResult<never, unknown> => (flaggedPending(it, r) ? it : doneWith(r));

/**
 * The `yield*` of `it` completes with `output`: `it` is spent (see "Spent futures" on
 * {@link SelfAwaitingFuture}).
 */
const spendYield = (it: { stage: number }, output: unknown): IteratorResult<never, unknown> => {
  it.stage = SPENT;
  return doneWith(output);
};

/** {@link settleYieldResult} for a future that is spent when its `yield*` completes. */
const settleSpent = <I extends { stage: number }>(
  it: I,
  r: unknown,
): I | IteratorResult<never, unknown> => (flaggedPending(it, r) ? it : spendYield(it, r));

/**
 * @internal The steps of the `yield*` protocol, for the subclasses of {@link SelfAwaitingFuture}
 * in other modules (see there). One exported object rather than exported bindings: V8 (Node 20)
 * reads an exported binding through its module cell even inside this module, which made the
 * awaiter's own `next` ~2% slower per task switch (`bench/switch-floor`).
 */
export const yieldSteps = {
  FRESH,
  POLLED_PENDING,
  SPENT,
  startYield,
  settleYield,
  finishYield,
  doneWith,
  flaggedPending,
  settleYieldResult,
  spendYield,
  settleSpent,
} as const;

/** Throws when `value` is not a future; `where` names the API for the message. */
export function expectFuture(value: unknown, where: string): Future<unknown> {
  if (value instanceof Future) return value;
  const hint = value instanceof Promise ? " (wrap a Promise with fromPromise(() => promise))" : "";
  throw new InvalidArgumentError(`${where}: expected a Future, got ${describeValue(value)}${hint}`);
}

/**
 * @internal Makes instances of the base class `cls` inherit from `parent` as a subclass's would
 * (`instanceof`, methods), without a derived constructor: see "Constructors in try blocks" on
 * {@link Future}. `cls`'s constructor must set `parent`'s fields itself, in the same order.
 */
export function inheritFrom(cls: { prototype: object }, parent: { prototype: object }): void {
  Object.setPrototypeOf(cls.prototype, parent.prototype);
}

/**
 * @internal For the type checker, what a base class that {@link inheritFrom}s Future writes
 * itself: `poll` with its output type, and whichever of Future's overridable methods it replaces.
 *
 * @example
 * ```ts
 * class Ready<T> implements InheritedFuture<T> { ... }
 * inheritFrom(Ready, Future);
 * ```
 */
export type InheritedFuture<T> = Pick<Future<T>, "poll"> &
  Partial<Pick<Future<T>, "drop" | "pollDrop" | "describe">>;

/**
 * Debug mode's error for dropping a spent future (see "Spent futures" on
 * {@link SelfAwaitingFuture}): outside debug mode its `owner` (a channel, a semaphore) may have
 * reused the object by then, and the drop would cancel another wait; in debug mode the owner keeps
 * nothing for reuse, so the drop is caught instead (as a waker used after `wake()` is).
 */
export function droppedWhenSpent(fut: { describe(): string }, owner: string): WakerContractError {
  return new WakerContractError(
    `${fut.describe()} dropped after the yield* that awaited it completed; the ${owner} reuses such a future for a later call (outside debug mode), so this drop could cancel another wait: do not keep the future (or bind it with \`using\`) past its yield*`,
  );
}

/** The error for polling a future again after it completed or was dropped. */
export function pollAfterCompletion(fut: { describe(): string }): WakerContractError {
  return new WakerContractError(
    `${fut.describe()} was polled after it completed or was dropped; a finished future must not be polled again`,
  );
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class MapFuture<T, U> implements InheritedFuture<U> {
  constructor(
    private readonly inner: Future<T>,
    private readonly fn: (value: T) => U,
  ) {}
  poll(cx: Context): Poll<U> {
    const r = this.inner.poll(cx);
    return r === Pending ? Pending : this.fn(r as T);
  }
  drop(): void {
    this.inner.drop();
  }
  pollDrop(cx: Context): Poll<void> {
    return this.inner.pollDrop(cx);
  }
  describe(): string {
    return `map(${this.inner.describe()})`;
  }
}
inheritFrom(MapFuture, Future);

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class AndThenFuture<T, U> implements InheritedFuture<U> {
  private second: Future<U> | null = null;
  constructor(
    private readonly first: Future<T>,
    private readonly fn: (value: T) => Future<U>,
  ) {}
  poll(cx: Context): Poll<U> {
    if (this.second === null) {
      const r = this.first.poll(cx);
      if (r === Pending) return Pending;
      this.second = expectFuture(this.fn(r as T), "andThen callback") as Future<U>;
    }
    return this.second.poll(cx);
  }
  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }
  pollDrop(cx: Context): Poll<void> {
    return this.second === null ? this.first.pollDrop(cx) : this.second.pollDrop(cx);
  }
  describe(): string {
    return this.second === null
      ? `andThen(${this.first.describe()})`
      : `andThen(… > ${this.second.describe()})`;
  }
}
inheritFrom(AndThenFuture, Future);

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class CatchFuture<T, U> implements InheritedFuture<T | U> {
  private recovery: Future<U> | null = null;
  constructor(
    private readonly inner: Future<T>,
    private readonly fn: (error: unknown) => U | Future<U>,
  ) {}
  poll(cx: Context): Poll<T | U> {
    if (this.recovery === null) {
      try {
        return this.inner.poll(cx);
      } catch (error) {
        const r = this.fn(error);
        if (!(r instanceof Future)) return r;
        this.recovery = r;
      }
    }
    return this.recovery.poll(cx);
  }
  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }
  pollDrop(cx: Context): Poll<void> {
    return this.recovery === null ? this.inner.pollDrop(cx) : this.recovery.pollDrop(cx);
  }
  describe(): string {
    return `catch(${(this.recovery ?? this.inner).describe()})`;
  }
}
inheritFrom(CatchFuture, Future);

const NOT_YET = 0;
const VALUE = 1;
const ERROR = 2;
const DROPPED = 3;
/** The inner future's cleanup threw: `fn` runs, then the error is thrown by `pollDrop`. */
const DROP_FAILED = 4;

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class FinallyFuture<T> implements InheritedFuture<T> {
  private outcome = NOT_YET;
  private result: unknown;
  private cleanup: Future<unknown> | null = null;
  private ran = false;

  constructor(
    private readonly inner: Future<T>,
    private readonly fn: () => void | Future<unknown>,
  ) {}

  poll(cx: Context): Poll<T> {
    if (this.outcome === NOT_YET) {
      try {
        const r = this.inner.poll(cx);
        if (r === Pending) return Pending;
        this.outcome = VALUE;
        this.result = r;
      } catch (error) {
        this.outcome = ERROR;
        this.result = error;
      }
    }
    if (this.finishCleanup(cx) === Pending) return Pending;
    if (this.outcome === ERROR) throw this.result;
    return this.result as T;
  }

  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }

  pollDrop(cx: Context): Poll<void> {
    if (this.outcome === NOT_YET) {
      try {
        if (this.inner.pollDrop(cx) === Pending) return Pending;
        this.outcome = DROPPED;
      } catch (error) {
        // The inner cleanup failed: `fn` still runs (as a `finally` does), then this error is thrown.
        this.outcome = DROP_FAILED;
        this.result = error;
      }
    }
    if (this.finishCleanup(cx) === Pending) return Pending;
    if (this.outcome === DROP_FAILED) {
      const error = this.result;
      this.outcome = DROPPED;
      this.result = undefined;
      throw error;
    }
    return undefined;
  }

  describe(): string {
    return this.cleanup
      ? `finally(${this.cleanup.describe()})`
      : `finally(${this.inner.describe()})`;
  }

  /** Runs `fn` once and waits for the future it returned, if any. */
  private finishCleanup(cx: Context): Poll<void> {
    if (!this.ran) {
      this.ran = true;
      const r = this.fn();
      if (r instanceof Future) this.cleanup = r;
    }
    if (this.cleanup !== null) {
      if (this.cleanup.poll(cx) === Pending) return Pending;
      this.cleanup = null;
    }
    return undefined;
  }
}
inheritFrom(FinallyFuture, Future);

/**
 * @internal A leaf future that is its own `yield*` iterator and iterator result, for the futures
 * awaited most per message (channel sends and receives): `yield* fut` then polls `fut` with a
 * direct call that the JIT can inline, instead of going through the block's shared {@link Await}
 * and a call site that sees every kind of future. Same protocol as {@link Await}: the first
 * `next()` polls with the active context; `Pending` is flagged for the driver
 * (`takePolledPending`), which polls it again on wake and resumes the generator with the output.
 *
 * Each subclass writes `next` out itself, as three lines over the shared steps (here for the
 * first kind below):
 * ```ts
 * override next(sent?: unknown): this {
 *   if (this.stage !== FRESH) return finishYield(this, sent);
 *   const cx = startYield(this);
 *   return cx === null ? this : settleYield(this, this.poll(cx));
 * }
 * ```
 * so that each class has a `poll` call site of its own, which V8 inlines with its poll's fast
 * path. One `next` shared by the channel's send and receive saw both and inlined both polls into
 * one function. In the throughput benchmark that cost 709 instructions per message (JIT code and
 * V8 builtins), against 687 with a `next` per class, and 777 when the three lines were one shared
 * helper, whose call site is shared again.
 *
 * The lock acquire (`Acquire`, behind `Mutex.lock` and `Semaphore.acquire`) is one too, for
 * programs that await many kinds of future. After the channel workloads had run in the same
 * process, the awaiter's shared `next` had seen every kind, V8 inlined less under it and the
 * executor's loop, and a contended lock cost 3,531 instructions against 2,903 alone; with the
 * acquire's own `next`, 3,126 (2,953 alone). A semaphore acquire: 3,090 against 3,408 after the
 * channels, 3,153 against 3,022-3,039 alone. (An earlier try, with one `next` shared by every
 * self-awaiting class, was slower: that `next` was itself the shared site.) `yieldNow` stays on
 * the awaiter: as a self-awaiting future it cost 1,010 instructions per yield in `yield-many`
 * against 976, and the same per contended mutex lock (2,966 against 2,958).
 *
 * The library's own are base classes that inherit from this one with {@link inheritFrom} (see
 * "Constructors in try blocks" on Future): they set `stage` to `FRESH` in their constructors
 * themselves. A subclass in the ordinary sense works the same.
 *
 * Two kinds of subclass. One is its own completed result: it declares `done` and `value` fields,
 * sets them (`false`, itself) in its constructor, and uses `settleYield`/`finishYield`. The other
 * has no such fields (`done` is `false` on the prototype) and completes with the shared result
 * object, `doneWith`/`settleYieldResult` (`spendYield`/`settleSpent` if it is then spent): two fields fewer per future, as the channel's send and
 * receive do. Its `next` returns `{ done: false, value: this }` when it must not poll
 * (`startYield` gave `null`), since the driver then reads the future from `value`.
 *
 * Spent futures: once a `yield*` of the future has completed through its `next()` (stage
 * `SPENT`), the generator has its output and the driver holds no reference to it (it forgets the
 * future it waited on before resuming the generator). Its owner may then reuse the object for the
 * next future of the same kind, as the channel's send and receive do, so that a loop of
 * `yield* tx.send(v)` or `yield* rx.recv()` allocates nothing. A future completed any other way (by
 * `join`, `select`, a `map`, a manual poll) or dropped is never reused: a combinator may still
 * refer to it. Whoever kept a reference to a spent future must not poll or drop it again (Rust's
 * `.await` consumes the future; here the owner's documentation says so): the object may by then
 * be another wait.
 *
 * Subclasses must not use the names `done`, `value` and `stage` for other state. A second
 * `yield*` of the same future goes through a fresh {@link Await} (and polling a completed future
 * throws there, as for any other).
 */
export abstract class SelfAwaitingFuture<T> extends Future<T> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal FRESH, STARTED or POLLED_PENDING, as {@link Await.stage}, or SPENT. */
  declare stage: number;
  /**
   * @internal Iterator result: `false` on the prototype, so that a future returned as the
   * result of a `yield*` that is waiting needs no field for it. A subclass that is also its own
   * completed result (`done` and `value` fields of its own) assigns both in its constructor.
   */
  declare readonly done: boolean | 0 | 1;

  constructor() {
    super();
    this.stage = FRESH;
  }

  override [Symbol.iterator](): Iterator<Future<unknown>, T, unknown> {
    if (this.stage !== FRESH) return super[Symbol.iterator]();
    return this as unknown as Iterator<Future<unknown>, T, unknown>;
  }

  /** @internal The `yield*` protocol (see {@link Await.next}), written out by each subclass. */
  abstract next(sent?: unknown): unknown;

  /** @internal */
  throw(error: unknown): never {
    throw error;
  }

  /** @internal */
  return(value?: unknown): IteratorResult<never, unknown> {
    return { done: true, value };
  }
}
Object.defineProperty(SelfAwaitingFuture.prototype, "done", { value: false, writable: true });

/**
 * The class {@link takePolledPending} tests against on every task switch, through a module-local
 * const rather than its exported binding: see "Hot imports" on Future.
 */
const SelfAwaitingClass = SelfAwaitingFuture;
