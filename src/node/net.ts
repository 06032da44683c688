import type { Future } from "../future/future.js";
import type { Connection, ConnectOptions, Listener, NetAddr, Network } from "../io/net.js";
import { TcpListener, TcpStream } from "./tcp.js";

/**
 * The {@link Network} of real sockets (`waker/node`): `connect` is `TcpStream.connect`, `bind` is
 * `TcpListener.bind`. Code written against `Network` runs unchanged here or on a simulated
 * network (`SimHost` of `waker/sim`).
 *
 * @example
 * ```ts
 * const serve = asyncFn(function* (network: Network) {
 *   const listener = yield* network.bind({ port: 0 });
 *   ...
 * });
 * await run(serve(nodeNetwork));
 * ```
 * @throws {IoError} with the errno code (ECONNREFUSED, EADDRINUSE...) from the futures.
 * @throws {TimeoutError} when a connect's `timeout` passes first.
 *
 * Cancel safety: as `TcpStream.connect` and `TcpListener.bind`: a dropped connect destroys the
 * half-open socket, a dropped bind closes the server.
 */
export const nodeNetwork: Network = Object.freeze({
  connect(addr: NetAddr, options?: ConnectOptions): Future<Connection> {
    return TcpStream.connect(addr, options);
  },
  bind(addr: NetAddr): Future<Listener> {
    return TcpListener.bind(addr);
  },
});
