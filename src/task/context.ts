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
    // Lent, as Rust's `Context` borrows its waker: `cx.waker.wake()` acts as `wakeByRef()` and
    // `cx.waker.drop()` does nothing, for every poller (not only a task), so a future that wakes
    // `cx.waker` on each poll is not left unwoken after the first, and the caller keeps its waker.
    this.waker = waker.borrowed === true ? waker : new Waker(waker.data, waker.vtable, true);
  }

  /**
   * A context that lends `waker` to the futures it polls: `cx.waker` wakes what `waker` wakes
   * (`cx.waker.willWake(waker)`), and, as the waker of a task, is borrowed: `wake()` on it behaves
   * as `wakeByRef()`, `drop()` does nothing, and `waker` stays owned by the caller.
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
