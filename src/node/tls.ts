import * as tls from "node:tls";
import type { Future } from "../future/future.js";
import { timeout } from "../time/timeout.js";
import { Establish } from "./establish.js";
import { checkAddr, listen, type SocketAddr, TcpListener, TcpStream } from "./tcp.js";

/**
 * TLS client options: Node's `tls.connect` options minus the ones this module sets (host, port,
 * socket). Certificate verification is on unless `rejectUnauthorized: false` is given.
 */
export type TlsOptions = Omit<tls.ConnectionOptions, "host" | "port" | "socket"> & {
  /** Time limit for the TLS handshake, in ms (default: none). */
  readonly timeout?: number;
};

/** A TLS socket that completed its handshake, as a stream; destroyed if dropped or failed first. */
function handshake(target: string, start: () => tls.TLSSocket): Future<TcpStream> {
  return new Establish(
    "tls",
    target,
    "secureConnect",
    start,
    (socket: tls.TLSSocket) => new TcpStream(socket),
    (socket) => socket.destroy(),
  );
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
 * Cancel safety: dropped after its first poll (the upgrade has taken `stream` over), it closes
 * the connection; dropped before, it never touched `stream`.
 */
export function upgradeToTls(stream: TcpStream, options: TlsOptions = {}): Future<TcpStream> {
  const { timeout: ms, ...tlsOptions } = options;
  const peer = stream.peerAddr();
  const upgrading = handshake(`${peer.host}:${peer.port}`, () =>
    tls.connect({ ...tlsOptions, socket: stream.detach() }),
  );
  return ms === undefined ? upgrading : timeout(upgrading, ms);
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
  const connecting = handshake(`${host}:${addr.port}`, () =>
    tls.connect({ servername: host, ...tlsOptions, host, port: addr.port }),
  );
  return ms === undefined ? connecting : timeout(connecting, ms);
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
    return listen(
      host,
      port,
      () => tls.createServer(options),
      (server) => new TlsListener(server, "secureConnection"),
    );
  }
}
