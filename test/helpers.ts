import {
  type Context,
  Future,
  future,
  Pending,
  type Poll,
  type Waker,
  yieldNow,
} from "../src/index.js";

/** A future that yields `n` times (each a trip through the ready queue), then completes. */
export function ticks(n: number): Future<void> {
  return future(function* ticksBody() {
    for (let i = 0; i < n; i++) yield* yieldNow();
  });
}

/**
 * A leaf that completes when `open()` is called from outside, holding a waker clone meanwhile (so
 * the runtime knows something outside can wake it). Counts its polls and drops.
 */
export class Gate<T = void> extends Future<T> {
  polls = 0;
  drops = 0;
  private waker: Waker | null = null;
  private value: { v: T } | null = null;

  poll(cx: Context): Poll<T> {
    this.polls++;
    if (this.value !== null) return this.value.v;
    if (this.waker === null || !this.waker.willWake(cx.waker)) {
      this.waker?.drop();
      this.waker = cx.waker.clone();
    }
    return Pending;
  }

  open(value: T): void {
    this.value = { v: value };
    const w = this.waker;
    this.waker = null;
    w?.wake();
  }

  override drop(): void {
    this.drops++;
    this.waker?.drop();
    this.waker = null;
  }
}
