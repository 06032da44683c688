import { Future } from "./future.js";

class Ready<T> extends Future<T> {
  constructor(private readonly value: T) {
    super();
  }
  poll(): T {
    return this.value;
  }
  override describe(): string {
    return "ready";
  }
}

/**
 * A future that is ready at once with `value`.
 *
 * @example
 * ```ts
 * const five = yield* ready(5);
 * ```
 */
export function ready<T>(value: T): Future<T> {
  return new Ready(value);
}
