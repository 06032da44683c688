import type { Context } from "../task/context.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { Future, type InheritedFuture, inheritFrom } from "./future.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;

/**
 * `yieldNow`'s future: a const class expression, not a declaration, on the task switch's path (see
 * "Hot imports" on Future), and a base class that inherits from Future without deriving from it
 * (see "Constructors in try blocks" there).
 */
const YieldNow = class YieldNow implements InheritedFuture<void> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare private yielded: boolean;

  constructor() {
    this.yielded = false;
  }

  poll(cx: Context): Poll<void> {
    if (this.yielded === true) return undefined;
    this.yielded = true;
    cx.waker.wakeByRef();
    return Pending;
  }

  describe(): string {
    return "yieldNow";
  }
};
inheritFrom(YieldNow, Future);

/**
 * Gives other ready tasks a turn: returns `Pending` once after waking its own task, so the task goes
 * to the back of the ready queue (tokio's `yield_now`).
 *
 * @example
 * ```ts
 * for (const item of bigArray) {
 *   process(item);
 *   yield* yieldNow();
 * }
 * ```
 *
 * Cancel safety: nothing to lose.
 */
export function yieldNow(): Future<void> {
  return new YieldNow() as unknown as Future<void>;
}
