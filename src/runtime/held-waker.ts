import type { Waker } from "../task/waker.js";
import { heldByRuntime, releasedByRuntime } from "./task.js";

/**
 * One waker kept by a runtime structure (a timer, a join set, a scope) until the event it waits
 * for. `register` keeps a clone of the polling task's waker, skipping the clone when the stored
 * one already wakes the same task; the clone is marked as held by the runtime, so it does not
 * count as a way out of a deadlock (only timers and drivers, which count themselves, do).
 *
 * @example
 * ```ts
 * poll(cx: Context): Poll<void> {
 *   if (this.done) return undefined;
 *   this.waiter.register(cx.waker);
 *   return Pending;
 * }
 * // when the event happens:
 * this.waiter.wake();
 * ```
 */
export class HeldWaker {
  private waker: Waker | null = null;

  /**
   * @param wokenByHost `false` (default): only tasks of the runtime wake this waker, so it is not
   * a way out of a deadlock. `true`: a host callback may wake it (it counts as one).
   */
  constructor(private readonly wokenByHost = false) {}

  /** True while a waker is stored. */
  get isRegistered(): boolean {
    return this.waker !== null;
  }

  /** Stores (a clone of) `waker`, unless the stored one already wakes the same task. */
  register(waker: Waker): void {
    const current = this.waker;
    if (current?.willWake(waker)) return;
    this.release();
    const clone = waker.clone();
    if (!this.wokenByHost) heldByRuntime(clone);
    this.waker = clone;
  }

  /** Wakes the stored waker, if any, and forgets it. */
  wake(): void {
    const waker = this.take();
    waker?.wake();
  }

  /** Removes the stored waker and hands it to the caller (who must wake or drop it). */
  take(): Waker | null {
    const waker = this.waker;
    if (waker === null) return null;
    this.waker = null;
    if (!this.wokenByHost) releasedByRuntime(waker);
    return waker;
  }

  /** Wakes the stored waker, if any, and keeps it. */
  wakeByRef(): void {
    this.waker?.wakeByRef();
  }

  /** Drops the stored waker, if any, without waking. */
  release(): void {
    this.take()?.drop();
  }
}
