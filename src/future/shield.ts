import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { expectFuture, Future, pollAfterCompletion } from "./future.js";
import { dropNow } from "./orphan-cleanup.js";

/**
 * The future behind {@link shield}: cancelling it does not stop it, it runs to its end.
 */
export class Shield<T> extends Future<T> {
  private done = false;

  /** @internal Use {@link shield}. */
  constructor(private readonly inner: Future<T>) {
    super();
  }

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    return this.pollInner(cx);
  }

  /**
   * Cancellation waits for the inner future to finish (its value is discarded, its error thrown).
   * Once it has finished or thrown, the shield is done: `drop()` and `pollDrop` do nothing more.
   */
  override pollDrop(cx: Context): Poll<void> {
    if (this.done) return undefined;
    return this.pollInner(cx) === Pending ? Pending : undefined;
  }

  /** Polls the inner future; once it completes or throws (which completes it too), it is done. */
  private pollInner(cx: Context): Poll<T> {
    let r: Poll<T>;
    try {
      r = this.inner.poll(cx);
    } catch (error) {
      this.done = true;
      throw error;
    }
    if (r !== Pending) this.done = true;
    return r;
  }

  override drop(): void {
    if (!this.done) dropNow(this);
  }

  override describe(): string {
    return `shield(${this.inner.describe()})`;
  }
}

/**
 * Protects `fut` from cancellation: if its owner is cancelled while waiting on it, `fut` still runs
 * to its end, and inside an async block the block resumes after the `yield*` as usual; the
 * cancellation takes effect at the block's next unshielded `yield*`. Use it for cleanup that must
 * finish — in particular inside a `finally`, which JavaScript would otherwise cut short at its
 * current `yield*` when cancellation arrives while that `finally` is already running.
 *
 * @example
 * ```ts
 * try {
 *   yield* conn.sendAll(batch);
 * } finally {
 *   yield* shield(conn.flush()); // completes even if the task is aborted meanwhile
 *   conn.close();
 * }
 * ```
 * @throws {InvalidArgumentError} when `fut` is not a future.
 *
 * Cancel safety: that is the point: it cannot be cancelled, so make sure `fut` finishes.
 */
export function shield<T>(fut: Future<T>): Future<T> {
  return new Shield(expectFuture(fut, "shield") as Future<T>);
}
