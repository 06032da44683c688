/**
 * The result of polling: either the value (ready) or the {@link Pending} marker.
 *
 * `Poll<T>` is a plain union, so returning a ready value allocates nothing. A future whose output
 * type could itself be `Pending` is not supported (nothing in the library produces one).
 *
 * @example
 * ```ts
 * const p: Poll<number> = fut.poll(cx);
 * if (isReady(p)) console.log("got", p);
 * ```
 */
export type Poll<T> = T | typeof Pending;

/**
 * The marker a future returns from `poll` when it cannot complete yet. Before returning it, the
 * future must have arranged for the current `cx.waker` (or a clone) to be woken when progress is
 * possible.
 *
 * @example
 * ```ts
 * poll(cx) { if (!this.done) { this.slot = cx.waker.clone(); return Pending; } return this.value; }
 * ```
 *
 * "Typed Pending test": the task switch's own tests of a poll result (the executor loop, the
 * async block's child poll, the `yield*` iterators) are written `typeof r === "symbol" && r ===
 * Pending`. V8 then only ever sees symbols at the comparison and compiles it to a pointer compare;
 * a bare `r === Pending`, where `r` is sometimes a number (a channel's message), compiles to a call
 * of its generic strict-equality builtin: measured at ~3% of the instructions of a task switch.
 */
export const Pending: unique symbol = Symbol("Pending");

/**
 * The marker a stream's `pollNext` returns when the stream has ended (Rust's `Ready(None)`).
 *
 * @example
 * ```ts
 * const item = stream.pollNext(cx);
 * if (item === Done) console.log("stream ended");
 * ```
 */
export const Done: unique symbol = Symbol("Done");

/**
 * True when a poll result carries a value.
 *
 * @example
 * ```ts
 * if (isReady(fut.poll(cx))) console.log("finished");
 * ```
 */
export function isReady<T>(poll: Poll<T>): poll is T {
  return poll !== Pending;
}

/**
 * True when a poll result is {@link Pending}.
 *
 * @example
 * ```ts
 * if (isPending(fut.poll(cx))) console.log("not yet");
 * ```
 */
export function isPending<T>(poll: Poll<T>): poll is typeof Pending {
  return poll === Pending;
}
