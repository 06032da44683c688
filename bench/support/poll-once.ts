/**
 * A probe for leaf futures: poll one exactly once from inside a task, without waiting for it, so
 * that a benchmark can make a future register itself (a timer in the wheel, a waker on a resource)
 * and then drop it, as a task does when a `select` or `timeout` branch loses.
 */
import { type Context, Future, Pending, type Poll } from "../../src/index.js";

class PollOnce extends Future<boolean> {
  constructor(private readonly inner: Future<unknown>) {
    super();
  }
  poll(cx: Context): Poll<boolean> {
    return this.inner.poll(cx) === Pending;
  }
  override describe(): string {
    return `pollOnce(${this.inner.describe()})`;
  }
}

/**
 * A future that, when polled, polls `inner` once with the polling task's context and completes at
 * once: with `true` when `inner` returned `Pending` (it has registered the task's waker and is now
 * waiting), `false` when it completed. It never waits and does not drop `inner`: the caller owns
 * `inner` and drops it (or keeps polling it).
 *
 * @example
 * ```ts
 * const s = sleep(600_000);
 * if (yield* pollOnce(s)) console.log("registered");
 * s.drop(); // cancel: the timer entry leaves the wheel
 * ```
 */
export function pollOnce(inner: Future<unknown>): Future<boolean> {
  return new PollOnce(inner);
}
