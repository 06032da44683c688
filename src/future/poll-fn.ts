import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { Future } from "./future.js";

class PollFn<T> extends Future<T> {
  constructor(
    private readonly fn: (cx: Context) => Poll<T>,
    private readonly onDrop: (() => void) | undefined,
  ) {
    super();
  }
  private dropped = false;
  poll(cx: Context): Poll<T> {
    const r = this.fn(cx);
    // Completed: nothing left to release, so a later drop() must not call onDrop.
    if (r !== Pending) this.dropped = true;
    return r;
  }
  override drop(): void {
    if (this.dropped) return; // also after completion
    this.dropped = true;
    this.onDrop?.();
  }
  override describe(): string {
    return `pollFn(${this.fn.name || "anonymous"})`;
  }
}

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
  if (typeof fn !== "function") {
    throw new InvalidArgumentError(
      `pollFn: expected a function (cx) => Poll<T>, got ${describeValue(fn)}`,
    );
  }
  return new PollFn(fn, options?.onDrop);
}
