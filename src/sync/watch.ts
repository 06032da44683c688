import {
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import { asyncIteratorOf } from "../runtime/async-iterate.js";
import type { Context } from "../task/context.js";
import { expectFunction } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { ChannelClosed } from "./errors.js";
import { Waiter, WaitList } from "./wait-list.js";

class WatchState<T> {
  version = 0;
  senderAlive = true;
  receivers = 1;
  /** The last receiver id given: a receiver tags its waiters with it (`Waiter.needed`). */
  lastReceiverId = 0;
  readonly waiters = new WaitList();
  constructor(public value: T) {}
}

/**
 * The sending half of a {@link watch} channel: replaces the one watched value.
 *
 * @example
 * ```ts
 * const [tx, rx] = watch({ status: "starting" });
 * tx.send({ status: "ready" });
 * tx.sendModify((config) => { config.status = "draining"; });
 * ```
 */
export class WatchSender<T> {
  /** @internal */
  constructor(private readonly state: WatchState<T>) {}

  /**
   * Replaces the value and wakes every receiver waiting in `changed()`.
   *
   * @throws {ChannelClosed} carrying the value when every receiver was dropped, or this sender was.
   */
  send(value: T): void {
    this.check(value);
    if (this.state.receivers === 0) throw new ChannelClosed("every receiver was dropped", value);
    this.state.value = value;
    this.changed();
  }

  /**
   * Changes the value in place (`fn` may mutate it, or return a replacement) and notifies the
   * receivers, even when there are none.
   *
   * @throws {ChannelClosed} when this sender was dropped (`fn` is not called).
   */
  sendModify(fn: (value: T) => T | void): void {
    this.check();
    expectFunction(fn, "WatchSender.sendModify", "a function (value) => T | void");
    const next = fn(this.state.value);
    if (next !== undefined) this.state.value = next as T;
    this.changed();
  }

  /**
   * Changes the value in place and notifies the receivers only if `fn` returns true (tokio's
   * `send_if_modified`): for updates that may turn out to change nothing.
   *
   * @example
   * ```ts
   * const notified = tx.sendIfModified((peers) => peers.delete(id)); // wakes nobody if absent
   * ```
   * @returns whether the receivers were notified.
   * @throws {ChannelClosed} when this sender was dropped (`fn` is not called).
   */
  sendIfModified(fn: (value: T) => boolean): boolean {
    this.check();
    expectFunction(fn, "WatchSender.sendIfModified", "a function (value) => boolean");
    if (fn(this.state.value) !== true) return false;
    this.changed();
    return true;
  }

  /**
   * Replaces the value, notifies the receivers (even when there are none) and returns the old
   * value (tokio's `send_replace`).
   *
   * @example
   * ```ts
   * const previous = tx.sendReplace(config);
   * ```
   * @throws {ChannelClosed} carrying the value when this sender was dropped.
   */
  sendReplace(value: T): T {
    this.check(value);
    const old = this.state.value;
    this.state.value = value;
    this.changed();
    return old;
  }

  /** The current value. */
  borrow(): T {
    return this.state.value;
  }

  /** True once every receiver was dropped: `send` would fail. */
  isClosed(): boolean {
    return this.state.receivers === 0;
  }

  /**
   * A new receiver; it has seen the current value.
   *
   * @throws {ChannelClosed} when this sender was dropped.
   */
  subscribe(): WatchReceiver<T> {
    this.check();
    this.state.receivers++;
    return new WatchReceiver(this.state, this.state.version);
  }

  /** Current number of receivers. */
  get receiverCount(): number {
    return this.state.receivers;
  }

  /** Drops the sender: receivers' `changed()` throws {@link ChannelClosed} once they saw the last value. */
  drop(): void {
    if (!this.state.senderAlive) return;
    this.state.senderAlive = false;
    this.state.waiters.wakeAll();
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  private changed(): void {
    this.state.version++;
    this.state.waiters.wakeAll();
  }

  /** A dropped sender sends nothing more: receivers told the channel ended stay told. */
  private check(value?: T): void {
    if (!this.state.senderAlive) throw new ChannelClosed("this watch sender was dropped", value);
  }
}

/**
 * A receiving half of a {@link watch} channel: reads the latest value and waits for changes
 * (intermediate values may be skipped; the latest is never missed).
 *
 * @example
 * ```ts
 * for (;;) {
 *   yield* rx.changed();
 *   apply(rx.borrowAndUpdate());
 * }
 * ```
 */
export class WatchReceiver<T> {
  /** @internal */
  dropped = false;
  private streamWaiter: Waiter | null = null;
  /** @internal Tags the waiters of this receiver's waits (`Waiter.needed`), to fail them at drop. */
  readonly id: number;

  /** @internal */
  constructor(
    private readonly state: WatchState<T>,
    /** @internal The version this receiver has seen. */
    public seen: number,
  ) {
    this.id = ++state.lastReceiverId;
  }

  /** The current value (does not mark it seen). */
  borrow(): T {
    return this.state.value;
  }

  /** The current value, marked seen. */
  borrowAndUpdate(): T {
    this.seen = this.state.version;
    return this.state.value;
  }

  /**
   * True when the value changed since this receiver last marked it seen.
   *
   * @throws {ChannelClosed} once the sender is dropped and the last value was seen (as `changed()`
   *   would: no change can come), so a loop polling it ends rather than spinning on `false`.
   */
  hasChanged(): boolean {
    const state = this.state;
    if (this.seen !== state.version) return true;
    if (!state.senderAlive) throw new ChannelClosed("the watch sender was dropped");
    return false;
  }

  /**
   * A future that completes when the value changes after the last one seen (and marks it seen).
   *
   * @throws {ChannelClosed} (from the future) when the sender is dropped and there is no unseen
   *   value, or this receiver is dropped while it waits; at once when this receiver was dropped.
   *
   * Cancel safety: dropping it loses nothing; the change is still unseen.
   */
  changed(): Future<void> {
    this.check();
    return new WatchWait(this, this.state, null) as unknown as Future<void>;
  }

  /**
   * A future of the first value for which `predicate` returns true, checked on the current value
   * first (seen or not), then on each new value (tokio's `wait_for`). Marks what it checked seen.
   * Values sent in a burst between two checks are not all seen: only the latest is checked.
   *
   * @example
   * ```ts
   * const state = yield* rx.waitFor((s) => s.status === "ready");
   * ```
   * @throws {ChannelClosed} (from the future) when the sender is dropped before a value matches,
   *   or this receiver is dropped while it waits; at once when this receiver was dropped.
   * @throws whatever `predicate` throws (from the future).
   *
   * Cancel safety: dropping it loses nothing; values it checked stay seen.
   */
  waitFor(predicate: (value: T) => boolean): Future<T> {
    this.check();
    expectFunction(predicate, "WatchReceiver.waitFor", "a predicate function");
    return new WatchWait(this, this.state, predicate) as unknown as Future<T>;
  }

  /**
   * Another receiver with the same seen version.
   *
   * @throws {ChannelClosed} when this receiver was dropped.
   */
  clone(): WatchReceiver<T> {
    this.check();
    this.state.receivers++;
    return new WatchReceiver(this.state, this.seen);
  }

  /**
   * The stream protocol over changes: after each change not yet seen, the current value (marked
   * seen); `Done` once the sender is gone and the last value was seen, or this receiver dropped.
   * One task at a time polls a receiver as a stream (one `for await` loop): a second task's poll
   * takes the wakeup over and the first is not woken again. Give each task its own receiver
   * (`subscribe()` or `clone()`), as tokio's `&mut self` requires.
   */
  pollNext(cx: Context): Poll<T | typeof Done> {
    if (this.dropped) return Done;
    const state = this.state;
    if (this.seen !== state.version) return this.borrowAndUpdate();
    if (!state.senderAlive) return Done;
    const waiter = (this.streamWaiter ??= new Waiter());
    state.waiters.park(waiter, cx.waker);
    return Pending;
  }

  /** `for await (const value of rx)` over the changes (driven by the runtime). */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return asyncIteratorOf(this);
  }

  /** Unsubscribes; a `changed()` or `waitFor` of this receiver waiting is woken to fail. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    const state = this.state;
    state.receivers--;
    if (this.streamWaiter !== null) {
      state.waiters.cancel(this.streamWaiter);
    }
    // Its pending waits are woken to fail (the list is shared: only those tagged with its id).
    if (state.waiters.length > 0) state.waiters.wakeTagged(this.id);
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  private check(): void {
    if (this.dropped) throw new ChannelClosed("this watch receiver was dropped");
  }
}

/**
 * `changed()` (no predicate: the first version not seen yet) and `waitFor(predicate)` (the first
 * value, the current one included, for which it returns true). A base class that inherits from
 * Future without deriving from it: made per await, often inside a `try` (see "Constructors in try
 * blocks" on Future).
 */
class WatchWait<T> implements InheritedFuture<T | undefined> {
  private waiter: Waiter | null = null;
  private done = false;
  /** `waitFor`: the version whose value `predicate` last checked; -1 before the first check. */
  private checked = -1;

  constructor(
    private readonly receiver: WatchReceiver<T>,
    private readonly state: WatchState<T>,
    private readonly predicate: ((value: T) => boolean) | null,
  ) {}

  poll(cx: Context): Poll<T | undefined> {
    if (this.done) throw pollAfterCompletion(this);
    if (this.receiver.dropped) {
      this.drop();
      throw new ChannelClosed("this watch receiver was dropped");
    }
    const state = this.state;
    const predicate = this.predicate;
    const seen = predicate === null ? this.receiver.seen : this.checked;
    if (seen !== state.version) {
      this.checked = state.version;
      this.receiver.seen = state.version;
      if (predicate === null) {
        this.drop();
        return undefined;
      }
      const value = state.value;
      let matches: boolean;
      try {
        matches = predicate(value) === true;
      } catch (error) {
        this.drop();
        throw error;
      }
      if (matches) {
        this.drop();
        return value;
      }
    }
    if (!state.senderAlive) {
      this.drop();
      throw new ChannelClosed(
        predicate === null
          ? "the watch sender was dropped"
          : "the watch sender was dropped before a value matched",
      );
    }
    if (this.waiter === null) {
      this.waiter = new Waiter();
      this.waiter.needed = this.receiver.id;
    }
    state.waiters.park(this.waiter, cx.waker);
    return Pending;
  }

  drop(): void {
    this.done = true;
    const waiter = this.waiter;
    if (waiter === null) return;
    this.state.waiters.cancel(waiter);
  }

  describe(): string {
    return this.predicate === null ? "watch.changed" : "watch.waitFor";
  }
}
inheritFrom(WatchWait, Future);

/**
 * A single-value channel with change notification: `const [tx, rx] = watch(initial)`. Receivers
 * read the latest value and wait for the next change; a burst of sends wakes them once.
 *
 * @example
 * ```ts
 * const [tx, rx] = watch(0);
 * spawn(future(function* () { yield* rx.changed(); console.log(rx.borrow()); }));
 * tx.send(1);
 * ```
 */
export function watch<T>(initial: T): [WatchSender<T>, WatchReceiver<T>] {
  const state = new WatchState(initial);
  return [new WatchSender(state), new WatchReceiver(state, 0)];
}
