import * as net from "node:net";
import { Future, pollAfterCompletion } from "../future/future.js";
import { AcceptWaiters } from "../io/accept-waiters.js";
import { Stream } from "../stream/stream.js";
import { Waiter } from "../sync/wait-list.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import { timeout } from "../time/timeout.js";
import { Establish } from "./establish.js";
import { IoError } from "./io-error.js";
import { NodeStreamIo } from "./stream-io.js";

/** A TCP address: `{ host, port }` (host defaults to 127.0.0.1). */
export interface SocketAddr {
  readonly host?: string;
  readonly port: number;
}

export function checkAddr(addr: unknown, where: string): { host: string; port: number } {
  const a = addr as SocketAddr | null;
  if (
    a === null ||
    typeof a !== "object" ||
    !Number.isInteger(a.port) ||
    a.port < 0 ||
    a.port > 65535 ||
    (a.host !== undefined && typeof a.host !== "string")
  ) {
    throw new InvalidArgumentError(
      `${where}: expected { host?: string, port: 0..65535 }, got ${describeValue(addr)}`,
    );
  }
  return { host: a.host ?? "127.0.0.1", port: a.port };
}

/**
 * A TCP connection (`waker/node`): an `AsyncRead` and `AsyncWrite` over a Node socket.
 *
 * - Reads pull from the socket's buffer in paused mode; when nobody reads, Node stops reading
 *   from the kernel once its buffer is full, so backpressure reaches the peer.
 * - Writes are accepted while the socket's write buffer is below its high-water mark, then wait
 *   for `drain`: a slow reader on the other side bounds this side's memory.
 * - The socket event handlers only record what happened and wake the waiting task.
 *
 * @example
 * ```ts
 * const conn = yield* TcpStream.connect({ host: "127.0.0.1", port: 2525 }, { timeout: 5000 });
 * const reader = new BufReader(conn);
 * console.log(yield* reader.readLine());
 * yield* writeAll(conn, new TextEncoder().encode("QUIT\r\n"));
 * conn.drop();
 * ```
 */
export class TcpStream extends NodeStreamIo {
  /** @internal Wraps a connected socket (a plain or a TLS one). */
  constructor(private readonly socket: net.Socket) {
    super(socket);
  }

  /**
   * @internal Hands the socket over (for a TLS upgrade): this stream lets go of it without
   * closing it, and bytes it had buffered but not delivered are discarded.
   */
  detach(): net.Socket {
    return this.release() as net.Socket;
  }

  /**
   * Connects to `addr`.
   *
   * @throws {IoError} with the errno `code` (ECONNREFUSED...) when the connection fails.
   * @throws {TimeoutError} when `options.timeout` ms pass first.
   *
   * Cancel safety: dropping the connect destroys the half-open socket.
   */
  static connect(addr: SocketAddr, options?: { timeout?: number }): Future<TcpStream> {
    const { host, port } = checkAddr(addr, "TcpStream.connect");
    const connecting = new Establish(
      "connect",
      `${host}:${port}`,
      "connect",
      () => net.connect({ host, port }),
      (socket: net.Socket) => new TcpStream(socket),
      (socket) => socket.destroy(),
    );
    return options?.timeout === undefined ? connecting : timeout(connecting, options.timeout);
  }

  /** Disables Nagle's algorithm (small writes go out at once). */
  setNoDelay(noDelay = true): void {
    this.socket.setNoDelay(noDelay);
  }

  /** This end's address. */
  localAddr(): SocketAddr {
    return { host: this.socket.localAddress ?? "", port: this.socket.localPort ?? 0 };
  }

  /** The other end's address. */
  peerAddr(): SocketAddr {
    return { host: this.socket.remoteAddress ?? "", port: this.socket.remotePort ?? 0 };
  }
}

/**
 * A listening TCP socket (`waker/node`). `accept()` completes with the next connection;
 * `incoming()` is the stream of them.
 *
 * @example
 * ```ts
 * const listener = yield* TcpListener.bind({ port: 0 });
 * for (;;) {
 *   const conn = yield* listener.accept();
 *   spawn(handle(conn));
 * }
 * ```
 */
export class TcpListener {
  private readonly queue: net.Socket[] = [];
  private error: Error | null = null;
  private closed = false;
  /** Pending accepts (and `incoming()` streams), FIFO: several tasks may accept at once. */
  private readonly acceptors = new AcceptWaiters();

  /** @internal `event` is "secureConnection" for a TLS server. */
  constructor(
    private readonly server: net.Server,
    event: "connection" | "secureConnection" = "connection",
  ) {
    server.on(event, (socket: net.Socket) => {
      if (this.closed) {
        socket.destroy();
        return;
      }
      this.queue.push(socket);
      this.acceptors.wakeNext();
    });
    server.on("error", (error) => {
      this.error = IoError.from(error, "accept");
      this.acceptors.wakeNext();
    });
  }

  /**
   * Starts listening on `addr` (port 0 picks a free port; see `localAddr()`).
   *
   * @throws {IoError} with the errno `code` (EADDRINUSE...) when it cannot listen.
   *
   * Cancel safety: dropping it closes the server if it had started listening.
   */
  static bind(addr: SocketAddr): Future<TcpListener> {
    const { host, port } = checkAddr(addr, "TcpListener.bind");
    return listen(
      host,
      port,
      () => net.createServer({ pauseOnConnect: true }),
      (server) => new TcpListener(server),
    );
  }

  /**
   * A future of the next connection.
   *
   * @throws {IoError} when accepting a connection failed (EMFILE...): that accept only, the
   * listener keeps listening and the next accept can succeed (as tokio's).
   *
   * Several tasks may wait in `accept()` at once: each connection goes to the one that has
   * waited longest.
   *
   * Cancel safety: dropping it loses no connection (it stays queued for the next accept, and a
   * connection it had been woken for goes to the next waiting accept).
   */
  accept(): Future<TcpStream> {
    return new Accept(this);
  }

  /** The connections, as a stream (ends when the listener is closed). */
  incoming(): Stream<TcpStream> {
    return new Incoming(this);
  }

  /** The address it listens on. */
  localAddr(): SocketAddr {
    const a = this.server.address() as net.AddressInfo;
    return { host: a.address, port: a.port };
  }

  /** Stops listening; queued connections are closed. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
    for (const socket of this.queue) socket.destroy();
    this.queue.length = 0;
    this.acceptors.wakeAll();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * @internal The next connection, `Done` once closed, or `Pending` with `waiter` (the accept's
   * own) parked until a connection, an accept error or the close arrives.
   */
  pollAccept(cx: Context, waiter: Waiter): Poll<TcpStream | typeof Done> {
    const socket = this.queue.shift();
    if (socket !== undefined) {
      this.acceptors.leave(waiter, false);
      return new TcpStream(socket);
    }
    if (this.error !== null) {
      // A failed accept(2) (EMFILE...) fails one accept: the server keeps listening.
      const error = this.error;
      this.error = null;
      this.acceptors.leave(waiter, false);
      throw error;
    }
    if (this.closed) {
      this.acceptors.leave(waiter, false);
      return Done;
    }
    this.acceptors.park(waiter, cx.waker);
    return Pending;
  }

  /**
   * @internal An accept (or `incoming()` stream) stopped waiting. If it had been woken for a
   * connection or an error it will not take, the next waiting accept is woken for it instead.
   */
  releaseAcceptor(waiter: Waiter): void {
    this.acceptors.leave(waiter, this.queue.length > 0 || this.error !== null);
  }
}

/** @internal Starts a server listening; shared by `TcpListener.bind` and `TlsListener.bind`. */
export function listen<L>(
  host: string,
  port: number,
  create: () => net.Server,
  wrap: (server: net.Server) => L,
): Future<L> {
  return new Establish(
    "listen",
    `${host}:${port}`,
    "listening",
    () => create().listen(port, host),
    wrap,
    (server) => server.close(),
  );
}

class Accept extends Future<TcpStream> {
  private done = false;
  private readonly waiter = new Waiter();
  constructor(private readonly listener: TcpListener) {
    super();
  }
  poll(cx: Context): Poll<TcpStream> {
    if (this.done) throw pollAfterCompletion(this);
    const r = this.listener.pollAccept(cx, this.waiter);
    if (r === Pending) return Pending;
    this.done = true;
    if (r === Done) throw new IoError("the listener was closed", "ECONNABORTED", "accept");
    return r;
  }
  override drop(): void {
    if (!this.done) this.listener.releaseAcceptor(this.waiter);
    this.done = true;
  }
  override describe(): string {
    return "TcpListener.accept";
  }
}

class Incoming extends Stream<TcpStream> {
  private readonly waiter = new Waiter();
  constructor(private readonly listener: TcpListener) {
    super();
  }
  pollNext(cx: Context): Poll<TcpStream | typeof Done> {
    return this.listener.pollAccept(cx, this.waiter);
  }
  override drop(): void {
    this.listener.releaseAcceptor(this.waiter);
  }
}
