import { Future, pollAfterCompletion } from "../future/future.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { Pending as PendingExport, type Poll } from "../task/poll.js";
import { ChannelClosed } from "./errors.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;

/**
 * The state of a oneshot channel, which is also where the receiver's waker is kept (the sender
 * may be used from a host callback: counted as a possible host wake).
 */
class OneshotState<T> extends HeldWaker {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare value: T | undefined;
  declare hasValue: boolean;
  declare senderAlive: boolean;
  declare receiverAlive: boolean;
  /** The waker of `sender.closed()`, made when first needed. */
  declare closedWaiter: HeldWaker | null;

  constructor() {
    super(true);
    this.value = undefined;
    this.hasValue = false;
    this.senderAlive = true;
    this.receiverAlive = true;
    this.closedWaiter = null;
  }

  /** Takes the sent value out. */
  takeValue(): T {
    const value = this.value as T;
    this.value = undefined;
    this.hasValue = false;
    return value;
  }
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
  declare private readonly state: OneshotState<T>;

  /** @internal */
  constructor(state: OneshotState<T>) {
    this.state = state;
  }

  /**
   * Sends the value (synchronously; the receiver is woken).
   *
   * @throws {ChannelClosed} carrying the value when the receiver is gone or a value was already
   * sent.
   */
  send(value: T): void {
    const state = this.state;
    if (!state.receiverAlive) throw new ChannelClosed("the receiver was dropped", value);
    if (!state.senderAlive || state.hasValue) {
      throw new ChannelClosed("this oneshot sender was already used", value);
    }
    state.value = value;
    state.hasValue = true;
    state.senderAlive = false;
    state.wake();
  }

  /** True once the receiver was dropped or closed. */
  isClosed(): boolean {
    return !this.state.receiverAlive;
  }

  /**
   * A future that completes when the receiver is dropped or closed (so a producer can stop early).
   *
   * Cancel safety: nothing to lose.
   */
  closed(): Future<void> {
    return new OneshotClosed(this.state);
  }

  /** Drops the sender without sending: the receiver gets {@link ChannelClosed}. */
  drop(): void {
    const state = this.state;
    if (!state.senderAlive) return;
    state.senderAlive = false;
    state.wake();
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
 * const value = yield* rx; // or yield* rx.recv()
 * ```
 *
 * Cancel safety: dropping a wait loses nothing unless the receiver itself is dropped.
 */
export class OneshotReceiver<T> extends Future<T> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare private done: boolean;
  declare private readonly state: OneshotState<T>;

  /** @internal */
  constructor(state: OneshotState<T>) {
    super();
    this.done = false;
    this.state = state;
  }

  /**
   * The value, once sent.
   *
   * @throws {ChannelClosed} when the sender was dropped without sending.
   */
  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    const state = this.state;
    if (state.hasValue) {
      this.done = true;
      state.release();
      return state.takeValue();
    }
    if (!state.senderAlive || !state.receiverAlive) {
      this.done = true;
      state.release();
      throw new ChannelClosed(
        state.receiverAlive
          ? "the sender was dropped without sending"
          : "the receiver was closed before a value was sent",
      );
    }
    state.register(cx.waker);
    return Pending;
  }

  /** This receiver, as a future (for symmetry with the other channels). */
  recv(): Future<T> {
    return this;
  }

  /**
   * The value if it has been sent, `undefined` if not yet.
   *
   * @throws {ChannelClosed} when the sender was dropped without sending.
   */
  tryRecv(): T | undefined {
    if (this.state.hasValue) {
      this.done = true;
      return this.state.takeValue();
    }
    if (!this.state.senderAlive && !this.done) throw new ChannelClosed("the sender was dropped");
    if (!this.state.receiverAlive) {
      throw new ChannelClosed("the receiver was closed before a value was sent");
    }
    return undefined;
  }

  /** Refuses the value: a later `send` fails and hands it back. */
  close(): void {
    const state = this.state;
    if (!state.receiverAlive) return;
    state.receiverAlive = false;
    state.closedWaiter?.wake();
  }

  /** Closes and drops a value that was sent but not received. */
  override drop(): void {
    this.close();
    if (this.state.hasValue) this.state.takeValue();
    this.state.release();
  }

  override describe(): string {
    return "oneshot.recv";
  }
}

class OneshotClosed<T> extends Future<void> {
  constructor(private readonly state: OneshotState<T>) {
    super();
  }
  poll(cx: Context): Poll<void> {
    if (!this.state.receiverAlive) return undefined;
    const state = this.state;
    state.closedWaiter ??= new HeldWaker(true);
    state.closedWaiter.register(cx.waker);
    return Pending;
  }
  override drop(): void {
    this.state.closedWaiter?.release();
  }
  override describe(): string {
    return "oneshot.closed";
  }
}

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
  const state = new StateClass<T>();
  return [new SenderClass(state), new ReceiverClass(state)];
}

/** The classes through consts, for `oneshot()`: see "Hot imports" on Future. */
const StateClass = OneshotState;
const SenderClass = OneshotSender;
const ReceiverClass = OneshotReceiver;
