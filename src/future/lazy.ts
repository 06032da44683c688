import type { Context } from "../task/context.js";
import { expectFunction } from "../task/errors.js";
import type { Poll } from "../task/poll.js";
import {
  expectFuture,
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "./future.js";
import { dropNow } from "./orphan-cleanup.js";

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Lazy<T> implements InheritedFuture<T> {
  private inner: Future<T> | null = null;
  private dropped = false;
  constructor(private readonly make: () => Future<T>) {}
  poll(cx: Context): Poll<T> {
    if (this.dropped) throw pollAfterCompletion(this);
    if (this.inner === null) {
      this.inner = expectFuture(this.make(), "lazy factory") as Future<T>;
    }
    return this.inner.poll(cx);
  }
  drop(): void {
    dropNow(this as unknown as Future<unknown>);
  }
  pollDrop(cx: Context): Poll<void> {
    this.dropped = true;
    return this.inner === null ? undefined : this.inner.pollDrop(cx);
  }
  describe(): string {
    if (this.inner !== null) return this.inner.describe();
    return this.dropped ? "lazy (dropped)" : "lazy (not started)";
  }
}
inheritFrom(Lazy, Future);

/**
 * A future that calls `make` on its first poll and then behaves as the future it returned. Useful
 * to defer building an expensive future, or one with side effects at construction, until needed.
 *
 * @example
 * ```ts
 * const conn = lazy(() => openConnection(config.host));
 * ```
 * @throws {InvalidArgumentError} when `make` is not a function.
 *
 * Cancel safety: as the future `make` returns; if dropped before the first poll, `make` never runs.
 */
export function lazy<T>(make: () => Future<T>): Future<T> {
  expectFunction(make, "lazy", "a function () => Future");
  return new Lazy(make) as unknown as Future<T>;
}
