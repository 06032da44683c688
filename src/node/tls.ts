import * as tls from "node:tls";
import { Future, pollAfterCompletion } from "../future/future.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import { timeout } from "../time/timeout.js";
import { IoError } from "./io-error.js";
import { Bind, checkAddr, type SocketAddr, TcpListener, TcpStream } from "./tcp.js";

/**
 * TLS client options: Node's `tls.connect` options minus the ones this module sets (host, port,
 * socket). Certificate verification is on unless `rejectUnauthorized: false` is given.
 */
export type TlsOptions = Omit<tls.ConnectionOptions, "host" | "port" | "socket"> & {
  /** Time limit for the TLS handshake, in ms (default: none). */
  readonly timeout?: number;
};

class TlsHandshake extends Future<TcpStream> {
  private socket: tls.TLSSocket | null = null;
  private secure = false;
  private error: Error | null = null;
  private done = false;
  private readonly waker = new HeldWaker(true);
  private readonly onError = (error: Error): void => {
    this.error = IoError.from(error, "tls", this.target);
    this.waker.wake();
  };

  constructor(
    private readonly start: () => tls.TLSSocket,
    private readonly target: string,
  ) {
    super();
  }

  poll(cx: Context): Poll<TcpStream> {
    if (this.done) throw pollAfterCompletion(this);
    if (this.socket === null) {
      const socket = this.start();
      this.socket = socket;
      socket.once("secureConnect", () => {
        this.secure = true;
        this.waker.wake();
      });
      socket.once("error", this.onError);
    }
    if (this.error !== null) {
      this.done = true;
      this.socket.destroy();
      throw this.error;
    }
    if (this.secure) {
      this.done = true;
      this.socket.off("error", this.onError);
      return new TcpStream(this.socket);
    }
    this.waker.register(cx.waker);
    return Pending;
  }

  override drop(): void {
    if (this.done) return;
    this.done = true;
    this.waker.release();
    this.socket?.destroy();
  }

  override describe(): string {
    return `TLS handshake (${this.target})`;
  }
}

/**
 * Upgrades an open connection to TLS (what STARTTLS needs). Bytes the connection had buffered but
 * not delivered are discarded; the returned stream replaces `stream`, which must not be used again.
 *
 * @example
 * ```ts
 * yield* writeAll(conn, bytes("STARTTLS\r\n"));
 * // ... read the 220 reply ...
 * conn = yield* upgradeToTls(conn, { servername: "mail.example.com" });
 * ```
 * @throws {IoError} (`code` from Node, e.g. "DEPTH_ZERO_SELF_SIGNED_CERT") when the handshake or
 * the certificate check fails.
 *
 * Cancel safety: dropping it closes the connection.
 */
export function upgradeToTls(stream: TcpStream, options: TlsOptions = {}): Future<TcpStream> {
  const { timeout: ms, ...tlsOptions } = options;
  const peer = stream.peerAddr();
  const handshake = new TlsHandshake(
    () => tls.connect({ ...tlsOptions, socket: stream.detach() }),
    `${peer.host}:${peer.port}`,
  );
  return ms === undefined ? handshake : timeout(handshake, ms);
}

/**
 * Connects with TLS from the start (implicit TLS, e.g. SMTP on port 465).
 *
 * @example
 * ```ts
 * const conn = yield* tlsConnect({ host: "smtp.example.com", port: 465 });
 * ```
 * @throws {IoError} when the connection, the handshake or the certificate check fails.
 *
 * Cancel safety: dropping it closes the connection.
 */
export function tlsConnect(addr: SocketAddr, options: TlsOptions = {}): Future<TcpStream> {
  const { timeout: ms, ...tlsOptions } = options;
  const host = addr.host ?? "127.0.0.1";
  const handshake = new TlsHandshake(
    () => tls.connect({ servername: host, ...tlsOptions, host, port: addr.port }),
    `${host}:${addr.port}`,
  );
  return ms === undefined ? handshake : timeout(handshake, ms);
}

/**
 * A listening TLS socket (`waker/node`): a {@link TcpListener} whose connections completed the TLS
 * handshake with the given certificate.
 *
 * @example
 * ```ts
 * const listener = yield* TlsListener.bind({ port: 8443 }, { key, cert });
 * const conn = yield* listener.accept(); // already decrypted
 * ```
 */
export class TlsListener extends TcpListener {
  /**
   * Starts listening with TLS on `addr`.
   *
   * @throws {IoError} with the errno `code` when it cannot listen.
   *
   * Cancel safety: dropping it closes the server if it had started listening.
   */
  static override bind(addr: SocketAddr, options: tls.TlsOptions = {}): Future<TlsListener> {
    const { host, port } = checkAddr(addr, "TlsListener.bind");
    return new Bind(
      host,
      port,
      () => tls.createServer(options),
      (server) => new TlsListener(server, "secureConnection"),
    );
  }
}
