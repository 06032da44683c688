import {
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import { asyncIteratorOf } from "../runtime/async-iterate.js";
import { consumeBudget } from "../runtime/budget.js";
import type { Context } from "../task/context.js";
import { expectIntegerIn } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { ChannelClosed, Lagged } from "./errors.js";
import { Waiter, WaitList } from "./wait-list.js";

/** The largest broadcast capacity: the ring is one array of that many slots. */
const MAX_BROADCAST_CAPACITY = 2 ** 31 - 1;

class BroadcastState<T> {
  readonly slots: (T | undefined)[];
  /** Sequence number of the next message to be sent. */
  tail = 0;
  senders = 1;
  receivers = 1;
  /** The last receiver id given: a receiver tags its waiters with it (`Waiter.needed`). */
  lastReceiverId = 0;
  readonly waiters = new WaitList();
  constructor(readonly capacity: number) {
    this.slots = new Array(capacity);
  }
}

/**
 * The sending half of a {@link broadcast} channel. `send` never waits: the oldest message is
 * overwritten when the buffer is full, and receivers that had not read it get {@link Lagged}.
 *
 * @example
 * ```ts
 * const [tx, rx] = broadcast<string>(16);
 * const other = tx.subscribe();
 * tx.send("hello"); // both receivers get it
 * ```
 */
export class BroadcastSender<T> {
  private dropped = false;

  /** @internal */
  constructor(private readonly state: BroadcastState<T>) {}

  /**
   * Sends to every receiver; returns how many there are.
   *
   * @throws {ChannelClosed} carrying the value when there is no receiver.
   */
  send(value: T): number {
    const state = this.state;
    if (this.dropped) throw new ChannelClosed("this sender was dropped", value);
    if (state.receivers === 0) throw new ChannelClosed("no receiver is subscribed", value);
    state.slots[state.tail % state.capacity] = value;
    state.tail++;
    state.waiters.wakeAll();
    return state.receivers;
  }

  /**
   * A new receiver that gets the messages sent from now on.
   *
   * @throws {ChannelClosed} when this sender was dropped.
   */
  subscribe(): BroadcastReceiver<T> {
    this.check();
    this.state.receivers++;
    return new BroadcastReceiver(this.state, this.state.tail);
  }

  /**
   * Another sender of the same channel.
   *
   * @throws {ChannelClosed} when this sender was dropped (the channel may have ended already:
   *   receivers told so stay told).
   */
  clone(): BroadcastSender<T> {
    this.check();
    this.state.senders++;
    return new BroadcastSender(this.state);
  }

  /** Current number of receivers. */
  get receiverCount(): number {
    return this.state.receivers;
  }

  /** Releases this sender; when the last one goes, receivers end after the buffered messages. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.state.senders--;
    if (this.state.senders === 0) this.state.waiters.wakeAll();
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  private check(): void {
    if (this.dropped) throw new ChannelClosed("this sender was dropped");
  }
}

/**
 * A receiving half of a {@link broadcast} channel: every receiver sees every message sent after it
 * subscribed, unless it lags more than the capacity behind.
 *
 * @example
 * ```ts
 * const event = yield* rx.recv();
 * ```
 */
export class BroadcastReceiver<T> {
  private dropped = false;
  private streamWaiter: Waiter | null = null;
  /** @internal Tags the waiters of this receiver's waits (`Waiter.needed`), to fail them at drop. */
  readonly id: number;

  /** @internal */
  constructor(
    private readonly state: BroadcastState<T>,
    /** Sequence number of the next message this receiver reads. */
    private next: number,
  ) {
    this.id = ++state.lastReceiverId;
  }

  /**
   * A future of the next message.
   *
   * @throws {Lagged} when messages were overwritten before this receiver read them (it then
   * continues with the oldest message held).
   * @throws {ChannelClosed} once every sender is dropped and this receiver read everything, or
   * once this receiver was dropped (a `recv` waiting then is woken to fail).
   *
   * Cancel safety: dropping a pending `recv` consumes nothing.
   */
  recv(): Future<T> {
    return new BroadcastRecv(this) as unknown as Future<T>;
  }

  /**
   * The next message if there is one, `undefined` if not.
   *
   * @throws {Lagged} / {ChannelClosed} as `recv`.
   */
  tryRecv(): T | undefined {
    const r = this.take();
    return r === NONE ? undefined : (r as T);
  }

  /**
   * Another receiver at the same position.
   *
   * @throws {ChannelClosed} when this receiver was dropped.
   */
  clone(): BroadcastReceiver<T> {
    return this.subscribeAt(this.next);
  }

  /**
   * A new receiver that gets the messages sent from now on, whatever this one has not read yet
   * (tokio's `resubscribe`).
   *
   * @example
   * ```ts
   * const fresh = lagging.resubscribe(); // skips the backlog
   * ```
   * @throws {ChannelClosed} when this receiver was dropped.
   */
  resubscribe(): BroadcastReceiver<T> {
    return this.subscribeAt(this.state.tail);
  }

  /** A new receiver of the same channel that reads from message `next` on. */
  private subscribeAt(next: number): BroadcastReceiver<T> {
    if (this.dropped) throw new ChannelClosed("this receiver was dropped");
    this.state.receivers++;
    return new BroadcastReceiver(this.state, next);
  }

  /**
   * Messages sent that this receiver has not read yet. More than the capacity means the next
   * receive reports {@link Lagged}.
   */
  get length(): number {
    return this.state.tail - this.next;
  }

  /** True when this receiver has read every message sent so far. */
  isEmpty(): boolean {
    return this.next === this.state.tail;
  }

  /** True once every sender was dropped (messages not read yet can still be received). */
  isClosed(): boolean {
    return this.state.senders === 0;
  }

  /**
   * The stream protocol: the next message, `Done` once every sender is gone and all is read (or
   * this receiver was dropped), or `Pending`. A lag throws {@link Lagged} (polling again continues).
   * One task at a time polls a receiver as a stream (one `for await` loop): a second task's poll
   * takes the wakeup over and the first is not woken again. Give each task its own receiver
   * (`subscribe()` or `clone()`), as tokio's `&mut self` requires.
   */
  pollNext(cx: Context): Poll<T | typeof Done> {
    let r: T | typeof NONE;
    try {
      r = this.take();
    } catch (error) {
      if (error instanceof ChannelClosed) return Done;
      throw error;
    }
    if (r !== NONE) return r;
    const waiter = (this.streamWaiter ??= new Waiter());
    this.state.waiters.park(waiter, cx.waker);
    return Pending;
  }

  /** `for await (const message of rx)` from ordinary async code (driven by the runtime). */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return asyncIteratorOf(this);
  }

  /**
   * Unsubscribes: this receiver gets nothing more (not even the messages it had not read yet),
   * and a `recv` of it waiting is woken to fail with {@link ChannelClosed}.
   */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    const state = this.state;
    state.receivers--;
    if (this.streamWaiter !== null) {
      state.waiters.cancel(this.streamWaiter);
    }
    // Its pending recv()s are woken to fail (the list is shared: only those tagged with its id).
    if (state.waiters.length > 0) state.waiters.wakeTagged(this.id);
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  /** @internal The next message, or NONE when caught up (throws Lagged / ChannelClosed). */
  take(): T | typeof NONE {
    if (this.dropped) throw new ChannelClosed("this receiver was dropped");
    const state = this.state;
    const oldest = state.tail - state.capacity;
    if (this.next < oldest) {
      const missed = oldest - this.next;
      this.next = oldest;
      throw new Lagged(missed);
    }
    if (this.next < state.tail) {
      const value = state.slots[this.next % state.capacity] as T;
      this.next++;
      return value;
    }
    if (state.senders === 0) throw new ChannelClosed("every sender was dropped");
    return NONE;
  }

  /** @internal */
  get waiters(): WaitList {
    return this.state.waiters;
  }
}

const NONE: unique symbol = Symbol("none");

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class BroadcastRecv<T> implements InheritedFuture<T> {
  private waiter: Waiter | null = null;
  private done = false;

  constructor(private readonly receiver: BroadcastReceiver<T>) {}

  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    if (consumeBudget(cx) === false) return Pending;
    let r: T | typeof NONE;
    try {
      r = this.receiver.take();
    } catch (error) {
      this.drop();
      throw error;
    }
    if (r !== NONE) {
      this.drop();
      return r;
    }
    if (this.waiter === null) {
      this.waiter = new Waiter();
      this.waiter.needed = this.receiver.id;
    }
    this.receiver.waiters.park(this.waiter, cx.waker);
    return Pending;
  }

  drop(): void {
    this.done = true;
    const waiter = this.waiter;
    if (waiter === null) return;
    this.receiver.waiters.cancel(waiter);
  }

  describe(): string {
    return "broadcast.recv";
  }
}
inheritFrom(BroadcastRecv, Future);

/**
 * A multi-producer, multi-consumer channel where every receiver gets every message:
 * `const [tx, rx] = broadcast<T>(capacity)`; more receivers with `tx.subscribe()`. The buffer
 * holds the last `capacity` messages; a receiver that falls further behind gets {@link Lagged}
 * and continues.
 *
 * @example
 * ```ts
 * const [tx, rx1] = broadcast<number>(8);
 * const rx2 = tx.subscribe();
 * tx.send(1);
 * const [a, b] = yield* join(rx1.recv(), rx2.recv()); // 1, 1
 * ```
 * @throws {OutOfRangeError} (a `RangeError`) when `capacity` is not an integer from 1 to
 * 2^31 - 1.
 */
export function broadcast<T>(capacity: number): [BroadcastSender<T>, BroadcastReceiver<T>] {
  const state = new BroadcastState<T>(
    expectIntegerIn(capacity, "broadcast: capacity", 1, MAX_BROADCAST_CAPACITY),
  );
  return [new BroadcastSender(state), new BroadcastReceiver(state, 0)];
}
