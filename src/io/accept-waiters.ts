import { type Waiter, WaitList } from "../sync/wait-list.js";
import type { Waker } from "../task/waker.js";

/**
 * @internal The accepts waiting on a listener (the real `TcpListener` and the simulated one),
 * FIFO: what arrives (a connection, an accept error) wakes the accept that has waited longest;
 * one woken that stops waiting before it took it passes it on to the next; a close wakes them
 * all. Several tasks may so accept on one listener with no wakeup lost.
 */
export class AcceptWaiters {
  private readonly list = new WaitList();

  /** `waiter` (an accept's own) waits with `waker` for what comes next. */
  park(waiter: Waiter, waker: Waker): void {
    waiter.ready = false;
    this.list.park(waiter, waker);
  }

  /**
   * `waiter` stops waiting: it took something (`pending` false), or was dropped; if it had been
   * woken for something still `pending`, the next waiting accept is woken for it instead.
   */
  leave(waiter: Waiter, pending: boolean): void {
    this.list.cancel(waiter);
    if (waiter.ready) {
      waiter.ready = false;
      if (pending) this.wakeNext();
    }
  }

  /** Wakes the accept that has waited longest, for what just arrived. */
  wakeNext(): void {
    const waiter = this.list.popFront();
    if (waiter === null) return;
    waiter.ready = true;
    waiter.wake();
  }

  /** Wakes every waiting accept (the listener closed). */
  wakeAll(): void {
    this.list.wakeAll();
  }
}
