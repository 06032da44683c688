import {
  droppedWhenSpent,
  Future,
  type InheritedFuture,
  inheritFrom,
  pollAfterCompletion,
  SelfAwaitingFuture,
  yieldSteps,
} from "../future/future.js";
import { asyncIteratorOf } from "../runtime/async-iterate.js";
import * as Budget from "../runtime/budget.js";
import { HeldWaker } from "../runtime/held-waker.js";
import { ReadyQueue } from "../runtime/ready-queue.js";
import type { Context } from "../task/context.js";
import * as Debug from "../task/debug.js";
import { OutOfRangeError } from "../task/errors.js";
import { Done, Pending as PendingExport, type Poll } from "../task/poll.js";
import { ChannelClosed, ChannelFull, ChannelReceiverBusy } from "./errors.js";
import { Waiter, WaitList } from "./wait-list.js";

// Bound locally for the hot path: see "Hot imports" on Future.
const Pending: typeof PendingExport = PendingExport;
const { consumeBudget } = Budget;
const { debugFlag } = Debug;
const { FRESH, SPENT, doneWith, settleSpent, settleYieldResult, spendYield, startYield } =
  yieldSteps;

/** A spent send future kept by its channel: `Send`, seen from `Chan`. */
interface SpareSend<T> {
  readonly stage: number;
  reuse(message: T): void;
}

/** A spent receive future kept by its channel: `Recv`, seen from `Chan`. */
interface SpareRecv {
  readonly stage: number;
  reuse(): void;
}

/** A waiter that was granted a buffer slot (as opposed to woken by close). */
const GRANTED = 1;

/**
 * The state shared by the senders and the receiver of an mpsc channel. A slot of the buffer is
 * "used" by a buffered message or by a reservation (a granted waiting send, a `Permit`), and at
 * most `capacity` are used. Senders that find no free slot queue in FIFO order; a slot freed by
 * `recv` goes straight to the oldest of them, so no sender overtakes another.
 *
 * Hot paths: the send and receive futures keep their ready case (a free slot, a buffered message)
 * short and in line, and move everything else to methods of their own, so that V8 inlines the
 * whole ready case, buffer operations included, into the future's `next`. V8 stops inlining into
 * one function at ~920 bytes of bytecode, and also counts against that what a callee inlined into
 * its own optimized code. With the waiting cases in line, the send ran out before the buffer's
 * push (measured: 819 instructions per message in the throughput benchmark, JIT code and V8
 * builtins, against 709 after the split).
 *
 * Small futures: a new object's bytes are a cache line written to memory when they first reach
 * it. So the send and receive futures carry only what their own path needs: neither is its own
 * completed `yield*` result (they complete with the shared one), `reserve` is a send whose
 * message is a private marker, `recvMany` is a class of its own, the receive's two flags are one
 * state, and the send marks completion in its waiter field. 184 bytes per message became 120; in
 * the throughput benchmark, cache-simulated (valgrind, a 1 MiB last level) line writes went from
 * 3.1 to 2.0 per message, and instructions from 612 to 575 at 128 bytes (the marker then saved 2
 * more).
 *
 * Reused futures: a send or receive future whose `yield*` completed is spent (see "Spent futures"
 * on SelfAwaitingFuture). The channel keeps the last one of each kind (`spareSend`,
 * `spareRecv`): the one made last, which the next `send` or `recv` hands out again, reset, if it
 * is spent by then, so that a loop of `yield* tx.send(v)` or `yield* rx.recv()` allocates nothing
 * per message in steady state. A future completed any other way, dropped or failed, is never
 * reused. The measured gain is not in instructions (the main thread's: 561 per message in the
 * throughput benchmark before, 552-578 after over five builds) but in the garbage collector's work
 * and in fresh memory: 36 scavenges became 11 for 3 million messages (11 for 1 million as well: a
 * fixed cost), and the time per message fell by 15-20%.
 */
export class Chan<T> {
  declare readonly buffer: ReadyQueue<T>;
  /** Slots reserved but not yet filled. */
  reserved = 0;
  senders = 1;
  /** No more sends: the receiver closed or was dropped. */
  closed = false;
  /** The receiver was dropped: reserved slots can no longer be delivered. */
  receiverDropped = false;
  /** A host callback may send (see `Waiter`), so this counts as a possible host wake. */
  readonly receiver = new HeldWaker(true);
  /**
   * Receive futures registered in `receiver` since its last wake, valid while it holds a waker
   * (a wake uses up every registration). The waker is released when the last of them is dropped,
   * not by the first, which would leave the others parked (two receives of one task,
   * `join(rx.recv(), rx.recv())`, share the task's waker). See `Receiving`.
   */
  waitingReceives = 0;
  /**
   * The receiver's wake number (`HeldWaker.wakes`) when the stream protocol (`pollNext`) last
   * registered, or -1. While it is the latest and a waker is held, a stream waits: it has no
   * future to drop, so its registration lasts until the receiver's next wake. See `Receiving`.
   */
  streamWait = -1;
  /**
   * The waker (its `data`) of the stream whose wait another task's stream took over at wake
   * number `displacedAt`: until the next wake, its polls fail with `ChannelReceiverBusy` rather
   * than take the place back (two streams would wake each other without end). See `Receiving`.
   */
  displaced: unknown = null;
  displacedAt = -1;
  readonly sendWaiters = new WaitList();
  readonly closedWaiters = new WaitList();
  /**
   * The send future made last (by any sender), which the next `send` reuses if it is spent by
   * then: see "Reused futures" above.
   */
  spareSend: SpareSend<T> | null = null;
  /** The receive future made last, which the next `recv` reuses if it is spent by then. */
  spareRecv: SpareRecv | null = null;

  /** `capacity` is finite (a {@link channel}, not an {@link unboundedChannel}). */
  declare readonly bounded: boolean;

  constructor(readonly capacity: number) {
    this.buffer = new ReadyQueue<T>(capacity);
    // A flag, so that the receive path does not compare with Infinity (a float compare) per message.
    this.bounded = capacity !== Number.POSITIVE_INFINITY;
  }

  /** True when a send may take a slot now without overtaking a queued sender. */
  hasFreeSlot(): boolean {
    return this.sendWaiters.length === 0 && this.buffer.length + this.reserved < this.capacity;
  }

  push(value: T): void {
    this.buffer.push(value);
    this.receiver.wake();
  }

  /** A slot became free (a message was received, a reservation released): grant it in order. */
  freeSlot(): void {
    // The common case, tested first so that it costs no call where inlined: nobody to tell.
    if (this.sendWaiters.length === 0 && this.closed === false && this.senders !== 0) return;
    this.grantSlot();
  }

  private grantSlot(): void {
    const waiter = this.sendWaiters.popFront();
    if (waiter === null) {
      // A returned reservation may be what the receiver waits on to see the end.
      if (this.closed === true || this.senders === 0) this.receiver.wake();
      return;
    }
    this.reserved++;
    waiter.assigned = GRANTED;
    waiter.ready = true;
    waiter.wake();
  }

  close(): void {
    if (this.closed === true) return;
    this.closed = true;
    this.sendWaiters.wakeAll();
    this.closedWaiters.wakeAll();
    this.receiver.wake();
  }

  /** Takes one buffered message (there is one) and frees its slot. */
  take(): T {
    const value = this.buffer.shift() as T;
    if (this.bounded === true) this.freeSlot();
    return value;
  }

  /**
   * The receive side is finished: closed (or all senders gone), nothing buffered, and no slot
   * reserved (a permit or a granted send can still deliver after `close()`, as in tokio).
   */
  exhausted(): boolean {
    if (this.receiverDropped === true) return true;
    return (
      this.buffer.isEmpty() && this.reserved === 0 && (this.closed === true || this.senders === 0)
    );
  }
}

/**
 * The sending half of a bounded {@link channel}. Clone it for more producers; the channel closes
 * for the receiver once every sender is dropped.
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<Job>(64);
 * yield* tx.send(job);       // waits while the buffer is full (backpressure)
 * const more = tx.clone();
 * tx.drop();
 * ```
 */
export class Sender<T> {
  private dropped = false;

  /** @internal */
  constructor(private readonly chan: Chan<T>) {}

  /**
   * A future that sends `value`, waiting for a free slot. Senders waiting for a slot are served
   * in FIFO order.
   *
   * @throws {ChannelClosed} carrying the value when the receiver is closed or dropped, or when the
   * future is first polled after every sender was dropped (the receiver may have seen the end of
   * the channel by then; a send already waiting in line is still delivered, and the end waits for
   * it).
   *
   * Cancel safety: dropping a pending send sends nothing (the value stays with you) and keeps
   * the other senders' order; to hold a slot across a cancellation point, use `reserve()`.
   *
   * Single use: once a `yield*` of the future has completed, the channel may return the same
   * object from a later `send` (so that sending allocates nothing in steady state). Do not keep
   * it to poll or drop after that `yield*`; as with Rust's `.await`, the future is used up. A
   * future awaited any other way (`select`, `join`, `map`) is never reused. In debug mode
   * (`setDebugMode`), a future made then is never reused, and dropping it once spent throws
   * `WakerContractError`.
   */
  send(value: T): Future<void> {
    this.check(value);
    const chan = this.chan;
    const spare = chan.spareSend;
    if (spare !== null && spare.stage === SPENT) {
      spare.reuse(value);
      return spare as unknown as Future<void>;
    }
    const fut = new Send(chan, value);
    // In debug mode a new future is not kept for reuse (checked here, off the per-message path).
    chan.spareSend = debugFlag.on === false ? fut : null;
    return fut as unknown as Future<void>;
  }

  /**
   * Sends now if a slot is free.
   *
   * @throws {ChannelFull} carrying the value when the buffer is full.
   * @throws {ChannelClosed} carrying the value when the receiver is closed or dropped.
   */
  trySend(value: T): void {
    this.check(value);
    const chan = this.chan;
    if (chan.closed === true) throw new ChannelClosed("the channel is closed", value);
    if (!chan.hasFreeSlot()) throw new ChannelFull(`the channel is full (${chan.capacity})`, value);
    chan.push(value);
  }

  /**
   * A future of a {@link Permit}: a reserved slot that `permit.send(value)` fills without waiting
   * and without any way to fail.
   *
   * @throws {ChannelClosed} when the receiver is closed or dropped, or when the future is first
   * polled after every sender was dropped (as `send`).
   *
   * Cancel safety: dropping a pending reserve holds no slot and keeps the others' order.
   */
  reserve(): Future<Permit<T>> {
    this.check();
    return new Send<T>(this.chan, RESERVE) as unknown as Future<Permit<T>>;
  }

  /**
   * A {@link Permit} now, if a slot is free (tokio's `try_reserve`): the slot is held until the
   * permit sends or is released.
   *
   * @example
   * ```ts
   * const permit = tx.tryReserve(); // throws ChannelFull rather than wait
   * permit.send(job);
   * ```
   * @throws {ChannelFull} when no slot is free (or senders are already waiting for one).
   * @throws {ChannelClosed} when the receiver is closed or dropped.
   */
  tryReserve(): Permit<T> {
    this.check();
    const chan = this.chan;
    if (chan.closed === true) throw new ChannelClosed("the channel is closed");
    if (!chan.hasFreeSlot()) {
      throw new ChannelFull(`the channel is full (${chan.capacity})`, undefined);
    }
    chan.reserved++;
    return new Permit(chan);
  }

  /**
   * Free slots now: the capacity less the buffered messages and the reserved slots (tokio's
   * `capacity()`). A send or reserve takes one, a receive or a released permit gives it back.
   *
   * @example
   * ```ts
   * if (tx.capacity === 0) metrics.backpressure++;
   * ```
   */
  get capacity(): number {
    const chan = this.chan;
    return chan.capacity - chan.buffer.length - chan.reserved;
  }

  /** The channel's capacity, as given to {@link channel}. */
  get maxCapacity(): number {
    return this.chan.capacity;
  }

  /** Another sender of the same channel. */
  clone(): Sender<T> {
    this.check();
    this.chan.senders++;
    return new Sender(this.chan);
  }

  /** True when `other` sends into the same channel as this sender. */
  sameChannel(other: Sender<T>): boolean {
    return other instanceof Sender && other.chan === this.chan;
  }

  /** True once the receiver closed or was dropped. */
  isClosed(): boolean {
    return this.chan.closed;
  }

  /**
   * A future that completes when the receiver closes or is dropped.
   *
   * Cancel safety: nothing to lose.
   */
  closed(): Future<void> {
    return new ClosedWait(this.chan) as unknown as Future<void>;
  }

  /** Releases this sender; when the last one goes, the receiver sees the end of the channel. */
  drop(): void {
    if (this.dropped === true) return;
    this.dropped = true;
    const chan = this.chan;
    chan.senders--;
    if (chan.senders === 0) chan.receiver.wake();
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  private check(value?: T): void {
    if (this.dropped === true) throw new ChannelClosed("this sender was dropped", value);
  }
}

/**
 * A reserved slot of a bounded channel (from `Sender.reserve()`). `send` fills it at once;
 * `release` (or `using`) gives the slot back unused.
 *
 * @example
 * ```ts
 * using permit = yield* tx.reserve();
 * permit.send(yield* produce()); // cannot fail for lack of room
 * ```
 */
export class Permit<T> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  declare private used: boolean;
  declare private readonly chan: Chan<T>;

  /** @internal */
  constructor(chan: Chan<T>) {
    this.used = false;
    this.chan = chan;
  }

  /**
   * Sends into the reserved slot (also after the receiver's `close()`: reserved slots are still
   * delivered).
   *
   * @throws {ChannelClosed} carrying the value when the receiver was dropped.
   */
  send(value: T): void {
    if (this.used === true) throw new ChannelClosed("this permit was already used", value);
    this.used = true;
    const chan = this.chan;
    chan.reserved--;
    if (chan.receiverDropped === true) throw new ChannelClosed("the receiver was dropped", value);
    chan.push(value);
  }

  /** Gives the slot back without sending. Idempotent. */
  release(): void {
    if (this.used === true) return;
    this.used = true;
    this.chan.reserved--;
    this.chan.freeSlot();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

/**
 * The receiving half of a channel (bounded or unbounded). Also a stream: `pollNext` yields the
 * messages and ends once the channel is closed and empty.
 *
 * @example
 * ```ts
 * for (;;) {
 *   const job = yield* rx.recv().catch(() => null); // ChannelClosed at the end
 *   if (job === null) break;
 *   handle(job);
 * }
 * ```
 */
export class Receiver<T> {
  /** @internal */
  constructor(private readonly chan: Chan<T>) {}

  /**
   * A future of the next message.
   *
   * @throws {ChannelClosed} once the channel is closed (or every sender dropped) and empty.
   * @throws {ChannelReceiverBusy} when it would wait while a receive of another task waits (one
   * consumer at a time; receives of one task may wait together). A stream of another task
   * waiting is woken instead, and fails with it if it polls again while this receive waits.
   *
   * Cancel safety: dropping a pending `recv` consumes nothing.
   *
   * Single use: once a `yield*` of the future has completed, the channel may return the same
   * object from a later `recv` (so that receiving allocates nothing in steady state). Do not keep
   * it to poll or drop after that `yield*`; as with Rust's `.await`, the future is used up. A
   * future awaited any other way (`select`, `join`, `map`) is never reused. In debug mode, a
   * future made then is never reused, and dropping it once spent throws `WakerContractError`.
   */
  recv(): Future<T> {
    const chan = this.chan;
    const spare = chan.spareRecv;
    if (spare !== null && spare.stage === SPENT) {
      spare.reuse();
      return spare as unknown as Future<T>;
    }
    const fut = new Recv(chan);
    chan.spareRecv = debugFlag.on === false ? fut : null;
    return fut as unknown as Future<T>;
  }

  /**
   * A future of up to `limit` messages (at least one), in order.
   *
   * @throws {ChannelClosed} once the channel is closed and empty.
   * @throws {ChannelReceiverBusy} as `recv`.
   * @throws {OutOfRangeError} (a `RangeError`) when `limit` is not a positive integer.
   *
   * Cancel safety: as `recv`.
   */
  recvMany(limit: number): Future<T[]> {
    if (!Number.isInteger(limit) || limit < 1) {
      throw new OutOfRangeError(`recvMany: limit must be a positive integer, got ${String(limit)}`);
    }
    return new RecvMany(this.chan, limit) as unknown as Future<T[]>;
  }

  /**
   * The next message if one is buffered, `undefined` if none is.
   *
   * @throws {ChannelClosed} once the channel is closed and empty.
   */
  tryRecv(): T | undefined {
    const chan = this.chan;
    if (!chan.buffer.isEmpty()) return chan.take();
    if (chan.exhausted()) throw new ChannelClosed("the channel is closed and empty");
    return undefined;
  }

  /**
   * The next message, `Done` at the end of the channel, or `Pending` (the stream protocol).
   *
   * @throws {ChannelReceiverBusy} when it would wait while a receive of another task waits, or
   * after another task's stream poll took this stream's place, until the next message or the
   * end. A stream of another task waiting is woken instead, and this poll takes its place.
   */
  pollNext(cx: Context): Poll<T | typeof Done> {
    const chan = this.chan;
    if (!chan.buffer.isEmpty()) {
      if (consumeBudget(cx) === false) return Pending;
      return chan.take();
    }
    if (chan.exhausted()) return Done;
    const receiver = chan.receiver;
    const waker = cx.waker;
    const held = receiver.waker;
    if (held === null) {
      // After a wake, the receive futures counted before it are used up (see `Receiving`), and
      // so is a displacement: forget the displaced task.
      chan.waitingReceives = 0;
      chan.displaced = null;
    } else if (!held.willWake(waker)) {
      if (
        chan.waitingReceives > 0 ||
        (chan.displacedAt === receiver.wakes && chan.displaced === waker.data)
      ) {
        throw new ChannelReceiverBusy(
          "a receive or stream of another task is already waiting on this channel's receiver (one consumer at a time)",
        );
      }
      // Another task's stream waits, and may have stopped polling (a stream has no drop): wake
      // it and take its place; until the next wake, its polls fail (see `Receiving`).
      chan.displaced = held.data;
      receiver.wake();
      chan.displacedAt = receiver.wakes;
    }
    receiver.register(waker);
    chan.streamWait = receiver.wakes;
    return Pending;
  }

  /** Messages buffered now. */
  get length(): number {
    return this.chan.buffer.length;
  }

  /** True when no message is buffered now. */
  isEmpty(): boolean {
    return this.chan.buffer.isEmpty();
  }

  /**
   * True once no more messages can be sent: the receiver closed (or was dropped), or every
   * sender was dropped. Buffered messages can still be received.
   *
   * @example
   * ```ts
   * if (rx.isClosed() && rx.isEmpty()) return; // nothing more will come
   * ```
   */
  isClosed(): boolean {
    const chan = this.chan;
    return chan.closed === true || chan.senders === 0;
  }

  /** Stops the senders: pending and later sends fail; buffered messages can still be received. */
  close(): void {
    this.chan.close();
  }

  /** Closes the channel and discards the buffered messages. */
  drop(): void {
    const chan = this.chan;
    chan.receiverDropped = true;
    chan.close();
    while (!chan.buffer.isEmpty()) chan.buffer.shift();
    chan.waitingReceives = 0;
    chan.streamWait = -1;
    chan.displaced = null;
    chan.receiver.release();
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  /**
   * `for await (const message of rx)` from ordinary async code: each step is driven by the
   * runtime polling now (or the default runtime); the loop ends when the channel does, and a
   * `break` drops the receiver.
   */
  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return asyncIteratorOf(this);
  }
}

/**
 * `Send.waiter` once the send completed, failed or was dropped: a marker rather than a flag of
 * its own, a field less per message (see "Small futures" on Chan). Never in a list.
 */
const SEND_FINISHED = new Waiter();

/** `Send.message` of a `reserve()`: complete with a `Permit` instead of sending a value. */
const RESERVE: unique symbol = Symbol("reserve");

/**
 * A const class expression, not a declaration, on the hot path: see "Hot imports" on Future.
 * Not its own completed iterator result (no `done`/`value` fields): a send's output is
 * `undefined`, whose result object is shared (`doneWith`). Fewer fields, fewer bytes allocated
 * per message: see "Small futures" on Chan. A base class that inherits from SelfAwaitingFuture
 * without deriving from it: see "Constructors in try blocks" on Future.
 */
const Send = class Send<T> implements InheritedFuture<void | Permit<T>> {
  // Fields declared and assigned in the constructor: see "Hot constructors" on Future.
  /** @internal SelfAwaitingFuture's. */
  declare stage: number;
  /** `null` before queueing, our place in the queue, then {@link SEND_FINISHED}. */
  declare private waiter: Waiter | null;
  declare private readonly chan: Chan<T>;
  /** The value to send, or {@link RESERVE}: reserve a slot and complete with a Permit. */
  declare private message: T | typeof RESERVE;

  constructor(chan: Chan<T>, message: T | typeof RESERVE) {
    this.stage = FRESH;
    this.waiter = null;
    this.chan = chan;
    this.message = message;
  }

  /** For a `send` of the channel: this future, spent, made new (see "Reused futures" on Chan). */
  reuse(message: T): void {
    this.stage = FRESH;
    this.waiter = null;
    this.message = message;
  }

  /**
   * @internal The `yield*` protocol, written out here: see SelfAwaitingFuture. Completing it
   * spends the future, for the channel to reuse (see "Reused futures" on Chan).
   */
  next(sent?: unknown): unknown {
    if (this.stage !== FRESH) return spendYield(this, sent);
    const cx = startYield(this);
    return cx === null ? { done: false, value: this } : settleSpent(this, this.poll(cx));
  }

  poll(cx: Context): Poll<void | Permit<T>> {
    const chan = this.chan;
    // The fast path (not queued or finished, open, a sender left, a slot free) is kept short: see
    // "Hot paths" on Chan.
    if (this.waiter === null && chan.closed === false && chan.senders !== 0 && chan.hasFreeSlot()) {
      if (consumeBudget(cx) === false) return Pending;
      this.waiter = SEND_FINISHED;
      const message = this.message;
      if (message === RESERVE) {
        chan.reserved++;
        return new Permit(chan);
      }
      // Sent: the future (maybe the channel's spare, see "Reused futures" on Chan) lets go of it.
      this.message = undefined as T;
      chan.push(message);
      return undefined;
    }
    return this.pollQueued(cx);
  }

  /** Closed, or no slot free for us yet: queue up (once) and wait to be granted a slot. */
  private pollQueued(cx: Context): Poll<void | Permit<T>> {
    const chan = this.chan;
    let waiter = this.waiter;
    if (waiter === SEND_FINISHED) throw pollAfterCompletion(this);
    if (waiter === null) {
      if (chan.closed === true) return this.fail("the channel is closed");
      // Every sender was dropped: the receiver may have seen the end already, after which a
      // message would be lost (a send holds no sender, so it may outlive the last one).
      if (chan.senders === 0) return this.fail("every sender was dropped");
      if (consumeBudget(cx) === false) return Pending;
      waiter = new Waiter();
      this.waiter = waiter;
      chan.sendWaiters.pushBack(waiter);
    }
    if (waiter.assigned === GRANTED) return this.complete();
    if (chan.closed === true) return this.fail("the channel is closed");
    waiter.register(cx.waker);
    return Pending;
  }

  drop(): void {
    const waiter = this.waiter;
    if (waiter === SEND_FINISHED) {
      if (this.stage === SPENT && debugFlag.on === true) throw droppedWhenSpent(this, "channel");
      return;
    }
    this.waiter = SEND_FINISHED;
    if (this.message !== RESERVE) this.message = undefined as T;
    if (waiter === null) return;
    this.chan.sendWaiters.cancel(waiter);
    if (waiter.assigned === GRANTED) {
      // The slot granted to us goes to the next sender in line.
      waiter.assigned = 0;
      this.chan.reserved--;
      this.chan.freeSlot();
    }
  }

  describe(): string {
    return this.message === RESERVE ? "Sender.reserve" : "Sender.send";
  }

  /** We were granted a reserved slot: fill it (send) or hand it out (reserve). */
  private complete(): void | Permit<T> {
    (this.waiter as Waiter).release();
    this.waiter = SEND_FINISHED;
    const chan = this.chan;
    const message = this.message;
    if (message === RESERVE) return new Permit(chan);
    this.message = undefined as T;
    chan.reserved--;
    if (chan.receiverDropped === true) throw new ChannelClosed("the receiver was dropped", message);
    chan.push(message);
    return undefined;
  }

  private fail(reason: string): never {
    const message = this.message;
    this.drop();
    throw new ChannelClosed(reason, message === RESERVE ? undefined : message);
  }
};
inheritFrom(Send, SelfAwaitingFuture);

/** `Receiving.state`: not waiting (yet), nothing to release. */
const IDLE = 0;
/** `Receiving.state`: completed, failed or dropped. */
const FINISHED = 1;
/**
 * `Receiving.state` from here up: registered after the receiver's wake number
 * `state - REGISTERED` (`HeldWaker.wakes`). While that is its latest, the receive counts among
 * `waitingReceives`; once not, it was woken since and holds nothing.
 */
const REGISTERED = 2;

/**
 * What `recv` and `recvMany` share: waiting for a message, the end of the channel, drop.
 *
 * The channel keeps one waker for its consumer. Receives of one task (one waker) may wait
 * together: the channel counts them, and only the last one dropped releases the waker. A receive
 * of another task that would take the place of a waiting one throws `ChannelReceiverBusy` instead
 * (tokio rules this out with `&mut self`): the first would stay parked, past the end of the
 * channel.
 *
 * Registrations are counted per wake of the receiver, so that completing a receive, which happens
 * only after a wake (every message pushed wakes the waiting receiver), leaves the count alone: the
 * fast path of a receive does no bookkeeping. The stream protocol's wait (`pollNext`, and so
 * `for await` and the stream combinators) is recorded too, in `Chan.streamWait`, and a receive of
 * the same task dropped meanwhile keeps the waker for it. A stream has no future to drop, so its
 * wait lasts until the receiver's next wake, and a task may have stopped polling it (a dropped
 * `stream.next()`, or a `for await` step whose promise was left behind). So another task does not
 * fail on a stream's wait: its receive or stream poll wakes the stream's task and takes its
 * place. If that stream still waits, its next poll finds the newcomer and throws
 * `ChannelReceiverBusy` (for a stream, only until the receiver's next wake: `Chan.displaced`; two
 * streams taking the place back in turn would wake each other without end).
 *
 * Waiting: the usual case (nothing registered since the last wake) is kept short, and the rest is
 * out of line. The driver polls a woken receive itself, so V8 optimizes `poll` on its own with
 * the waiting path inlined; when it then optimizes the receive's `next`, it counts that code's
 * inlined size against its budget. With a larger waiting path, `next` stopped inlining `poll`: in
 * a process that had run channel ping-pong first, throughput went from 33.5 to 38 ns per message.
 */
abstract class Receiving<T, O> extends SelfAwaitingFuture<O> {
  // Never constructed: `Recv` and `RecvMany` inherit from it (see `inheritFrom`) and set these.
  /** IDLE, REGISTERED or FINISHED. */
  declare state: number;
  declare readonly chan: Chan<T>;

  /** Nothing buffered: the end of the channel, or wait for a message. */
  pollEmpty(cx: Context): Poll<O> {
    const chan = this.chan;
    const receiver = chan.receiver;
    // The usual case, kept short (see "Waiting" above): nothing registered since the last wake.
    if (receiver.waker !== null || chan.exhausted()) return this.pollEmptyRare(cx);
    receiver.register(cx.waker);
    this.state = REGISTERED + receiver.wakes;
    chan.waitingReceives = 1;
    return Pending;
  }

  /** {@link pollEmpty} at the end of the channel, or after another registration since a wake. */
  private pollEmptyRare(cx: Context): Poll<O> {
    const chan = this.chan;
    if (chan.exhausted()) {
      this.finish();
      throw new ChannelClosed("the channel is closed and empty");
    }
    // Not the end, so `pollEmpty` came here because a waker is registered since the last wake.
    const receiver = chan.receiver;
    const registered = REGISTERED + receiver.wakes;
    const live = this.state === registered;
    if (receiver.willWake(cx.waker)) {
      // Receives (or a stream) of this task wait already: wait with them.
      if (!live) {
        this.state = registered;
        chan.waitingReceives++;
      }
      return Pending;
    }
    if (chan.waitingReceives > (live ? 1 : 0)) {
      // A receive of another task waits: taking its place would leave it parked for good.
      this.finish();
      throw new ChannelReceiverBusy(
        "a receive of another task is already waiting on this channel's receiver (one consumer at a time)",
      );
    }
    // What is registered is a stream's wait of another task (which may have stopped polling: a
    // stream has no drop), or this receive itself, moved to another task. Wake it rather than
    // leave it parked, and take its place: a stream still waiting then finds this receive when it
    // polls again, and gets ChannelReceiverBusy.
    receiver.wake();
    receiver.register(cx.waker);
    this.state = REGISTERED + receiver.wakes;
    chan.waitingReceives = 1;
    return Pending;
  }

  /**
   * Done waiting (failed or dropped): the last receive registered gives the waker back, unless a
   * stream of the same task waits on it too.
   */
  private finish(): void {
    const chan = this.chan;
    const receiver = chan.receiver;
    const wakes = receiver.wakes;
    if (
      this.state === REGISTERED + wakes &&
      --chan.waitingReceives === 0 &&
      chan.streamWait !== wakes
    ) {
      receiver.release();
    }
    this.state = FINISHED;
  }

  override drop(): void {
    if (this.state !== FINISHED) this.finish();
    else if (this.stage === SPENT && debugFlag.on === true) throw droppedWhenSpent(this, "channel");
  }
}

/**
 * `Receiver.recv`. A const class expression: see "Hot imports" on Future. It completes a `yield*`
 * with the shared result object (`doneWith`), and once spent the channel's next `recv` reuses it
 * (see "Reused futures" on Chan). A base class that inherits from Receiving without deriving from
 * it: see "Constructors in try blocks" on Future.
 */
const Recv = class Recv<T> implements InheritedFuture<T> {
  // Fields declared and assigned in the constructor (in Receiving's order): see "Hot constructors"
  // on Future.
  /** @internal SelfAwaitingFuture's. */
  declare stage: number;
  declare state: number;
  declare readonly chan: Chan<T>;
  /** Receiving's. */
  declare pollEmpty: (cx: Context) => Poll<T>;

  constructor(chan: Chan<T>) {
    this.stage = FRESH;
    this.state = IDLE;
    this.chan = chan;
  }

  /** For a `recv` of the channel: this future, spent, made new (see "Reused futures" on Chan). */
  reuse(): void {
    this.stage = FRESH;
    this.state = IDLE;
  }

  /**
   * @internal The `yield*` protocol, written out here: see SelfAwaitingFuture. Completing it
   * spends the future, for the channel to reuse (see "Reused futures" on Chan).
   */
  next(sent?: unknown): unknown {
    if (this.stage !== FRESH) return spendYield(this, sent);
    const cx = startYield(this);
    return cx === null ? { done: false, value: this } : settleSpent(this, this.poll(cx));
  }

  poll(cx: Context): Poll<T> {
    if (this.state === FINISHED) throw pollAfterCompletion(this);
    // The fast path (a message buffered) is kept short: see "Hot paths" on Chan.
    const chan = this.chan;
    if (!chan.buffer.isEmpty()) {
      if (consumeBudget(cx) === false) return Pending;
      this.state = FINISHED;
      return chan.take();
    }
    return this.pollEmpty(cx);
  }

  describe(): string {
    return "Receiver.recv";
  }
};
inheritFrom(Recv, Receiving);

/** `Receiver.recvMany`: up to `limit` messages at once. A base class, as `Recv`. */
const RecvMany = class RecvMany<T> implements InheritedFuture<T[]> {
  /** @internal SelfAwaitingFuture's. */
  declare stage: number;
  declare state: number;
  declare readonly chan: Chan<T>;
  declare private readonly limit: number;
  /** Receiving's. */
  declare pollEmpty: (cx: Context) => Poll<T[]>;

  constructor(chan: Chan<T>, limit: number) {
    this.stage = FRESH;
    this.state = IDLE;
    this.chan = chan;
    this.limit = limit;
  }

  /** @internal The `yield*` protocol, written out here: see SelfAwaitingFuture. */
  next(sent?: unknown): unknown {
    if (this.stage !== FRESH) return doneWith(sent);
    const cx = startYield(this);
    return cx === null ? { done: false, value: this } : settleYieldResult(this, this.poll(cx));
  }

  poll(cx: Context): Poll<T[]> {
    if (this.state === FINISHED) throw pollAfterCompletion(this);
    const chan = this.chan;
    if (chan.buffer.isEmpty()) return this.pollEmpty(cx);
    if (consumeBudget(cx) === false) return Pending;
    this.state = FINISHED;
    const buffer = chan.buffer;
    const out: T[] = [];
    while (out.length < this.limit && !buffer.isEmpty()) out.push(chan.take());
    return out;
  }

  describe(): string {
    return "Receiver.recvMany";
  }
};
inheritFrom(RecvMany, Receiving);

/**
 * A base class that inherits from Future without deriving from it: made per await, often inside
 * a `try` (see "Constructors in try blocks" on Future).
 */
class ClosedWait<T> implements InheritedFuture<void> {
  private waiter: Waiter | null = null;
  constructor(private readonly chan: Chan<T>) {}
  poll(cx: Context): Poll<void> {
    if (this.chan.closed) {
      this.drop();
      return undefined;
    }
    if (this.waiter === null) {
      this.waiter = new Waiter();
      this.chan.closedWaiters.pushBack(this.waiter);
    }
    this.waiter.register(cx.waker);
    return Pending;
  }
  drop(): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    this.chan.closedWaiters.cancel(waiter);
  }
  describe(): string {
    return "Sender.closed";
  }
}
inheritFrom(ClosedWait, Future);

function checkCapacity(capacity: unknown): number {
  if (typeof capacity !== "number" || !Number.isInteger(capacity) || capacity < 1) {
    throw new OutOfRangeError(
      `channel: capacity must be an integer >= 1, got ${typeof capacity === "number" ? capacity : `${typeof capacity} ${String(capacity)}`}`,
    );
  }
  return capacity;
}

/**
 * A bounded multi-producer, single-consumer channel: `const [tx, rx] = channel<T>(capacity)`. At
 * most `capacity` messages are buffered; `send` waits for room (backpressure), in FIFO order among
 * senders. Messages from one sender arrive in the order sent. A loop of `yield* tx.send(v)` and
 * `yield* rx.recv()` allocates nothing per message in steady state: the channel reuses a send or
 * receive future once its `yield*` has completed (see `Sender.send`, "Single use").
 *
 * @example
 * ```ts
 * const [tx, rx] = channel<number>(16);
 * spawn(future(function* () {
 *   for (let i = 0; i < 100; i++) yield* tx.send(i);
 *   tx.drop();
 * }));
 * let sum = 0;
 * for (;;) {
 *   const n = yield* rx.recv().catch(() => undefined);
 *   if (n === undefined) break;
 *   sum += n;
 * }
 * ```
 * @throws {OutOfRangeError} (a `RangeError`) when `capacity` is not an integer >= 1.
 */
export function channel<T>(capacity: number): [Sender<T>, Receiver<T>] {
  const chan = new Chan<T>(checkCapacity(capacity));
  return [new Sender(chan), new Receiver(chan)];
}

/**
 * The sending half of an {@link unboundedChannel}: `send` never waits.
 *
 * @example
 * ```ts
 * const [tx, rx] = unboundedChannel<string>();
 * tx.send("hello");
 * ```
 */
export class UnboundedSender<T> {
  private dropped = false;

  /** @internal */
  constructor(private readonly chan: Chan<T>) {}

  /**
   * Sends at once (the buffer grows as needed).
   *
   * @throws {ChannelClosed} carrying the value when the receiver is closed or dropped.
   */
  send(value: T): void {
    if (this.dropped === true) throw new ChannelClosed("this sender was dropped", value);
    if (this.chan.closed) throw new ChannelClosed("the channel is closed", value);
    this.chan.push(value);
  }

  /** Another sender of the same channel. */
  clone(): UnboundedSender<T> {
    if (this.dropped === true) throw new ChannelClosed("this sender was dropped");
    this.chan.senders++;
    return new UnboundedSender(this.chan);
  }

  /** True when `other` sends into the same channel as this sender. */
  sameChannel(other: UnboundedSender<T>): boolean {
    return other instanceof UnboundedSender && other.chan === this.chan;
  }

  /** True once the receiver closed or was dropped. */
  isClosed(): boolean {
    return this.chan.closed;
  }

  /**
   * A future that completes when the receiver closes or is dropped.
   *
   * Cancel safety: nothing to lose.
   */
  closed(): Future<void> {
    return new ClosedWait(this.chan) as unknown as Future<void>;
  }

  /** Releases this sender; when the last one goes, the receiver sees the end of the channel. */
  drop(): void {
    if (this.dropped === true) return;
    this.dropped = true;
    this.chan.senders--;
    if (this.chan.senders === 0) this.chan.receiver.wake();
  }

  [Symbol.dispose](): void {
    this.drop();
  }
}

/**
 * A multi-producer, single-consumer channel without a bound: `send` is synchronous and never
 * waits. Use it where the producer cannot wait (a host callback); prefer {@link channel} for
 * backpressure.
 *
 * @example
 * ```ts
 * const [tx, rx] = unboundedChannel<Event>();
 * emitter.on("event", (e) => tx.send(e));
 * const first = yield* rx.recv();
 * ```
 */
export function unboundedChannel<T>(): [UnboundedSender<T>, Receiver<T>] {
  const chan = new Chan<T>(Number.POSITIVE_INFINITY);
  return [new UnboundedSender(chan), new Receiver(chan)];
}
