import { Future, type InheritedFuture, inheritFrom } from "./future.js";

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Ready<T> implements InheritedFuture<T> {
  constructor(private readonly value: T) {}
  poll(): T {
    return this.value;
  }
  describe(): string {
    return "ready";
  }
}
inheritFrom(Ready, Future);

/**
 * A future that is ready at once with `value`.
 *
 * @example
 * ```ts
 * const five = yield* ready(5);
 * ```
 */
export function ready<T>(value: T): Future<T> {
  return new Ready(value) as unknown as Future<T>;
}
