import type { Context } from "../task/context.js";
import { Pending } from "../task/poll.js";
import { Future, type InheritedFuture, inheritFrom } from "./future.js";

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Never<T> implements InheritedFuture<T> {
  poll(_cx: Context): typeof Pending {
    return Pending;
  }
  describe(): string {
    return "pending() (never completes)";
  }
}
inheritFrom(Never, Future);

/**
 * A future that never completes and never stores a waker. Awaiting it from the root of `run` is
 * reported as a deadlock; inside `select` or `timeout` it is the branch that never wins.
 *
 * @example
 * ```ts
 * const { index } = yield* select([pending(), sleep(10)]); // index === 1
 * ```
 *
 * Cancel safety: nothing to lose; dropping it does nothing.
 */
export function pending<T = never>(): Future<T> {
  return new Never<T>() as unknown as Future<T>;
}
