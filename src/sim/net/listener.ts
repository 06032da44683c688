import { Future, pollAfterCompletion } from "../../future/future.js";
import { AcceptWaiters } from "../../io/accept-waiters.js";
import type { Listener, NetAddr } from "../../io/net.js";
import { IoError } from "../../node/io-error.js";
import { Stream } from "../../stream/stream.js";
import { Waiter } from "../../sync/wait-list.js";
import type { Context } from "../../task/context.js";
import { Done, Pending, type Poll } from "../../task/poll.js";
import type { SimHost } from "./host.js";
import type { SimStream } from "./stream.js";

/**
 * A listening socket on a {@link SimHost} (`waker/sim`), with the interface of `TcpListener`:
 * `accept()`, `incoming()`, `localAddr()`, `close()`. Connections wait in a backlog until
 * accepted; while the backlog is full, new connection requests are retransmitted later (as a
 * real kernel drops SYNs). Several tasks may wait in `accept()` at once: each arriving
 * connection goes to one of them, and one giving up does not affect the others.
 *
 * @example
 * ```ts
 * const listener = yield* server.bind({ port: 25 });
 * for (;;) spawn(session(yield* listener.accept()));
 * ```
 */
export class SimListener implements Listener {
  /** @internal Accepted by the network, not yet by the program. */
  readonly queue: SimStream[] = [];
  /** @internal */
  closed = false;
  /** Pending accepts (and `incoming()` streams), FIFO: several tasks may accept at once. */
  private readonly acceptors = new AcceptWaiters();

  /** @internal Use {@link SimHost.bind}. */
  constructor(
    /** The host it listens on. */
    readonly host: SimHost,
    private readonly port: number,
  ) {}

  /**
   * A future of the next connection.
   *
   * @throws {IoError} ECONNABORTED once the listener is closed (or its host crashed).
   *
   * Cancel safety: dropping it loses no connection (it stays queued for the next accept).
   */
  accept(): Future<SimStream> {
    return new Accept(this);
  }

  /** The connections, as a stream (ends when the listener is closed). */
  incoming(): Stream<SimStream> {
    return new Incoming(this);
  }

  /** The address it listens on. */
  localAddr(): NetAddr {
    return { host: this.host.address, port: this.port };
  }

  /** Stops listening; connections not yet accepted are reset. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.unlisten(this.port, this);
    for (const end of this.queue.splice(0)) end.net.abort(end);
    this.acceptors.wakeAll();
  }

  /** Same as {@link close}. */
  drop(): void {
    this.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** @internal The network queued a connection. */
  push(end: SimStream): void {
    this.queue.push(end);
    this.acceptors.wakeNext();
  }

  /**
   * @internal The next connection, `Done` once closed, or `Pending` with `waiter` (the accept's
   * own) parked until a connection arrives or the listener closes.
   */
  pollAccept(cx: Context, waiter: Waiter): Poll<SimStream | typeof Done> {
    const end = this.queue.shift();
    if (end !== undefined || this.closed) {
      this.acceptors.leave(waiter, false);
      return end ?? Done;
    }
    this.acceptors.park(waiter, cx.waker);
    return Pending;
  }

  /**
   * @internal An accept (or incoming stream) stopped waiting. If it had been woken for a
   * connection it will not take, the next waiting accept is woken for it instead.
   */
  releaseAcceptor(waiter: Waiter): void {
    this.acceptors.leave(waiter, this.queue.length > 0);
  }
}

class Accept extends Future<SimStream> {
  private done = false;
  private readonly slot = new Waiter();
  constructor(private readonly listener: SimListener) {
    super();
  }
  poll(cx: Context): Poll<SimStream> {
    if (this.done) throw pollAfterCompletion(this);
    const r = this.listener.pollAccept(cx, this.slot);
    if (r === Pending) return Pending;
    this.done = true;
    if (r === Done) {
      throw new IoError("the listener was closed", "ECONNABORTED", "accept");
    }
    return r;
  }
  override drop(): void {
    if (!this.done) this.listener.releaseAcceptor(this.slot);
    this.done = true;
  }
  override describe(): string {
    return `SimListener.accept(${this.listener.host.address})`;
  }
}

class Incoming extends Stream<SimStream> {
  private readonly slot = new Waiter();
  constructor(private readonly listener: SimListener) {
    super();
  }
  pollNext(cx: Context): Poll<SimStream | typeof Done> {
    return this.listener.pollAccept(cx, this.slot);
  }
  override drop(): void {
    this.listener.releaseAcceptor(this.slot);
  }
}
