import {
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import type { Context } from "../task/context.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { Waiter, WaitList } from "./wait-list.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;

/**
 * Wakes tasks without passing data (tokio's `Notify`). `notifyOne()` wakes the oldest waiter or,
 * if none waits, stores one permit that the next `notified()` consumes at once; `notifyWaiters()`
 * wakes every `notified()` future created before the call (stores nothing).
 *
 * @example
 * ```ts
 * const ready = new Notify();
 * spawn(future(function* () { yield* ready.notified(); console.log("go"); }));
 * ready.notifyOne();
 * ```
 */
export class Notify {
  private permit = false;
  /** @internal Bumped by each notifyWaiters(). */
  epoch = 0;
  /** @internal */
  readonly waiters = new WaitList();

  /** Wakes the oldest waiter, or stores a permit (at most one) for the next `notified()`. */
  notifyOne(): void {
    const waiter = this.waiters.popFront();
    if (waiter === null) {
      this.permit = true;
      return;
    }
    waiter.ready = true;
    waiter.assigned = 1; // notified by notifyOne: passed on if the waiter is dropped unread
    waiter.wake();
  }

  /** Wakes every `notified()` future created before this call. */
  notifyWaiters(): void {
    this.epoch++;
    this.waiters.wakeAll();
  }

  /**
   * A future that completes when notified.
   *
   * Cancel safety: dropping it loses no notification: one it received from `notifyOne` but did
   * not report is passed to the next waiter (or stored as the permit).
   */
  notified(): Future<void> {
    return new Notified(this) as unknown as Future<void>;
  }

  /** @internal */
  takePermit(): boolean {
    if (!this.permit) return false;
    this.permit = false;
    return true;
  }
}

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class Notified implements InheritedFuture<void> {
  private waiter: Waiter | null = null;
  private done = false;
  private readonly epoch: number;

  constructor(private readonly notify: Notify) {
    this.epoch = notify.epoch;
  }

  poll(cx: Context): Poll<void> {
    if (this.done) throw pollAfterCompletion(this);
    const notify = this.notify;
    let waiter = this.waiter;
    if (waiter === null) {
      // The stored permit first, as tokio's Notified: a future released by notifyWaiters still
      // consumes a permit stored before its first poll, rather than leaving it for the next one.
      if (notify.takePermit() || notify.epoch !== this.epoch) return this.finish();
      waiter = new Waiter();
      this.waiter = waiter;
      notify.waiters.pushBack(waiter);
    }
    if (waiter.ready || notify.epoch !== this.epoch) return this.finish();
    waiter.register(cx.waker);
    return Pending;
  }

  drop(): void {
    if (this.done) return;
    this.done = true;
    const waiter = this.waiter;
    if (waiter === null) return;
    this.notify.waiters.cancel(waiter);
    if (waiter.assigned === 1) this.notify.notifyOne();
  }

  describe(): string {
    return "Notify.notified";
  }

  private finish(): void {
    this.done = true;
    if (this.waiter !== null) {
      this.notify.waiters.cancel(this.waiter);
    }
  }
}
inheritFrom(Notified, Future);
