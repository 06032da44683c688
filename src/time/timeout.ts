import {
  expectFuture,
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import { dropNow } from "../future/orphan-cleanup.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { checkDuration, TimeoutError } from "./errors.js";
import { type Sleep, sleep } from "./sleep.js";

const WAITING = 0;
/** The deadline passed: the inner future is being dropped before `TimeoutError` is thrown. */
const EXPIRING = 1;
const DONE = 2;

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Timeout<T> implements InheritedFuture<T> {
  private readonly timer: Sleep;
  private state = WAITING;

  constructor(
    private readonly inner: Future<T>,
    private readonly ms: number,
  ) {
    this.timer = sleep(ms);
  }

  poll(cx: Context): Poll<T> {
    if (this.state === DONE) throw pollAfterCompletion(this);
    if (this.state === WAITING) {
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
      if (this.timer.poll(cx) === Pending) return Pending;
      this.state = EXPIRING;
    }
    if (this.inner.pollDrop(cx) === Pending) return Pending;
    this.finish();
    throw new TimeoutError(this.ms);
  }

  drop(): void {
    dropNow(this as unknown as Future<T>);
  }

  pollDrop(cx: Context): Poll<void> {
    if (this.state === DONE) return undefined;
    this.timer.drop();
    if (this.inner.pollDrop(cx) === Pending) return Pending;
    this.state = DONE;
    return undefined;
  }

  describe(): string {
    return `timeout(${this.ms} ms, ${this.inner.describe()})`;
  }

  private finish(): void {
    this.state = DONE;
    this.timer.drop();
  }
}
inheritFrom(Timeout, Future);

/**
 * Runs `fut` with a time limit: completes as `fut` does, or — once `ms` milliseconds have passed
 * since the first poll — drops `fut` (its cleanup runs to its end) and throws {@link TimeoutError}.
 * `fut` is polled before the timer, so a value ready at the deadline wins.
 *
 * @example
 * ```ts
 * const reply = yield* timeout(client.readReply(), 30_000);
 * ```
 * @throws {TimeoutError} when the deadline passed first.
 * @throws {InvalidDurationError} (a `RangeError`) for a negative, NaN or non-finite `ms`.
 *
 * Cancel safety: as cancel-safe as `fut`: on timeout `fut` is dropped mid-way.
 */
export function timeout<T>(fut: Future<T>, ms: number): Future<T> {
  return new Timeout(
    expectFuture(fut, "timeout") as Future<T>,
    checkDuration(ms, "timeout"),
  ) as unknown as Future<T>;
}
