import { describeValue, InvalidArgumentError } from "./errors.js";
import { Waker } from "./waker.js";

/**
 * What a future is polled with: for now, the waker of the task doing the polling (Rust's
 * `std::task::Context`). Valid for the duration of one `poll`; to be woken later, keep
 * `cx.waker.clone()`, never `cx` or `cx.waker` itself.
 *
 * @example
 * ```ts
 * const cx = Context.fromWaker(Waker.noop());
 * const result = fut.poll(cx);
 * ```
 */
export class Context {
  /** The waker of the task being polled. */
  readonly waker: Waker;

  /** @internal A runtime reuses one context for all its polls, pointing it at each task in turn. */
  static setWaker(cx: Context, waker: Waker): void {
    (cx as { waker: Waker }).waker = waker;
  }

  /** @internal Use {@link Context.fromWaker}. */
  constructor(waker: Waker) {
    this.waker = waker;
  }

  /**
   * A context whose waker is `waker`.
   *
   * @example
   * ```ts
   * const cx = Context.fromWaker(Waker.from(() => console.log("woken")));
   * ```
   * @throws {InvalidArgumentError} when `waker` is not a `Waker`.
   */
  static fromWaker(waker: Waker): Context {
    if (!(waker instanceof Waker)) {
      throw new InvalidArgumentError(
        `Context.fromWaker: expected a Waker, got ${describeValue(waker)}`,
      );
    }
    return new Context(waker);
  }
}
