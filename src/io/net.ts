import type { Future } from "../future/future.js";
import type { Stream } from "../stream/stream.js";
import type { AsyncRead, AsyncWrite } from "./async-io.js";

/** A network address: `{ host, port }` (the host defaults to the implementation's loopback). */
export interface NetAddr {
  readonly host?: string;
  readonly port: number;
}

/**
 * A connected byte stream of a {@link Network} (a TCP connection, real or simulated): read it and
 * write it as any `AsyncRead`/`AsyncWrite` (`read`, `writeAll`, `BufReader`...); `shutdown(conn)`
 * half-closes it (the peer reads end of stream), `drop()` closes it at once.
 *
 * @example
 * ```ts
 * const conn = yield* network.connect({ host: "10.0.0.1", port: 7 }, { timeout: 1000 });
 * yield* writeAll(conn, bytes("ping\n"));
 * ```
 */
export interface Connection extends AsyncRead, AsyncWrite {
  /** Disables Nagle's algorithm (a no-op where there is none). */
  setNoDelay(noDelay?: boolean): void;
  /** This end's address. */
  localAddr(): NetAddr;
  /** The other end's address. */
  peerAddr(): NetAddr;
  /** Closes the connection at once. Idempotent. */
  drop(): void;
  [Symbol.dispose](): void;
}

/**
 * A listening socket of a {@link Network}: `accept()` completes with the next connection,
 * `incoming()` is the stream of them.
 *
 * @example
 * ```ts
 * const listener = yield* network.bind({ port: 7 });
 * const conn = yield* listener.accept();
 * ```
 */
export interface Listener {
  /**
   * The next connection. Cancel safety: dropping it loses no connection.
   */
  accept(): Future<Connection>;
  /** The connections, as a stream (ends when the listener is closed). */
  incoming(): Stream<Connection>;
  /** The address it listens on. */
  localAddr(): NetAddr;
  /** Stops listening; connections not yet accepted are closed. Idempotent. */
  close(): void;
  [Symbol.dispose](): void;
}

/** Options of {@link Network.connect}. */
export interface ConnectOptions {
  /** Time limit in ms; the connect then fails with `TimeoutError` (from `timeout`). */
  readonly timeout?: number;
}

/**
 * The runtime-agnostic network seam: code written against it runs unchanged on real sockets
 * (`nodeNetwork` from `waker/node`) or on a simulated network (a `SimHost` of `waker/sim`, with
 * latency, partitions, resets and crashes). Failures are `IoError`s with the errno codes of real
 * sockets (`ECONNREFUSED`, `ECONNRESET`, `EPIPE`, `EADDRINUSE`...); a connect past its `timeout`
 * throws `TimeoutError`.
 *
 * @example
 * ```ts
 * const echoOnce = asyncFn(function* (network: Network, port: number) {
 *   const listener = yield* network.bind({ port });
 *   const conn = yield* listener.accept();
 *   yield* copy(conn, conn);
 * });
 * ```
 */
export interface Network {
  /**
   * Connects to `addr`.
   *
   * Cancel safety: dropping it abandons the attempt (a connection that was being opened is
   * closed).
   */
  connect(addr: NetAddr, options?: ConnectOptions): Future<Connection>;
  /**
   * Starts listening on `addr` (port 0 picks a free port; see `localAddr()`).
   *
   * Cancel safety: dropping it before it completed leaves nothing listening.
   */
  bind(addr: NetAddr): Future<Listener>;
}
