import type { Context } from "../task/context.js";
import { expectFunction } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { Future, type InheritedFuture, inheritFrom } from "./future.js";

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class PollFn<T> implements InheritedFuture<T> {
  constructor(
    private readonly fn: (cx: Context) => Poll<T>,
    private readonly onDrop: (() => void) | undefined,
  ) {}
  private dropped = false;
  poll(cx: Context): Poll<T> {
    const r = this.fn(cx);
    // Completed: nothing left to release, so a later drop() must not call onDrop.
    if (r !== Pending) this.dropped = true;
    return r;
  }
  drop(): void {
    if (this.dropped) return; // also after completion
    this.dropped = true;
    this.onDrop?.();
  }
  describe(): string {
    return `pollFn(${this.fn.name || "anonymous"})`;
  }
}
inheritFrom(PollFn, Future);

/**
 * A future whose `poll` is `fn`: the quickest way to write a leaf future. The optional `onDrop`
 * runs once when the future is dropped before completing (deregister what `fn` registered).
 *
 * @example
 * ```ts
 * let waker: Waker | null = null;
 * const reply = pollFn((cx) => {
 *   if (answer !== undefined) return answer;
 *   waker = cx.waker.clone();
 *   return Pending;
 * }, { onDrop: () => waker?.drop() });
 * ```
 * @throws {InvalidArgumentError} when `fn` is not a function.
 *
 * Cancel safety: whatever `fn` and `onDrop` make it.
 */
export function pollFn<T>(
  fn: (cx: Context) => Poll<T>,
  options?: { onDrop?: () => void },
): Future<T> {
  expectFunction(fn, "pollFn", "a function (cx) => Poll<T>");
  return new PollFn(fn, options?.onDrop) as unknown as Future<T>;
}
