import { Future, pollAfterCompletion } from "../../future/future.js";
import type { ConnectOptions, NetAddr, Network } from "../../io/net.js";
import { IoError } from "../../node/io-error.js";
import type { Context } from "../../task/context.js";
import { describeValue, InvalidArgumentError } from "../../task/errors.js";
import { Pending, type Poll } from "../../task/poll.js";
import { type Sleep, sleep } from "../../time/sleep.js";
import { timeout } from "../../time/timeout.js";
import { SimListener } from "./listener.js";
import type { SimNetwork } from "./network.js";
import { CONNECTING, FAILED, OPEN, type SimStream } from "./stream.js";

const FIRST_EPHEMERAL = 49152;
const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);
const ANY = new Set(["0.0.0.0", "::"]);

function checkAddr(addr: unknown, where: string): { host: string | undefined; port: number } {
  const a = addr as NetAddr | null;
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
  return { host: a.host, port: a.port };
}

/**
 * A machine on a {@link SimNetwork} (`waker/sim`), with an address: a {@link Network}, so code
 * written against `Network` runs on it unchanged. `bind` gives a {@link SimListener}, `connect` a
 * {@link SimStream}. `crash()` resets every connection of the host and closes its listeners;
 * `restart()` brings it back with nothing listening.
 *
 * @example
 * ```ts
 * const net = new SimNetwork({ random: seededRandom(7) });
 * const server = net.host("10.0.0.1");
 * const client = net.host("10.0.0.2");
 * const listener = yield* server.bind({ port: 80 });
 * const conn = yield* client.connect({ host: "10.0.0.1", port: 80 }, { timeout: 1000 });
 * ```
 */
export class SimHost implements Network {
  /** @internal Listeners by port. */
  readonly listeners = new Map<number, SimListener>();
  /** @internal Ends on this host that are connecting or open. */
  readonly ends = new Set<SimStream>();
  private nextPort = FIRST_EPHEMERAL;
  private crashed = false;

  /** @internal Use {@link SimNetwork.host}. */
  constructor(
    private readonly net: SimNetwork,
    /** This host's address ("10.0.0.1"). */
    readonly address: string,
  ) {}

  /** True between `crash()` and `restart()`. */
  get isDown(): boolean {
    return this.crashed;
  }

  /**
   * Starts listening on `addr` of this host (`host` may be omitted, "0.0.0.0" or this host's
   * address; port 0 picks a free port). Completes on its first poll.
   *
   * @example
   * ```ts
   * const listener = yield* host.bind({ port: 0 });
   * console.log(listener.localAddr().port);
   * ```
   * @throws {IoError} EADDRINUSE when the port is taken, EADDRNOTAVAIL for another host's
   * address, ENETDOWN while the host is crashed.
   * @throws {InvalidArgumentError} for a malformed address.
   *
   * Cancel safety: dropping it before its first poll binds nothing.
   */
  bind(addr: NetAddr): Future<SimListener> {
    const { host, port } = checkAddr(addr, "SimHost.bind");
    return new Bind(this, host, port);
  }

  /**
   * Connects to `addr` over the network: the connection request travels the link (latency,
   * partitions), and the answer travels back. With nobody listening it fails with ECONNREFUSED;
   * with no answer at all (an unknown host, a request held by a partition) with ETIMEDOUT after
   * the network's `synTimeout`; with `options.timeout`, with `TimeoutError` after that many ms,
   * as `TcpStream.connect` does.
   *
   * @example
   * ```ts
   * const conn = yield* host.connect({ host: "10.0.0.1", port: 80 }, { timeout: 1000 });
   * ```
   * @throws {IoError} ECONNREFUSED, ETIMEDOUT, ENETDOWN (this host is crashed), ECONNABORTED
   * (this host crashed, or the connecting end from `connections()` was dropped, while
   * connecting), ECONNRESET (`SimNetwork.reset` of the connecting end).
   * @throws {TimeoutError} when `options.timeout` ms pass first.
   *
   * Cancel safety: dropping it abandons the attempt; a connection the server had already
   * accepted is reset.
   */
  connect(addr: NetAddr, options?: ConnectOptions): Future<SimStream> {
    const { host, port } = checkAddr(addr, "SimHost.connect");
    const target = host === undefined || LOOPBACK.has(host) ? this.address : host;
    const connecting = new Connect(this, target, port);
    return options?.timeout === undefined ? connecting : timeout(connecting, options.timeout);
  }

  /** The connections of this host that are open (or connecting), for fault injection. */
  connections(): SimStream[] {
    return [...this.ends];
  }

  /**
   * Crashes the host: every connection of it is reset (its own ends throw ECONNRESET, its peers
   * get a reset over the network), connects in progress fail with ECONNABORTED, listeners close
   * (pending accepts throw ECONNABORTED). Until `restart()`, bind and connect fail with ENETDOWN
   * and connection requests to it are refused. Tasks running "on" it are not stopped by this.
   */
  crash(): void {
    if (this.crashed) return;
    this.crashed = true;
    this.net.trace?.(`net crash ${this.address}`);
    for (const listener of [...this.listeners.values()]) listener.close();
    for (const end of [...this.ends]) this.net.crashEnd(end);
  }

  /** Brings a crashed host back, with no listener and no connection. */
  restart(): void {
    if (this.crashed) this.net.trace?.(`net restart ${this.address}`);
    this.crashed = false;
  }

  /** @internal */
  checkUp(syscall: string): void {
    if (this.crashed) {
      throw new IoError(`${syscall} failed: host ${this.address} is down`, "ENETDOWN", syscall);
    }
  }

  /** @internal A free port (ephemeral range, wrapping). */
  ephemeralPort(): number {
    for (let i = 0; i < 65536 - FIRST_EPHEMERAL; i++) {
      const port = this.nextPort;
      this.nextPort = port === 65535 ? FIRST_EPHEMERAL : port + 1;
      if (!this.listeners.has(port)) return port;
    }
    throw new IoError("no free port", "EADDRNOTAVAIL", "bind", this.address);
  }

  /** @internal */
  listen(host: string | undefined, port: number): SimListener {
    this.checkUp("bind");
    if (host !== undefined && !ANY.has(host) && !LOOPBACK.has(host) && host !== this.address) {
      throw new IoError(
        `bind failed: ${host} is not an address of host ${this.address}`,
        "EADDRNOTAVAIL",
        "bind",
        `${host}:${port}`,
      );
    }
    const chosen = port === 0 ? this.ephemeralPort() : port;
    if (this.listeners.has(chosen)) {
      throw new IoError(
        `bind failed: ${this.address}:${chosen} is in use`,
        "EADDRINUSE",
        "bind",
        `${this.address}:${chosen}`,
      );
    }
    const listener = new SimListener(this, chosen);
    this.listeners.set(chosen, listener);
    return listener;
  }

  /** @internal */
  unlisten(port: number, listener: SimListener): void {
    if (this.listeners.get(port) === listener) this.listeners.delete(port);
  }

  /** @internal */
  get network(): SimNetwork {
    return this.net;
  }

  toString(): string {
    return `SimHost(${this.address}${this.crashed ? ", down" : ""})`;
  }
}

class Bind extends Future<SimListener> {
  private done = false;
  constructor(
    private readonly host: SimHost,
    private readonly addr: string | undefined,
    private readonly port: number,
  ) {
    super();
  }
  poll(_cx: Context): Poll<SimListener> {
    if (this.done) throw pollAfterCompletion(this);
    this.done = true;
    return this.host.listen(this.addr, this.port);
  }
  override drop(): void {
    this.done = true;
  }
  override describe(): string {
    return `SimHost.bind(${this.host.address}:${this.port})`;
  }
}

class Connect extends Future<SimStream> {
  private end: SimStream | null = null;
  /** The network's `synTimeout`: an unanswered connect fails with ETIMEDOUT. */
  private giveUp: Sleep | null = null;
  private done = false;
  constructor(
    private readonly host: SimHost,
    private readonly target: string,
    private readonly port: number,
  ) {
    super();
  }
  poll(cx: Context): Poll<SimStream> {
    if (this.done) throw pollAfterCompletion(this);
    let end = this.end;
    if (end === null) {
      this.host.checkUp("connect");
      end = this.host.network.startConnect(this.host, this.target, this.port);
      this.end = end;
    }
    if (end.state === CONNECTING) {
      end.connecting.register(cx.waker);
      this.giveUp ??= sleep(this.host.network.synTimeout);
      if (this.giveUp.poll(cx) === Pending) return Pending;
      this.host.network.giveUp(end);
    }
    this.done = true;
    this.giveUp?.drop();
    end.connecting.release();
    if (end.state === FAILED) throw end.error;
    // Open, or already reset by the peer: the caller learns that on its first read or write.
    return end;
  }
  override drop(): void {
    if (this.done) return;
    this.done = true;
    this.giveUp?.drop();
    const end = this.end;
    if (end === null) return;
    end.connecting.release();
    // Abandoned: nobody owns the end; a connection that was established is closed.
    if (end.state === CONNECTING) this.host.network.abandon(end);
    else if (end.state === OPEN) end.drop();
  }
  override describe(): string {
    return `SimHost.connect(${this.host.address} -> ${this.target}:${this.port})`;
  }
}
