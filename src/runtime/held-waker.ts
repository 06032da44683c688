import { RawWaker } from "../task/raw-waker.js";
import { Waker } from "../task/waker.js";
import type { Task } from "./task.js";
import * as TaskModule from "./task.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const { heldByRuntime, holdTaskWaker, releasedByRuntime, releaseTaskWakerHold, TASK_VTABLE } =
  TaskModule;

/** `HeldWaker.wakes` wraps within V8's small integers. */
const WAKES_MASK = 0x3fffffff;

/**
 * One waker kept by a runtime structure (a timer, a join set, a channel, a socket) until the event
 * it waits for. `register` keeps the polling task's waker, skipping the work when the stored one
 * already wakes the same task.
 *
 * A task's waker is kept without allocating a clone: the structure stores the task itself and
 * does the accounting a clone would (live wakers per task, and whether the waker is a way out of
 * a deadlock), so parking and waking a task allocates nothing. Other wakers are cloned.
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
export class HeldWaker implements WakerHold {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal The stored waker: a task (held directly, see `direct`) or an owned clone. */
  declare waker: Waker | null;
  /** @internal `waker` is a task kept without a clone (its counts were taken by `holdTaskWaker`). */
  declare direct: boolean;
  /** @internal */
  declare readonly wokenByHost: boolean;
  /**
   * Wakes so far (`wake`, `take`), wrapping within small integers: a registration made before the
   * last wake was used up by it (the channel's receiver counts its waiting receives by this).
   */
  declare wakes: number;

  /**
   * @param wokenByHost `false` (default): only tasks of the runtime wake this waker, so it is not
   * a way out of a deadlock. `true`: a host callback may wake it (it counts as one).
   */
  constructor(wokenByHost = false) {
    this.waker = null;
    this.direct = false;
    this.wokenByHost = wokenByHost === true;
    this.wakes = 0;
  }

  /** True while a waker is stored. */
  get isRegistered(): boolean {
    return this.waker !== null;
  }

  /** True when a waker is stored and it wakes the same task as `waker`. */
  willWake(waker: Waker): boolean {
    return this.waker?.willWake(waker) === true;
  }

  /** Stores `waker` (or a clone of it), unless the stored one already wakes the same task. */
  register(waker: Waker): void {
    holdWaker(this, waker);
  }

  /** Wakes the stored waker, if any, and forgets it. */
  wake(): void {
    // Tested here too, so that the common case (nothing stored) costs no call where inlined.
    if (this.waker !== null) {
      this.wakes = (this.wakes + 1) & WAKES_MASK;
      wakeHeld(this);
    }
  }

  /** Removes the stored waker and hands it to the caller (who must wake or drop it). */
  take(): Waker | null {
    const waker = this.waker;
    if (waker === null) return null;
    this.waker = null;
    this.wakes = (this.wakes + 1) & WAKES_MASK;
    if (this.direct === true) {
      // Hand out a real clone; the counts taken at register move to it.
      const task = waker as Task;
      const owned = Waker.fromRaw(new RawWaker(task, TASK_VTABLE));
      if (this.wokenByHost === false) releasedByRuntime(owned);
      return owned;
    }
    if (this.wokenByHost === false) releasedByRuntime(waker);
    return waker;
  }

  /** Wakes the stored waker, if any, and keeps it. */
  wakeByRef(): void {
    this.waker?.wakeByRef();
  }

  /** Drops the stored waker, if any, without waking. */
  release(): void {
    releaseHeld(this);
  }
}

/**
 * @internal Where a waker is kept: a {@link HeldWaker}, or a wait-list node (`Waiter`) that keeps
 * one without deriving from HeldWaker. V8 (Node 20) constructs a derived class through its generic
 * construct stub whenever the base constructor is not inlined, which the waiter, made per
 * contended lock or send, often was not: measured at ~200 instructions per contended mutex lock.
 */
export interface WakerHold {
  waker: Waker | null;
  direct: boolean;
  readonly wokenByHost: boolean;
}

/** {@link HeldWaker.register} on any {@link WakerHold}. */
const holdWaker = (hold: WakerHold, waker: Waker): void => {
  const current = hold.waker;
  if (current !== null) {
    if (current.willWake(waker)) return;
    releaseHeld(hold);
  }
  if (waker.vtable === TASK_VTABLE) {
    const task = waker.data as Task;
    holdTaskWaker(task, hold.wokenByHost === true);
    hold.waker = task;
    hold.direct = true;
    return;
  }
  const clone = waker.clone();
  if (hold.wokenByHost === false) heldByRuntime(clone);
  hold.waker = clone;
  hold.direct = false;
};

/** {@link HeldWaker.wake} on any {@link WakerHold}. */
const wakeHeld = (hold: WakerHold): void => {
  const waker = hold.waker;
  if (waker === null) return;
  hold.waker = null;
  if (hold.direct === true) {
    const task = waker as Task;
    releaseTaskWakerHold(task, hold.wokenByHost === true);
    task.scheduler.wakeTask(task);
    return;
  }
  if (hold.wokenByHost === false) releasedByRuntime(waker);
  waker.wake();
};

/** {@link HeldWaker.release} on any {@link WakerHold}. */
const releaseHeld = (hold: WakerHold): void => {
  const waker = hold.waker;
  if (waker === null) return;
  hold.waker = null;
  if (hold.direct === true) {
    releaseTaskWakerHold(waker as Task, hold.wokenByHost === true);
    return;
  }
  if (hold.wokenByHost === false) releasedByRuntime(waker);
  waker.drop();
};

/**
 * @internal The register, wake and release steps on any {@link WakerHold}, for the wait-list
 * nodes. One exported object rather than exported bindings, and const arrow functions rather
 * than declarations: see "Hot imports" on Future.
 */
export const heldWakerSteps = { holdWaker, wakeHeld, releaseHeld } as const;
