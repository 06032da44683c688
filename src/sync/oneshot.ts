import {
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
} from "../future/future.js";
import type { WakerHold } from "../runtime/held-waker.js";
import * as HeldWakerModule from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import type { Waker } from "../task/waker.js";
import { ChannelClosed, ChannelReceiverBusy } from "./errors.js";
import { Waiter, WaitList } from "./wait-list.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const { holdWaker, releaseHeld, wakeHeld } = HeldWakerModule.heldWakerSteps;

/** `OneshotReceiver.flags`: a value was sent and not taken yet. */
const HAS_VALUE = 1;
/** `OneshotReceiver.flags`: the sender has neither sent nor been dropped. */
const SENDER_ALIVE = 2;
/** `OneshotReceiver.flags`: the receiver has been neither closed nor dropped. */
const RECEIVER_ALIVE = 4;
/** `OneshotReceiver.flags`: the receiver, as a future, completed (or failed). */
const FINISHED = 8;
/**
 * `OneshotReceiver.flags`: the held waker was registered by a `recv()` wait (not by the receiver
 * polled as a future), which releases it when dropped. Cleared whenever the waker is woken or
 * released, so a stale wait never releases a later one's waker.
 */
const RECV_WAITS = 16;

/** What a receive finds once the receiver has completed: the value was taken, or it failed. */
function channelOver(): ChannelClosed {
  return new ChannelClosed("the oneshot value was already received, or the channel ended");
}

/**
 * The sending half of a {@link oneshot} channel: sends one value.
 *
 * @example
 * ```ts
 * const [tx, rx] = oneshot<number>();
 * tx.send(42);
 * ```
 */
export class OneshotSender<T> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** The receiver, which also holds the channel's state. */
  declare private readonly receiver: OneshotReceiver<T>;

  /** @internal */
  constructor(receiver: OneshotReceiver<T>) {
    this.receiver = receiver;
  }

  /**
   * Sends the value (synchronously; the receiver is woken).
   *
   * @throws {ChannelClosed} carrying the value when the receiver is gone or a value was already
   * sent.
   */
  send(value: T): void {
    const receiver = this.receiver;
    const flags = receiver.flags;
    if ((flags & RECEIVER_ALIVE) === 0) {
      throw new ChannelClosed("the receiver was dropped", value);
    }
    if ((flags & (SENDER_ALIVE | HAS_VALUE)) !== SENDER_ALIVE) {
      throw new ChannelClosed("this oneshot sender was already used", value);
    }
    receiver.value = value;
    receiver.flags = (flags & ~(SENDER_ALIVE | RECV_WAITS)) | HAS_VALUE;
    if (receiver.waker !== null) wakeHeld(receiver);
  }

  /** True once the receiver was dropped or closed. */
  isClosed(): boolean {
    return (this.receiver.flags & RECEIVER_ALIVE) === 0;
  }

  /**
   * A future that completes when the receiver is dropped or closed (so a producer can stop early).
   * Several may wait at once (the sender shared by tasks): each is woken.
   *
   * Cancel safety: nothing to lose; dropping one wait leaves the others parked.
   */
  closed(): Future<void> {
    return new OneshotClosed(this.receiver) as unknown as Future<void>;
  }

  /** Drops the sender without sending: the receiver gets {@link ChannelClosed}. */
  drop(): void {
    const receiver = this.receiver;
    if ((receiver.flags & SENDER_ALIVE) === 0) return;
    receiver.flags &= ~(SENDER_ALIVE | RECV_WAITS);
    if (receiver.waker !== null) wakeHeld(receiver);
  }

  [Symbol.dispose](): void {
    this.drop();
  }
}

/**
 * The receiving half of a {@link oneshot} channel; it is itself the future of the value.
 *
 * @example
 * ```ts
 * const value = yield* rx; // awaits the receiver itself, and uses it up
 * // or wait without giving the receiver away (it can be raced and awaited again):
 * const first = yield* select([rx.recv(), sleep(100)]);
 * ```
 *
 * Cancel safety: the receiver is itself the future, so dropping a `yield* rx` wait (a `select`
 * it lost, a task aborted) drops the receiver: the channel closes and a value already sent is
 * discarded. To wait and keep the receiver, await `rx.recv()`: dropping that loses nothing.
 *
 * The receiver also holds the channel's state (value, flags, the waiting task's waker), which the
 * sender reaches through it: a oneshot is two objects, not three. Made once per request in
 * request-reply code, so its bytes count: 128 became 64 (with the flags as one field), and the
 * oneshot ping-pong benchmark went from 5.4 to 4.4 cache-simulated line writes and from 2,985 to
 * 2,908 instructions per round trip.
 *
 * Made per request, often inside a `try`: a base class that inherits from Future without deriving
 * from it (see "Constructors in try blocks" on Future); the interface of the same name gives it
 * Future's type. Oneshot request/reply in a `try`/`finally`: 49 ns per round trip as a subclass,
 * against 28 outside the `try`.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: Future's members come from its prototype (inheritFrom).
export class OneshotReceiver<T> implements WakerHold, InheritedFuture<T> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal The waiting task's waker (a {@link WakerHold}: see `heldWakerSteps`). */
  declare waker: Waker | null;
  /** @internal */
  declare direct: boolean;
  /** @internal `true`, on the prototype: the sender may be used from a host callback. */
  declare readonly wokenByHost: boolean;
  /** @internal The sent value, until taken. */
  declare value: T | undefined;
  /** @internal HAS_VALUE, SENDER_ALIVE, RECEIVER_ALIVE and FINISHED bits. */
  declare flags: number;
  /** @internal The waits of `sender.closed()`, made when first needed. */
  declare closedWaiter: WaitList | null;

  /** @internal */
  constructor() {
    this.waker = null;
    this.direct = false;
    this.value = undefined;
    this.flags = SENDER_ALIVE | RECEIVER_ALIVE;
    this.closedWaiter = null;
  }

  /**
   * The value, once sent.
   *
   * @throws {ChannelClosed} when the sender was dropped without sending.
   */
  poll(cx: Context): Poll<T> {
    const flags = this.flags;
    if ((flags & FINISHED) !== 0) throw pollAfterCompletion(this);
    if ((flags & HAS_VALUE) !== 0) {
      this.flags = (flags | FINISHED) & ~RECV_WAITS;
      if (this.waker !== null) releaseHeld(this);
      return this.takeValue();
    }
    if ((flags & (SENDER_ALIVE | RECEIVER_ALIVE)) !== (SENDER_ALIVE | RECEIVER_ALIVE)) {
      return this.fail(flags);
    }
    if ((flags & RECV_WAITS) !== 0) this.takeOverWait(cx);
    holdWaker(this, cx.waker);
    return Pending;
  }

  /** The receiver's own wait takes the registration over from a `recv()` of the same task. */
  private takeOverWait(cx: Context): void {
    if (this.waker !== null && !this.waker.willWake(cx.waker)) {
      throw new ChannelReceiverBusy(
        "oneshot receiver: a recv() of another task is waiting on this receiver",
      );
    }
    this.flags &= ~RECV_WAITS;
  }

  /**
   * A future of the value that does not own the receiver (tokio's `&mut rx`): dropping it
   * releases the wait and nothing else, so it can be raced, dropped and awaited again. One task
   * waits at a time: a `recv()` while another task waits (in `recv()` or on the receiver itself)
   * throws {@link ChannelReceiverBusy}.
   *
   * @example
   * ```ts
   * const first = yield* select([rx.recv(), sleep(100)]);
   * if (first.index === 1) console.log("still waiting"); // rx is intact: try again later
   * ```
   * @throws {ChannelClosed} when the sender was dropped without sending, the receiver was
   * closed, or the value was already received.
   * @throws {ChannelReceiverBusy} when another task is waiting on the receiver.
   *
   * Cancel safety: dropping it consumes nothing and leaves the channel open.
   */
  recv(): Future<T> {
    return new OneshotRecv(this) as unknown as Future<T>;
  }

  /** @internal `recv()`'s poll: the value, `ChannelClosed`, or Pending with `cx`'s waker held. */
  pollWait(cx: Context, registered: boolean): Poll<T> {
    const flags = this.flags;
    if ((flags & HAS_VALUE) !== 0) {
      this.flags = (flags | FINISHED) & ~RECV_WAITS;
      if (this.waker !== null) releaseHeld(this);
      return this.takeValue();
    }
    if ((flags & FINISHED) !== 0) {
      throw channelOver();
    }
    if ((flags & (SENDER_ALIVE | RECEIVER_ALIVE)) !== (SENDER_ALIVE | RECEIVER_ALIVE)) {
      return this.fail(flags);
    }
    // A waker held is a live wait (each wait releases it when it ends): of another task, busy.
    const held = this.waker;
    if (!registered && held !== null && !held.willWake(cx.waker)) {
      throw new ChannelReceiverBusy("oneshot recv(): another task is waiting on this receiver");
    }
    this.flags = flags | RECV_WAITS;
    holdWaker(this, cx.waker);
    return Pending;
  }

  /** @internal A `recv()` wait that had registered is dropped: release its waker. */
  releaseWait(): void {
    if ((this.flags & RECV_WAITS) === 0) return;
    this.flags &= ~RECV_WAITS;
    releaseHeld(this);
  }

  /** The sender is gone or the receiver closed: finished, with `ChannelClosed`. */
  private fail(flags: number): never {
    this.flags = (flags | FINISHED) & ~RECV_WAITS;
    releaseHeld(this);
    throw new ChannelClosed(
      (flags & RECEIVER_ALIVE) !== 0
        ? "the sender was dropped without sending"
        : "the receiver was closed before a value was sent",
    );
  }

  /**
   * The value if it has been sent, `undefined` if not yet. Once the value has been received (by
   * this, a `recv()` or the receiver itself), the channel is over: a later call throws
   * {@link ChannelClosed}, as tokio's `try_recv` does, so a loop polling for the value cannot spin
   * on `undefined` for ever.
   *
   * @example
   * ```ts
   * const v = rx.tryRecv();
   * if (v === undefined) console.log("not sent yet");
   * ```
   * @throws {ChannelClosed} when the sender was dropped without sending, the receiver was closed
   * before a value was sent, or the value was already received.
   */
  tryRecv(): T | undefined {
    const flags = this.flags;
    if ((flags & HAS_VALUE) !== 0) {
      this.flags = flags | FINISHED;
      return this.takeValue();
    }
    if ((flags & FINISHED) !== 0) {
      throw channelOver();
    }
    if ((flags & SENDER_ALIVE) === 0) throw new ChannelClosed("the sender was dropped");
    if ((flags & RECEIVER_ALIVE) === 0) {
      throw new ChannelClosed("the receiver was closed before a value was sent");
    }
    return undefined;
  }

  /** Refuses the value: a later `send` fails and hands it back; a waiting `recv()` is woken. */
  close(): void {
    if ((this.flags & RECEIVER_ALIVE) === 0) return;
    this.flags &= ~(RECEIVER_ALIVE | RECV_WAITS);
    if (this.waker !== null) wakeHeld(this);
    this.closedWaiter?.wakeAll();
  }

  /** Closes and drops a value that was sent but not received. */
  drop(): void {
    this.close();
    if ((this.flags & HAS_VALUE) !== 0) this.takeValue();
    releaseHeld(this);
  }

  describe(): string {
    return "oneshot.recv";
  }

  /** Takes the sent value out. */
  private takeValue(): T {
    const value = this.value as T;
    this.value = undefined;
    this.flags &= ~HAS_VALUE;
    return value;
  }
}
inheritFrom(OneshotReceiver, Future);
/** A {@link OneshotReceiver} is a `Future` (its class inherits from Future's prototype). */
export interface OneshotReceiver<T> extends Future<T> {}
Object.defineProperty(OneshotReceiver.prototype, "wokenByHost", { value: true });

/**
 * `OneshotReceiver.recv()`: a wait for the value that does not own the receiver. A base class
 * that inherits from Future without deriving from it (see "Constructors in try blocks" on Future).
 */
class OneshotRecv<T> implements InheritedFuture<T> {
  /** Its poll registered the receiver's waker (and has not completed since). */
  private registered = false;
  private done = false;
  constructor(private readonly receiver: OneshotReceiver<T>) {}
  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    let r: Poll<T>;
    try {
      r = this.receiver.pollWait(cx, this.registered);
    } catch (error) {
      if (!(error instanceof ChannelReceiverBusy)) this.done = true;
      this.registered = false;
      throw error;
    }
    if (r === Pending) {
      this.registered = true;
      return Pending;
    }
    this.done = true;
    this.registered = false;
    return r;
  }
  drop(): void {
    if (this.done) return;
    this.done = true;
    if (this.registered) {
      this.registered = false;
      this.receiver.releaseWait();
    }
  }
  describe(): string {
    return "oneshot.recv";
  }
}
inheritFrom(OneshotRecv, Future);

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class OneshotClosed<T> implements InheritedFuture<void> {
  private waiter: Waiter | null = null;
  constructor(private readonly receiver: OneshotReceiver<T>) {}
  poll(cx: Context): Poll<void> {
    const receiver = this.receiver;
    if ((receiver.flags & RECEIVER_ALIVE) === 0) {
      this.drop();
      return undefined;
    }
    receiver.closedWaiter ??= new WaitList();
    this.waiter ??= new Waiter();
    receiver.closedWaiter.park(this.waiter, cx.waker);
    return Pending;
  }
  drop(): void {
    const waiter = this.waiter;
    if (waiter !== null) this.receiver.closedWaiter?.cancel(waiter);
  }
  describe(): string {
    return "oneshot.closed";
  }
}
inheritFrom(OneshotClosed, Future);

/**
 * A channel for one value: `const [tx, rx] = oneshot<T>()`. Dropping the sender without sending
 * makes the receiver throw {@link ChannelClosed}; dropping the receiver makes `send` fail and hand
 * the value back.
 *
 * @example
 * ```ts
 * const [tx, rx] = oneshot<string>();
 * spawn(future(function* () { tx.send(yield* compute()); }));
 * const answer = yield* rx;
 * ```
 */
export function oneshot<T>(): [OneshotSender<T>, OneshotReceiver<T>] {
  const receiver = new ReceiverClass<T>();
  return [new SenderClass(receiver), receiver];
}

/** The classes through consts, for `oneshot()`: see "Hot imports" on Future. */
const SenderClass = OneshotSender;
const ReceiverClass = OneshotReceiver;
