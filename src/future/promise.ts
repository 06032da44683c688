import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import type { Waker } from "../task/waker.js";
import { Future, type InheritedFuture, inheritFrom, pollAfterCompletion } from "./future.js";

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * A future of a promise's outcome. The promise is created on the first poll when given as a
 * factory, and the factory receives an `AbortSignal` that aborts when the future is dropped before
 * it settles — so dropping the future really stops a `fetch` it started.
 *
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class PromiseFuture<T> implements InheritedFuture<T> {
  private settled: Settled<T> | null = null;
  private started = false;
  private done = false;
  private waker: Waker | null = null;
  private controller: AbortController | null = null;

  constructor(
    private readonly source: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>),
  ) {}

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    if (!this.started) this.start();
    const settled = this.settled;
    if (settled === null) {
      // Kept by a promise callback: a host wake, so the clone is not marked as runtime-held.
      if (this.waker === null || !this.waker.willWake(cx.waker)) {
        this.waker?.drop();
        this.waker = cx.waker.clone();
      }
      return Pending;
    }
    this.done = true;
    this.releaseWaker();
    if (settled.ok) return settled.value;
    throw settled.error;
  }

  /** Aborts the signal given to the factory (if the promise is still pending) and forgets it. */
  drop(): void {
    if (this.done) return;
    this.done = true;
    this.releaseWaker();
    if (this.settled === null) this.controller?.abort();
  }

  describe(): string {
    return this.settled === null ? "promise (pending)" : "promise (settled)";
  }

  private start(): void {
    this.started = true;
    let promise: PromiseLike<T>;
    if (typeof this.source === "function") {
      this.controller = new AbortController();
      try {
        promise = this.source(this.controller.signal);
      } catch (error) {
        this.settled = { ok: false, error };
        return;
      }
      if (promise === null || typeof (promise as { then?: unknown })?.then !== "function") {
        this.settled = {
          ok: false,
          error: new InvalidArgumentError(
            `fromPromise: the factory must return a promise, it returned ${describeValue(promise)}`,
          ),
        };
        return;
      }
    } else {
      promise = this.source;
    }
    promise.then(
      (value) => this.settle({ ok: true, value }),
      (error: unknown) => this.settle({ ok: false, error }),
    );
  }

  private settle(outcome: Settled<T>): void {
    if (this.settled !== null) return;
    this.settled = outcome;
    const waker = this.waker;
    this.waker = null;
    waker?.wake();
  }

  private releaseWaker(): void {
    this.waker?.drop();
    this.waker = null;
  }
}
inheritFrom(PromiseFuture, Future);

/**
 * A future of a promise's value (or its rejection, thrown). Prefer the lazy form,
 * `fromPromise((signal) => ...)`: the promise is created on the first poll (futures are lazy),
 * and `signal` aborts when the future is dropped, so the operation is cancelled too.
 *
 * @example
 * ```ts
 * const res = yield* fromPromise((signal) => fetch(url, { signal }));
 * const body = yield* fromPromise(() => res.text());
 * const ready = yield* fromPromise(existingPromise); // already running: dropping cannot stop it
 * ```
 * @throws {InvalidArgumentError} when given neither a promise nor a function.
 *
 * Cancel safety: dropping the future aborts the signal of the lazy form; an eager promise keeps
 * running and its outcome is discarded.
 */
export function fromPromise<T>(
  promise: PromiseLike<T> | ((signal: AbortSignal) => PromiseLike<T>),
): Future<T> {
  if (
    typeof promise !== "function" &&
    (promise === null || typeof (promise as { then?: unknown })?.then !== "function")
  ) {
    throw new InvalidArgumentError(
      `fromPromise: expected a promise or a function returning one, got ${describeValue(promise)}`,
    );
  }
  return new PromiseFuture(promise) as unknown as Future<T>;
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class WithSignal<T> implements InheritedFuture<T> {
  private waker: Waker | null = null;
  private listening = false;
  private aborting = false;
  private done = false;
  private readonly onAbort = (): void => {
    const waker = this.waker;
    this.waker = null;
    waker?.wake();
  };

  constructor(
    private readonly inner: Future<T>,
    private readonly signal: AbortSignal,
  ) {}

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    if (!this.aborting && !this.signal.aborted) {
      let r: Poll<T>;
      try {
        r = this.inner.poll(cx);
      } catch (error) {
        this.finish();
        throw error;
      }
      if (r !== Pending) {
        this.finish();
        return r;
      }
      if (!this.signal.aborted) {
        if (!this.listening) {
          this.listening = true;
          this.signal.addEventListener("abort", this.onAbort, { once: true });
        }
        if (this.waker === null || !this.waker.willWake(cx.waker)) {
          this.waker?.drop();
          this.waker = cx.waker.clone();
        }
        return Pending;
      }
    }
    this.aborting = true;
    if (this.inner.pollDrop(cx) === Pending) return Pending;
    this.finish();
    throw this.signal.reason;
  }

  pollDrop(cx: Context): Poll<void> {
    if (this.done) return undefined;
    if (this.inner.pollDrop(cx) === Pending) return Pending;
    this.finish();
    return undefined;
  }

  drop(): void {
    if (this.done) return;
    this.inner.drop();
    this.finish();
  }

  describe(): string {
    return `withSignal(${this.inner.describe()})`;
  }

  private finish(): void {
    this.done = true;
    if (this.listening) this.signal.removeEventListener("abort", this.onAbort);
    this.waker?.drop();
    this.waker = null;
  }
}
inheritFrom(WithSignal, Future);

/**
 * Runs `fut` until `signal` aborts: then `fut` is dropped (its cleanup runs to its end) and the
 * signal's `reason` is thrown.
 *
 * @example
 * ```ts
 * const controller = new AbortController();
 * button.onclick = () => controller.abort();
 * yield* withSignal(download(url), controller.signal);
 * ```
 * @throws the signal's `reason` once it aborts.
 *
 * Cancel safety: as cancel-safe as `fut`.
 */
export function withSignal<T>(fut: Future<T>, signal: AbortSignal): Future<T> {
  if (!(fut instanceof Future)) {
    throw new InvalidArgumentError(`withSignal: expected a Future, got ${describeValue(fut)}`);
  }
  if (
    signal === null ||
    typeof signal !== "object" ||
    typeof (signal as AbortSignal).addEventListener !== "function"
  ) {
    throw new InvalidArgumentError(
      `withSignal: expected an AbortSignal, got ${describeValue(signal)}`,
    );
  }
  return new WithSignal(fut, signal) as unknown as Future<T>;
}
