import { Future, pollAfterCompletion } from "../future/future.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { ChannelClosed } from "./errors.js";

class OneshotState<T> {
  value: { v: T } | null = null;
  senderAlive = true;
  receiverAlive = true;
  /** The sender may be used from a host callback: counted as a possible host wake. */
  readonly receiver = new HeldWaker(true);
  readonly closedWaiter = new HeldWaker(true);
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
  /** @internal */
  constructor(private readonly state: OneshotState<T>) {}

  /**
   * Sends the value (synchronously; the receiver is woken).
   *
   * @throws {ChannelClosed} carrying the value when the receiver is gone or a value was already
   * sent.
   */
  send(value: T): void {
    const state = this.state;
    if (!state.receiverAlive) throw new ChannelClosed("the receiver was dropped", value);
    if (!state.senderAlive || state.value !== null) {
      throw new ChannelClosed("this oneshot sender was already used", value);
    }
    state.value = { v: value };
    state.senderAlive = false;
    state.receiver.wake();
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
    state.receiver.wake();
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
  private done = false;

  /** @internal */
  constructor(private readonly state: OneshotState<T>) {
    super();
  }

  /**
   * The value, once sent.
   *
   * @throws {ChannelClosed} when the sender was dropped without sending.
   */
  poll(cx: Context): Poll<T> {
    if (this.done) throw pollAfterCompletion(this);
    const state = this.state;
    const value = state.value;
    if (value !== null) {
      state.value = null;
      this.done = true;
      state.receiver.release();
      return value.v;
    }
    if (!state.senderAlive || !state.receiverAlive) {
      this.done = true;
      state.receiver.release();
      throw new ChannelClosed(
        state.receiverAlive
          ? "the sender was dropped without sending"
          : "the receiver was closed before a value was sent",
      );
    }
    state.receiver.register(cx.waker);
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
    const value = this.state.value;
    if (value !== null) {
      this.state.value = null;
      this.done = true;
      return value.v;
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
    state.closedWaiter.wake();
  }

  /** Closes and drops a value that was sent but not received. */
  override drop(): void {
    this.close();
    this.state.value = null;
    this.state.receiver.release();
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
    this.state.closedWaiter.register(cx.waker);
    return Pending;
  }
  override drop(): void {
    this.state.closedWaiter.release();
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
  const state = new OneshotState<T>();
  return [new OneshotSender(state), new OneshotReceiver(state)];
}
