import type { HeldWaker, WakerHold } from "../runtime/held-waker.js";
import * as HeldWakerModule from "../runtime/held-waker.js";
import type { Waker } from "../task/waker.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const { holdWaker, releaseHeld, wakeHeld } = HeldWakerModule.heldWakerSteps;

/**
 * A task parked in a {@link WaitList}: its waker (kept as a {@link HeldWaker} keeps one) and its
 * links. Owned by the waiting future, which unlinks it in O(1) when dropped, so a cancelled wait
 * never leaves a stale entry behind.
 *
 * Its waker counts as a possible host wake: a channel or lock may be signalled from a host
 * callback, so a task waiting here is never reported as deadlocked on the real runtime (the
 * simulator, which sees every event, reports such cycles).
 *
 * Not a subclass of HeldWaker: see {@link WakerHold}.
 */
export class Waiter implements WakerHold {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal */
  declare waker: Waker | null;
  /** @internal */
  declare direct: boolean;
  /** @internal `true`, on the prototype (a field less per waiter): see the class note. */
  declare readonly wokenByHost: boolean;
  /** The previous waiter in the list; `null` at the head or when not in a list. */
  declare prev: Waiter | null;
  declare next: Waiter | null;
  /** What the waiter still needs (permits) or was granted; meaning is up to the primitive. */
  declare needed: number;
  declare assigned: number;
  /** Set by the primitive when the waiter may proceed (notified, granted, closed). */
  declare ready: boolean;

  constructor() {
    this.waker = null;
    this.direct = false;
    this.prev = null;
    this.next = null;
    this.needed = 0;
    this.assigned = 0;
    this.ready = false;
  }

  /** Stores the waker to wake (as {@link HeldWaker.register}). */
  register(waker: Waker): void {
    holdWaker(this, waker);
  }

  /** Wakes the stored waker, if any, and forgets it. */
  wake(): void {
    wakeHeld(this);
  }

  /** Drops the stored waker, if any, without waking. */
  release(): void {
    releaseHeld(this);
  }
}
Object.defineProperty(Waiter.prototype, "wokenByHost", { value: true });

/**
 * An intrusive FIFO list of {@link Waiter}s: push at the back, pop at the front, remove anywhere
 * in O(1), no allocation beyond the waiter itself.
 */
export class WaitList {
  private head: Waiter | null = null;
  private tail: Waiter | null = null;
  private count = 0;

  get length(): number {
    return this.count;
  }

  /** The oldest waiter, or `null`. */
  front(): Waiter | null {
    return this.head;
  }

  pushBack(waiter: Waiter): void {
    waiter.prev = this.tail;
    waiter.next = null;
    if (this.tail === null) this.head = waiter;
    else this.tail.next = waiter;
    this.tail = waiter;
    this.count++;
  }

  /** Removes `waiter` if it is in the list. */
  remove(waiter: Waiter): void {
    if (!this.holds(waiter)) return;
    if (waiter.prev !== null) waiter.prev.next = waiter.next;
    else this.head = waiter.next;
    if (waiter.next !== null) waiter.next.prev = waiter.prev;
    else this.tail = waiter.prev;
    waiter.prev = waiter.next = null;
    this.count--;
  }

  /**
   * True if `waiter` is in this list (a waiter is in one list at most). From the links rather
   * than a flag of its own: a field less in a node made per contended lock or send.
   */
  holds(waiter: Waiter): boolean {
    return waiter.prev !== null || this.head === waiter;
  }

  /** Takes `waiter` out of the list (if it is in) and drops its stored waker: a cancelled wait. */
  cancel(waiter: Waiter): void {
    this.remove(waiter);
    waiter.release();
  }

  /** Parks `waiter` at the back (if it is not parked yet) with the polling task's waker. */
  park(waiter: Waiter, waker: Waker): void {
    if (!this.holds(waiter)) this.pushBack(waiter);
    waiter.register(waker);
  }

  /** Removes and returns the oldest waiter, or `null`. */
  popFront(): Waiter | null {
    const waiter = this.head;
    if (waiter !== null) this.remove(waiter);
    return waiter;
  }

  /**
   * Marks ready, wakes and removes the waiters whose `needed` is `tag` (a primitive that tags its
   * waiters with their owner: the waits of one receiver when it is dropped). O(length).
   */
  wakeTagged(tag: number): void {
    let waiter = this.head;
    while (waiter !== null) {
      let next = waiter.next;
      if (waiter.needed === tag) {
        this.remove(waiter);
        waiter.ready = true;
        waiter.wake();
        if (next !== null && !this.holds(next)) next = this.head; // the wake changed the list
      }
      waiter = next;
    }
  }

  /** Marks every waiter ready, wakes it and empties the list (close, notify all). */
  wakeAll(): void {
    for (let waiter = this.popFront(); waiter !== null; waiter = this.popFront()) {
      waiter.ready = true;
      waiter.wake();
    }
  }
}
