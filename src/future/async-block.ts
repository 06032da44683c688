import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { CleanupErrors } from "./drop-each.js";
import * as FutureModule from "./future.js";
import { type Await, type AwaiterOwner, Future, IN_AWAITER } from "./future.js";
import { dropNow } from "./orphan-cleanup.js";
import { Shield } from "./shield.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const {
  currentAsyncContext,
  enterAsyncBlock,
  leaveAsyncBlock,
  pollAfterCompletion,
  repollAwaiter,
  takePolledPending,
} = FutureModule;

/** The generator an async block runs: it yields futures (via `yield*`) and returns the output. */
export type AsyncGenerator<T> = Generator<Future<unknown>, T, unknown>;

const RUNNING = 0;
/** Cancellation requested: the awaited child is being dropped before `gen.return()`. */
const DROPPING_CHILD = 1;
/** `gen.return()` was called and the generator's `finally` blocks are awaiting futures. */
const FINALIZING = 2;
const DONE = 3;

const NEXT = 0;
const THROW = 1;
const RETURN = 2;

/** `resume` reached a `yield*` of an unshielded future while cancellation is pending. */
const CANCEL_POINT: unique symbol = Symbol("cancel point");

/**
 * The built-in generator methods, called directly: every `function*` closure gives its generator
 * objects their own hidden class, and `gen.next(x)` on many of them would make the call sites
 * megamorphic and deoptimize. Calling the one built-in function keeps them monomorphic.
 */
const GeneratorPrototype = Object.getPrototypeOf(function* () {}).prototype as Generator<unknown>;
const genNext = GeneratorPrototype.next;
const genThrow = GeneratorPrototype.throw;
const genReturn = GeneratorPrototype.return;

/**
 * The future behind {@link future} and {@link asyncFn}: drives a generator, polling each future
 * it yields and resuming it with the output (or throwing the error into it).
 *
 * Cancellation (`drop`/`pollDrop`) first drops the future the generator is waiting on (innermost
 * cleanup first, as stack unwinding does), then calls `gen.return()`, which runs the generator's
 * `finally` blocks. A `finally` that `yield*`s is asynchronous cleanup: `pollDrop` keeps polling
 * the futures it waits on until the generator has finished. (JavaScript's `gen.return()` cannot
 * resume a `finally` that was already running when cancellation came: that block stops at its
 * current `yield*`, and the enclosing `finally` blocks run. Cleanup that must finish goes in
 * `shield(...)`: cancellation waits for it, the block resumes after it, and the cancellation takes
 * effect at the next unshielded `yield*`.)
 */
export class GenFuture<T> extends Future<T> implements AwaiterOwner {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal The iterator object its `yield*`s reuse. */
  declare awaiter: Await | null;
  /**
   * The future the generator waits on, or {@link IN_AWAITER} when that is `awaiter.value` (the
   * future a `yield*` polled to Pending): storing a constant instead of a new future into this
   * long-lived object saves a write barrier per wait. Read it through `current`.
   */
  declare private waitingOn: Future<unknown> | typeof IN_AWAITER | null;
  declare private state: number;
  /** Errors thrown by cleanup, reported once cancellation completes (allocated when needed). */
  declare private cleanupErrors: CleanupErrors | null;
  declare private readonly native: boolean;
  declare private readonly gen: AsyncGenerator<T>;
  declare private readonly name: string;

  constructor(gen: AsyncGenerator<T>, name: string) {
    super();
    this.awaiter = null;
    this.waitingOn = null;
    this.state = RUNNING;
    this.cleanupErrors = null;
    this.native = Object.getPrototypeOf(Object.getPrototypeOf(gen)) === GeneratorPrototype;
    this.gen = gen;
    this.name = name;
  }

  /** The future the generator waits on, `null` when none. */
  private get current(): Future<unknown> | null {
    const waitingOn = this.waitingOn;
    return waitingOn === IN_AWAITER ? (this.awaiter?.value as Future<unknown>) : waitingOn;
  }

  private set current(fut: Future<unknown> | null) {
    this.waitingOn = fut;
  }

  poll(cx: Context): Poll<T> {
    if (this.state !== RUNNING) throw pollAfterCompletion(this);
    const waitingOn = this.waitingOn;
    let input: unknown;
    if (waitingOn !== null) {
      // `waitingOn` holds a future or IN_AWAITER, its only symbol: tested with `typeof`, which
      // V8 compiles to a type check, where a comparison with the symbol on a field that also
      // holds objects calls its generic strict-equality builtin (as for `Pending`).
      if (typeof waitingOn === "symbol" && this.native === true) {
        // A `yield*` waits in the shared awaiter: resume the generator and let the awaiter poll
        // its future again (`repollAwaiter`). A self-awaiting future (channel send and receive)
        // or a plainly yielded one is polled here, where its poll can be inlined: measured
        // faster for channel ping-pong than repolling it inside the generator.
        repollAwaiter(this);
      } else {
        try {
          input = (
            typeof waitingOn === "symbol" ? (this.awaiter!.value as Future<unknown>) : waitingOn
          ).poll(cx);
        } catch (error) {
          return this.childFailed(cx, error) as Poll<T>;
        }
        // Typed Pending test: see `Pending`.
        if (typeof input === "symbol" && input === Pending) return Pending;
      }
      this.waitingOn = null;
    }
    if (this.native === false) return this.resume(cx, NEXT, input) as Poll<T>;
    // The common step, without `resume`'s loop, mode dispatch and finally: resume the generator
    // once; it usually stops at a `yield*` that polled its future to Pending. The rarer outcomes
    // are handled in methods of their own, which keeps this method small enough for V8 to inline
    // it into the executor's loop.
    const previousCx = currentAsyncContext();
    const previous = enterAsyncBlock(cx, this);
    let step: IteratorResult<unknown, unknown>;
    try {
      step = genNext.call(this.gen, input);
    } catch (error) {
      throw this.bodyFailed(previous, previousCx, error);
    }
    leaveAsyncBlock(previous, previousCx);
    const pending = takePolledPending(step, this);
    if (pending !== null) {
      this.waitingOn = pending;
      return Pending;
    }
    return this.afterStep(cx, step) as Poll<T>;
  }

  /** The awaited future threw: the generator gets the error at its `yield*`. */
  private childFailed(cx: Context, error: unknown): unknown {
    this.waitingOn = null;
    return this.resume(cx, THROW, error);
  }

  /** The generator threw out of its body: it is done; the error is the poll's. */
  private bodyFailed(
    previous: AwaiterOwner | null,
    previousCx: Context | null,
    error: unknown,
  ): unknown {
    leaveAsyncBlock(previous, previousCx);
    this.state = DONE;
    return error;
  }

  /** A step that did not stop at a polled `yield*`: the block returned, or yielded a future. */
  private afterStep(cx: Context, step: IteratorResult<unknown, unknown>): unknown {
    if (step.done) {
      this.state = DONE;
      return step.value;
    }
    return this.resumeWith(cx, step.value);
  }

  /** Continues `poll` after the generator yielded something `yield*` did not poll (a plain `yield`). */
  private resumeWith(cx: Context, yielded: unknown): unknown {
    if (!(yielded instanceof Future)) {
      return this.resume(cx, THROW, invalidYield(this.name, yielded));
    }
    let r: unknown;
    try {
      r = yielded.poll(cx);
    } catch (error) {
      return this.resume(cx, THROW, error);
    }
    if (r === Pending) {
      this.current = yielded;
      return Pending;
    }
    return this.resume(cx, NEXT, r);
  }

  override drop(): void {
    if (this.state !== DONE) dropNow(this);
  }

  override pollDrop(cx: Context): Poll<void> {
    if (this.state === DONE) return undefined;
    if (this.state === RUNNING) this.state = DROPPING_CHILD;
    while (this.state === DROPPING_CHILD) {
      const child = this.current;
      if (child instanceof Shield) {
        // Shielded: let it finish, resume the block, and cancel at its next unshielded yield*.
        let r: unknown;
        let mode = NEXT;
        try {
          r = child.poll(cx);
          if (r === Pending) return Pending;
        } catch (error) {
          r = error;
          mode = THROW;
        }
        this.current = null;
        const next = this.resume(cx, mode, r);
        if (next === CANCEL_POINT) continue;
        if (next === Pending) return Pending;
        return this.finishDrop();
      }
      // Drop the awaited child first (its own cleanup may wait), then run our finally blocks.
      if (child !== null) {
        try {
          if (child.pollDrop(cx) === Pending) return Pending;
        } catch (error) {
          this.recordCleanupError(error);
        }
        this.current = null;
      }
      this.state = FINALIZING;
      return this.afterFinalizerStep(this.resume(cx, RETURN, undefined));
    }
    // FINALIZING: a finally block is waiting on `current`.
    const current = this.current;
    if (current === null) return this.finishDrop();
    let r: unknown;
    try {
      r = current.poll(cx);
    } catch (error) {
      this.current = null;
      return this.afterFinalizerStep(this.resume(cx, THROW, error));
    }
    if (r === Pending) return Pending;
    this.current = null;
    return this.afterFinalizerStep(this.resume(cx, NEXT, r));
  }

  override describe(): string {
    const inner = this.current;
    const suffix = this.state >= FINALIZING ? " (finalizing)" : "";
    return inner === null ? `${this.name}${suffix}` : `${this.name}${suffix} > ${inner.describe()}`;
  }

  private afterFinalizerStep(r: unknown): Poll<void> {
    if (r === Pending) return Pending;
    return this.finishDrop();
  }

  private finishDrop(): Poll<void> {
    const errors = this.cleanupErrors;
    if (errors !== null) {
      this.cleanupErrors = null;
      errors.throwIfAny();
    }
    return undefined;
  }

  private recordCleanupError(error: unknown): void {
    this.cleanupErrors ??= new CleanupErrors();
    this.cleanupErrors.add(error);
  }

  /** One step of the generator: `next`, `throw` or `return` with `input`. */
  private step(mode: number, input: unknown): IteratorResult<unknown, unknown> {
    const gen = this.gen;
    if (this.native === true) {
      return mode === NEXT
        ? genNext.call(gen, input)
        : mode === THROW
          ? genThrow.call(gen, input)
          : genReturn.call(gen, input as T);
    }
    return mode === NEXT
      ? gen.next(input)
      : mode === THROW
        ? gen.throw(input)
        : gen.return(input as T);
  }

  /**
   * Resumes the generator (`mode` with `input`) with this block active, so that `yield*` polls
   * inline, and keeps going while the futures it yields are ready at once. Returns `Pending` or the
   * generator's return value. While finalizing, a throw is recorded as a cleanup error; otherwise
   * it escapes.
   */
  private resume(cx: Context, mode: number, input: unknown): unknown {
    const previousCx = currentAsyncContext();
    // While cancellation is pending, yield* must not poll inline: the next future may never run.
    const cancelling = this.state === DROPPING_CHILD;
    const previous = enterAsyncBlock(cancelling ? null : cx, this);
    try {
      for (;;) {
        let step: IteratorResult<unknown, unknown>;
        try {
          step = this.step(mode, input);
        } catch (error) {
          if (this.state === FINALIZING) {
            this.state = DONE;
            this.recordCleanupError(error);
            return undefined;
          }
          this.state = DONE;
          throw error;
        }
        if (step.done) {
          this.state = DONE;
          return step.value;
        }
        const waitingOn = takePolledPending(step, this);
        if (waitingOn !== null) {
          // `yield*` already polled it with this context: its waker is registered.
          this.waitingOn = waitingOn;
          return Pending;
        }
        const yielded = step.value;
        if (!(yielded instanceof Future)) {
          mode = THROW;
          input = invalidYield(this.name, yielded);
          continue;
        }
        if (cancelling && !(yielded instanceof Shield)) {
          this.current = yielded;
          return CANCEL_POINT;
        }
        let r: unknown;
        try {
          r = yielded.poll(cx);
        } catch (error) {
          mode = THROW;
          input = error;
          continue;
        }
        if (r === Pending) {
          this.current = yielded;
          return Pending;
        }
        mode = NEXT;
        input = r;
      }
    } finally {
      leaveAsyncBlock(previous, previousCx);
    }
  }
}

function invalidYield(name: string, value: unknown): InvalidArgumentError {
  const hint =
    value instanceof Promise
      ? "; wrap a Promise with fromPromise(() => promise) and use yield*"
      : "; use yield* with a Future";
  return new InvalidArgumentError(
    `async block ${name} yielded ${describeValue(value)}, not a Future${hint}`,
  );
}

/** The prototype of every `async function*`: its generators' `next()` returns a Promise. */
const AsyncGeneratorFunctionPrototype: object = Object.getPrototypeOf(async function* () {});

function checkGeneratorFunction(genFn: unknown, where: string): void {
  if (typeof genFn !== "function") {
    throw new InvalidArgumentError(
      `${where}: expected a generator function (function* () { ... }), got ${describeValue(genFn)}`,
    );
  }
  // Its steps are Promises, never `done`: the block would loop for ever in one poll.
  if (Object.getPrototypeOf(genFn) === AsyncGeneratorFunctionPrototype) {
    throw new InvalidArgumentError(
      `${where}: expected a generator function (function* () { ... }), got an async generator function (async function*); await futures with yield* in a plain function*`,
    );
  }
}

function startGenerator<T>(gen: unknown, name: string, where: string): GenFuture<T> {
  if (
    gen === null ||
    typeof gen !== "object" ||
    typeof (gen as Generator).next !== "function" ||
    typeof (gen as Generator).return !== "function"
  ) {
    throw new InvalidArgumentError(
      `${where}: ${name} must be a generator function (function* () { ... }); it returned ${describeValue(gen)}`,
    );
  }
  return new GenFuture(gen as AsyncGenerator<T>, name);
}

/**
 * An async block: a lazy future that runs the generator function's body when polled. Inside,
 * `yield* fut` waits for a future and evaluates to its output; `try/finally` works as with
 * `async/await`, and a `finally` also runs when the future is dropped (cancelled) — if it
 * `yield*`s, the owner drives that cleanup to its end.
 *
 * An inline `function*` costs ~1-2 µs on its first call (V8 builds it per closure); for code that
 * runs many times, define it once with {@link asyncFn}.
 *
 * @example
 * ```ts
 * const main = future(function* () {
 *   const reply = yield* client.send("HELO example.com");
 *   return reply.code;
 * });
 * ```
 * @throws {InvalidArgumentError} when `genFn` is not a generator function (an `async function*`
 * included).
 *
 * Cancel safety: dropping the future stops the body at its current `yield*` and runs its
 * `finally` blocks exactly once.
 */
export function future<T>(genFn: () => AsyncGenerator<T>): Future<T> {
  checkGeneratorFunction(genFn, "future");
  const name = genFn.name || "future";
  return startGenerator<T>(genFn(), name, "future");
}

/**
 * An async fn: wraps a generator function defined once (like `async function`) into a function
 * that returns a lazy future per call. This is the fast way to write a task that runs often.
 *
 * @example
 * ```ts
 * const fetchUser = asyncFn(function* (id: number) {
 *   const row = yield* db.query(id);
 *   return row.name;
 * });
 * const name = yield* fetchUser(7);
 * ```
 * @throws {InvalidArgumentError} when `genFn` is not a generator function (an `async function*`
 * included).
 *
 * Cancel safety: as {@link future}.
 */
export function asyncFn<A extends unknown[], T>(
  genFn: (...args: A) => AsyncGenerator<T>,
): (...args: A) => Future<T> {
  checkGeneratorFunction(genFn, "asyncFn");
  const name = genFn.name || "asyncFn";
  const call = genFn as unknown as (this: unknown, ...args: unknown[]) => AsyncGenerator<T>;
  return function asyncFnCall(this: unknown): Future<T> {
    // Spread-free calls for the common arities: no arguments array per call.
    const n = arguments.length;
    const gen =
      n === 0
        ? call.call(this)
        : n === 1
          ? call.call(this, arguments[0])
          : n === 2
            ? call.call(this, arguments[0], arguments[1])
            : call.apply(this, arguments as unknown as unknown[]);
    return startGenerator<T>(gen, name, "asyncFn");
  } as (...args: A) => Future<T>;
}
