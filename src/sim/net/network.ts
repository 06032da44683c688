import { IoError } from "../../node/io-error.js";
import { currentRuntimeOrNull } from "../../runtime/current.js";
import { currentOrDefaultRuntime } from "../../runtime/default-runtime.js";
import type { Runtime } from "../../runtime/runtime.js";
import { describeValue, InvalidArgumentError } from "../../task/errors.js";
import { TimeDriver } from "../../time/time-driver.js";
import { EventQueue } from "./event-queue.js";
import { SimHost } from "./host.js";
import { DEFAULT_LINK, type LinkConfig, type LinkOptions, resolveLink } from "./link.js";
import { NetPump } from "./pump.js";
import { ACK, DATA, FIN, RST, Segment, SYN, SYNACK } from "./segment.js";
import { CLOSED, CONNECTING, FAILED, type Flow, OPEN, RESET, SimStream } from "./stream.js";

/** Options of {@link SimNetwork}. */
export interface SimNetworkOptions {
  /** The only source of choices (latency draws, losses, resets): a seeded generator. */
  readonly random: () => number;
  /** Link behaviour between hosts without their own {@link SimNetwork.setLink} (defaults: see {@link LinkOptions}). */
  readonly link?: LinkOptions;
  /** Largest segment in bytes (default 1460): writes are cut into segments of at most this. */
  readonly mss?: number;
  /** Bytes a connection end buffers for sending before `pollWrite` waits (default 64 KiB). */
  readonly sendBuffer?: number;
  /**
   * The receiver's buffer per direction (default 64 KiB): the sender keeps its unacknowledged
   * bytes within the free space the receiver's last ACK announced, so a bulk transfer moves at
   * most one window per round trip, and a receiver that does not read stops the sender.
   */
  readonly receiveWindow?: number;
  /** Connections a listener queues before accepting (default 128). */
  readonly backlog?: number;
  /** How long an unanswered connect waits before ETIMEDOUT (default 127,000 ms, as Linux). */
  readonly synTimeout?: number;
  /**
   * Called with one line per network event: each delivery (`net DATA 1460 B 10.0.0.1 ->
   * 10.0.0.2`), and each fault (`net partition a b`, `net reset ...`, `net crash a`...). The
   * simulator puts these lines in its event log.
   */
  readonly trace?: (line: string) => void;
}

/** Traffic counters of a {@link SimNetwork}. */
export interface SimNetworkStats {
  /** Segments sent (each retransmission after a partition counts again). */
  readonly segments: number;
  /** Payload bytes sent. */
  readonly bytes: number;
  /** Segments lost and retransmitted (each loss counts). */
  readonly lost: number;
  /** Segments in flight now. */
  readonly inFlight: number;
  /** Segments held now by partitions and holds. */
  readonly held: number;
  /** Connections reset (by `reset`, a reset rate, a crash or an abortive close). */
  readonly resets: number;
}

function positiveInt(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(
      `SimNetwork: ${name} must be an integer >= 1, got ${describeValue(value)}`,
    );
  }
  return value;
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

function checkHost(address: unknown, where: string): string {
  if (typeof address !== "string" || address.length === 0) {
    throw new InvalidArgumentError(
      `${where}: expected a host address string, got ${describeValue(address)}`,
    );
  }
  return address;
}

/**
 * A simulated network (`waker/sim`): hosts with addresses exchanging TCP-like connections over
 * links with latency, bandwidth, loss and resets, plus faults you trigger: `partition`/`repair`,
 * `hold`/`release`, `reset(conn)`, `host.crash()`/`restart()`.
 *
 * - Every delivery is scheduled on the timers of the runtime that polls the network (virtual or
 *   real clock; a network task named "sim-net" delivers what is due), and every choice comes from
 *   `random`: with a seeded generator and a seeded schedule, a run replays exactly.
 * - In flight, segments count as pending timers, so a program waiting on them is not deadlocked;
 *   a program waiting on a socket with nothing in flight (or everything held by a partition that
 *   no task will repair) is, and the runtime reports it.
 * - One runtime per network: it binds to the runtime that first uses it, and using it from
 *   another runtime throws `InvalidArgumentError` (create the network inside each `simulate` run).
 *
 * @example
 * ```ts
 * const net = new SimNetwork({ random: seededRandom(1), link: { latency: { min: 5, max: 50 } } });
 * const a = net.host("10.0.0.1");
 * const b = net.host("10.0.0.2");
 * await new Runtime({ clock: "virtual" }).run(future(function* () {
 *   const listener = yield* b.bind({ port: 7 });
 *   const conn = yield* a.connect({ host: "10.0.0.2", port: 7 });
 *   net.partition("10.0.0.1", "10.0.0.2"); // segments wait...
 *   net.repair("10.0.0.1", "10.0.0.2");    // ...and go
 * }));
 * ```
 * @throws {InvalidArgumentError} for malformed options.
 */
export class SimNetwork {
  /** @internal */
  readonly random: () => number;
  /** @internal */
  readonly mss: number;
  /** @internal */
  readonly sendBuffer: number;
  /** @internal */
  readonly window: number;
  /** @internal */
  readonly backlog: number;
  /** @internal */
  readonly synTimeout: number;
  private readonly defaults: LinkConfig;
  private readonly links = new Map<string, LinkConfig>();
  private readonly hosts = new Map<string, SimHost>();
  /** Directions (`a>b`) busy sending until a time (bandwidth). */
  private readonly busy = new Map<string, number>();
  private readonly cuts = new Set<string>();
  private readonly holds = new Set<string>();
  private held: Segment[] = [];
  private readonly events = new EventQueue<Segment>();
  private counter = 0;
  private runtime: Runtime | null = null;
  private timeDriver: TimeDriver | null = null;
  private pump: NetPump | null = null;
  private sent = 0;
  private sentBytes = 0;
  private lost = 0;
  private resetCount = 0;
  /** @internal */
  readonly trace: ((line: string) => void) | null;

  constructor(options: SimNetworkOptions) {
    if (options === null || typeof options !== "object" || typeof options.random !== "function") {
      throw new InvalidArgumentError(
        `SimNetwork: expected { random: () => number, ... }, got ${describeValue(options)}`,
      );
    }
    this.random = options.random;
    this.defaults = resolveLink(options.link, DEFAULT_LINK, "SimNetwork");
    this.mss = positiveInt(options.mss, 1460, "mss");
    this.sendBuffer = positiveInt(options.sendBuffer, 64 * 1024, "sendBuffer");
    this.window = positiveInt(options.receiveWindow, 64 * 1024, "receiveWindow");
    this.backlog = positiveInt(options.backlog, 128, "backlog");
    this.synTimeout = positiveInt(options.synTimeout, 127_000, "synTimeout");
    if (options.trace !== undefined && typeof options.trace !== "function") {
      throw new InvalidArgumentError(
        `SimNetwork: trace must be a function, got ${describeValue(options.trace)}`,
      );
    }
    this.trace = options.trace ?? null;
  }

  /**
   * The host with `address`, created on first use.
   *
   * @example
   * ```ts
   * const db = net.host("10.0.0.5");
   * ```
   * @throws {InvalidArgumentError} when `address` is not a non-empty string.
   */
  host(address: string): SimHost {
    checkHost(address, "SimNetwork.host");
    let host = this.hosts.get(address);
    if (host === undefined) {
      host = new SimHost(this, address);
      this.hosts.set(address, host);
    }
    return host;
  }

  /**
   * Sets the behaviour of the link between hosts `a` and `b` (both directions; `a === b` for a
   * host talking to itself), over the network's defaults.
   *
   * @example
   * ```ts
   * net.setLink("10.0.0.1", "10.0.0.2", { latency: 100, bandwidth: 10, loss: 0.05 });
   * ```
   * @throws {InvalidArgumentError} for malformed options.
   */
  setLink(a: string, b: string, options: LinkOptions): void {
    const key = pairKey(checkHost(a, "setLink"), checkHost(b, "setLink"));
    this.links.set(key, resolveLink(options, this.defaults, "SimNetwork.setLink"));
  }

  /**
   * Cuts the link between `a` and `b` in both directions: segments (and connection requests)
   * between them wait, in order, until `repair`; a connect across it times out. A program that
   * waits on a partition no task will repair is reported as deadlocked.
   *
   * @example
   * ```ts
   * net.partition("10.0.0.1", "10.0.0.2");
   * yield* sleep(5_000); // the client's request times out meanwhile
   * net.repair("10.0.0.1", "10.0.0.2");
   * ```
   */
  partition(a: string, b: string): void {
    this.cuts.add(pairKey(checkHost(a, "partition"), checkHost(b, "partition")));
    this.trace?.(`net partition ${a} ${b}`);
  }

  /**
   * Restores the link between `a` and `b`: held segments are sent again (fresh latency), and the
   * bytes of each connection are still delivered in order.
   */
  repair(a: string, b: string): void {
    this.cuts.delete(pairKey(checkHost(a, "repair"), checkHost(b, "repair")));
    this.trace?.(`net repair ${a} ${b}`);
    this.resend();
  }

  /**
   * Holds segments from `a` to `b` (one direction) until `release(a, b)`: replies from `b` still
   * flow, so "the request arrived but its reply is late" and the reverse are easy to stage.
   *
   * @example
   * ```ts
   * net.hold("10.0.0.2", "10.0.0.1"); // the server's replies wait
   * ```
   */
  hold(a: string, b: string): void {
    this.holds.add(`${checkHost(a, "hold")}>${checkHost(b, "hold")}`);
    this.trace?.(`net hold ${a} ${b}`);
  }

  /** Releases the segments held from `a` to `b`: they go on (fresh latency), in order. */
  release(a: string, b: string): void {
    this.holds.delete(`${checkHost(a, "release")}>${checkHost(b, "release")}`);
    this.trace?.(`net release ${a} ${b}`);
    this.resend();
  }

  /**
   * Resets the connection of `conn` (either end): both ends throw ECONNRESET on reads and EPIPE
   * on writes from now on; unread and unsent bytes are lost. A connect still in progress fails
   * with ECONNRESET.
   *
   * @example
   * ```ts
   * const [victim] = net.host("10.0.0.2").connections();
   * if (victim !== undefined) net.reset(victim);
   * ```
   * @throws {InvalidArgumentError} when `conn` is not a `SimStream` of this network.
   */
  reset(conn: SimStream): void {
    if (!(conn instanceof SimStream) || conn.net !== this) {
      throw new InvalidArgumentError(
        `SimNetwork.reset: expected a SimStream of this network, got ${describeValue(conn)}`,
      );
    }
    this.trace?.(`net reset ${conn}`);
    this.resetConnection(conn);
  }

  /**
   * Counters of what the network carried.
   *
   * @example
   * ```ts
   * console.log(net.stats); // { segments: 412, bytes: 190233, lost: 3, inFlight: 2, held: 0, resets: 1 }
   * ```
   */
  get stats(): SimNetworkStats {
    return {
      segments: this.sent,
      bytes: this.sentBytes,
      lost: this.lost,
      inFlight: this.events.size,
      held: this.held.length,
      resets: this.resetCount,
    };
  }

  /** @internal Milliseconds on the clock of the network's runtime. */
  now(): number {
    return this.driver().now();
  }

  // ---- engine (internal) ----

  /** @internal Starts a connect from `host` to `target:port`: the end waits in CONNECTING. */
  startConnect(host: SimHost, target: string, port: number): SimStream {
    const end = new SimStream(
      this,
      host,
      { host: host.address, port: host.ephemeralPort() },
      { host: target, port },
    );
    host.ends.add(end);
    this.send(new Segment(SYN, host.address, target, end, null, null));
    return end;
  }

  /** @internal The connect of `end` got no answer within `synTimeout` (its future's timer). */
  giveUp(end: SimStream): void {
    if (end.state === CONNECTING) this.fail(end, "ETIMEDOUT", `no answer from ${end.peerLabel()}`);
  }

  /** @internal A connect future was dropped before an answer. */
  abandon(end: SimStream): void {
    end.state = FAILED;
    end.host.ends.delete(end);
  }

  /** @internal `drop()` of an end. */
  close(end: SimStream): void {
    if (end.state === CONNECTING) {
      // Dropped (via `host.connections()`) while its connect future waits: that connect fails now.
      this.fail(end, "ECONNABORTED", "the connection was dropped while connecting");
      return;
    }
    if (end.state !== OPEN) return;
    if (end.in.buffered > 0) {
      // Unread bytes: the kernel answers a close with a reset, as a real one does.
      this.abort(end);
      return;
    }
    end.state = CLOSED;
    end.host.ends.delete(end);
    end.out.finQueued = true;
    this.transmit(end.out);
    end.wakeAll();
  }

  /** @internal Abortive close: a reset goes to the peer, buffers are discarded. */
  abort(end: SimStream): void {
    if (end.state !== OPEN) return;
    end.state = CLOSED;
    end.host.ends.delete(end);
    end.in.clearReceiver();
    end.out.clearSender();
    end.out.finSent = true;
    this.sendRst(end);
    end.wakeAll();
  }

  /** @internal The end's host crashed. */
  crashEnd(end: SimStream): void {
    if (end.state === CONNECTING) {
      this.fail(end, "ECONNABORTED", `host ${end.host.address} crashed`);
    } else if (end.state === OPEN) {
      this.sendRst(end);
      this.resetEnd(end);
    }
  }

  /** @internal Moves queued bytes of `flow` into flight as far as the receive window allows. */
  transmit(flow: Flow): void {
    const from = flow.from;
    if ((from.state !== OPEN && from.state !== CLOSED) || flow.to === null) return;
    let sent = false;
    while (flow.queued > 0) {
      const room = flow.advertised - flow.unacked;
      if (room <= 0) break;
      const n = Math.min(this.mss, flow.queued, room);
      const bytes = flow.take(n);
      flow.unacked += n;
      flow.sent += n;
      sent = true;
      this.sendFlow(flow, DATA, bytes);
    }
    if (flow.queued === 0 && flow.finQueued && !flow.finSent) {
      flow.finSent = true;
      this.sendFlow(flow, FIN, null);
    }
    if (sent) flow.writer.wake();
  }

  /** @internal The receiver of `flow` read: announce the window once it grew by an MSS or half. */
  windowOpened(flow: Flow): void {
    const free = this.window - flow.buffered;
    if (free - flow.lastAdvertised >= Math.min(this.mss, this.window / 2)) this.sendAck(flow);
  }

  /** @internal Delivers every segment due by `now` (the pump). */
  deliverDue(now: number): void {
    for (;;) {
      const next = this.events.peek();
      if (next === undefined || next.time > now) return;
      this.events.pop();
      this.arrive(next);
    }
  }

  /** @internal When the next segment is due, if any. */
  nextEventTime(): number | undefined {
    return this.events.peek()?.time;
  }

  /** @internal For the task dump. */
  describeTraffic(): string {
    const next = this.events.peek();
    const at = next === undefined ? "" : `, next ${next.describe()} at ${next.time.toFixed(1)} ms`;
    return `${this.events.size} in flight, ${this.held.length} held${at}`;
  }

  private driver(): TimeDriver {
    const current = currentRuntimeOrNull();
    if (this.timeDriver === null) {
      this.runtime = current ?? currentOrDefaultRuntime();
      this.timeDriver = TimeDriver.of(this.runtime);
    } else if (current !== null && current !== this.runtime) {
      throw new InvalidArgumentError(
        "SimNetwork: used from a second runtime; its deliveries run on the first one that used it (create one network per runtime, e.g. per simulate run)",
      );
    }
    return this.timeDriver;
  }

  private schedule(seg: Segment): void {
    this.events.push(seg);
    const driver = this.driver();
    if (this.pump === null) {
      this.pump = new NetPump(this, driver);
      (this.runtime as Runtime).spawn(this.pump, { name: "sim-net" }).drop();
    } else {
      this.pump.poke(seg.time);
    }
  }

  private blocked(from: string, to: string): boolean {
    return (
      (this.cuts.size > 0 && this.cuts.has(pairKey(from, to))) ||
      (this.holds.size > 0 && this.holds.has(`${from}>${to}`))
    );
  }

  private linkOf(a: string, b: string): LinkConfig {
    return this.links.size === 0 ? this.defaults : (this.links.get(pairKey(a, b)) ?? this.defaults);
  }

  private sendFlow(flow: Flow, kind: number, bytes: Uint8Array | null): void {
    const to = flow.to as SimStream;
    const seg = new Segment(kind, flow.from.host.address, to.host.address, null, flow, bytes);
    seg.flowSeq = flow.nextSeq++;
    this.send(seg);
  }

  private sendRst(from: SimStream): void {
    const peer = from.peer;
    if (peer === null) return;
    from.rstSent = true;
    this.send(new Segment(RST, from.host.address, peer.host.address, peer, null, null));
  }

  /** Puts `seg` on the link: departure after the bytes ahead of it, plus latency and losses. */
  private send(seg: Segment, delay = 0): void {
    seg.seq = ++this.counter;
    if (this.blocked(seg.from, seg.to)) {
      this.held.push(seg);
      return;
    }
    const link = this.linkOf(seg.from, seg.to);
    const size = seg.bytes === null ? 0 : seg.bytes.length;
    this.sent++;
    this.sentBytes += size;
    let depart = this.now() + delay;
    if (size > 0 && link.bandwidth !== Number.POSITIVE_INFINITY) {
      const direction = `${seg.from}>${seg.to}`;
      depart = Math.max(depart, this.busy.get(direction) ?? 0) + size / link.bandwidth;
      this.busy.set(direction, depart);
    }
    let latency = link.latency(this.random);
    if (link.loss > 0) {
      let rto = link.retransmitTimeout;
      for (let i = 0; i < 16 && this.random() < link.loss; i++) {
        this.lost++;
        latency += rto;
        rto *= 2;
      }
    }
    if (seg.kind === DATA && link.resetRate > 0) seg.resets = this.random() < link.resetRate;
    let time = depart + latency;
    const flow = seg.flow;
    if (flow !== null) {
      // Bytes of one connection never overtake each other.
      if (time < flow.lastArrival) time = flow.lastArrival;
      flow.lastArrival = time;
    }
    seg.time = time;
    this.schedule(seg);
  }

  private resend(): void {
    const held = this.held;
    if (held.length === 0) return;
    this.held = [];
    for (const seg of held) this.send(seg);
  }

  private arrive(seg: Segment): void {
    this.trace?.(`net ${seg.describe()}`);
    if (this.blocked(seg.from, seg.to)) {
      // Cut while in flight: retransmitted once the link is back.
      this.held.push(seg);
      return;
    }
    if (seg.kind === SYN) this.arriveSyn(seg);
    else if (seg.kind === RST) this.arriveRst(seg.end as SimStream);
    else if (seg.kind === ACK) this.arriveAck(seg);
    else this.arriveInFlow(seg);
  }

  private arriveSyn(seg: Segment): void {
    const client = seg.end as SimStream;
    if (client.state !== CONNECTING) return;
    const host = this.hosts.get(seg.to);
    if (host === undefined) return; // nobody answers: the connect times out
    const port = client.peerAddr().port;
    const listener = host.isDown ? undefined : host.listeners.get(port);
    if (listener === undefined || listener.closed) {
      this.send(new Segment(RST, seg.to, seg.from, client, null, null));
      return;
    }
    if (listener.queue.length >= this.backlog) {
      // Backlog full: the SYN is dropped and retransmitted (1 s, 2 s, 4 s...).
      const retry = new Segment(SYN, seg.from, seg.to, client, null, null);
      retry.retries = seg.retries + 1;
      this.send(retry, 1000 * 2 ** seg.retries);
      return;
    }
    const local = client.localAddr();
    const server = new SimStream(
      this,
      host,
      { host: host.address, port },
      { host: local.host ?? seg.from, port: local.port },
      { out: client.in, in: client.out },
    );
    client.out.to = server;
    client.in.from = server;
    client.peer = server;
    server.peer = client;
    server.state = OPEN;
    host.ends.add(server);
    listener.push(server);
    this.sendFlow(client.in, SYNACK, null);
  }

  private arriveRst(end: SimStream): void {
    if (end.state === CONNECTING) {
      this.fail(end, "ECONNREFUSED", `connection refused by ${end.peerLabel()}`);
    } else if (end.state === OPEN) {
      this.resetEnd(end);
    } else if (end.state === CLOSED) {
      end.out.clearSender();
    }
  }

  /** SYNACK, DATA and FIN are delivered in their flow's order; bytes delivered are acknowledged. */
  private arriveInFlow(seg: Segment): void {
    const flow = seg.flow as Flow;
    if (seg.flowSeq !== flow.recvNext) {
      flow.early ??= new Map();
      flow.early.set(seg.flowSeq, seg);
      return;
    }
    const before = flow.delivered;
    this.deliver(flow, seg);
    flow.recvNext++;
    const early = flow.early;
    if (early !== null) {
      for (
        let next = early.get(flow.recvNext);
        next !== undefined;
        next = early.get(flow.recvNext)
      ) {
        early.delete(flow.recvNext);
        this.deliver(flow, next);
        flow.recvNext++;
      }
    }
    if (flow.delivered !== before) this.sendAck(flow);
  }

  /** Acknowledges what `flow` delivered, announcing the receiver's free window. */
  private sendAck(flow: Flow): void {
    const to = flow.to as SimStream;
    if (to.state !== OPEN) return;
    const ack = new Segment(ACK, to.host.address, flow.from.host.address, null, flow, null);
    ack.flowSeq = ++flow.ackCount;
    ack.acked = flow.delivered;
    ack.free = this.window - flow.buffered;
    flow.lastAdvertised = ack.free;
    this.send(ack);
  }

  /** The freshest ACK sets what the sender may have unacknowledged; then it sends more. */
  private arriveAck(seg: Segment): void {
    const flow = seg.flow as Flow;
    if (seg.flowSeq <= flow.ackApplied) return;
    flow.ackApplied = seg.flowSeq;
    flow.unacked = flow.sent - seg.acked;
    flow.advertised = seg.free;
    this.transmit(flow);
  }

  private deliver(flow: Flow, seg: Segment): void {
    const to = flow.to as SimStream;
    if (seg.kind === SYNACK) {
      if (to.state === CONNECTING) {
        to.state = OPEN;
        to.connecting.wake();
      } else if (to.state === FAILED) {
        // The connect was abandoned (or gave up): the server's end is reset.
        this.send(new Segment(RST, to.host.address, flow.from.host.address, flow.from, null, null));
      }
      return;
    }
    if (seg.kind === FIN) {
      flow.eof = true;
      flow.reader.wake();
      // A FIN for a connection that is gone here: the peer learns it from a reset.
      if ((to.state === RESET || to.state === FAILED) && !to.rstSent) this.sendRst(to);
      return;
    }
    const bytes = seg.bytes as Uint8Array;
    if (to.state === OPEN) {
      if (seg.resets) {
        this.resetConnection(to);
        return;
      }
      flow.buffer.push(bytes);
      flow.buffered += bytes.length;
      flow.delivered += bytes.length;
      flow.reader.wake();
      return;
    }
    // Bytes for a closed or reset end: the kernel answers with a reset.
    if (!to.rstSent) this.sendRst(to);
  }

  private resetConnection(end: SimStream): void {
    const peer = end.peer;
    if (end.state === OPEN) this.resetEnd(end);
    else if (end.state === CONNECTING) this.fail(end, "ECONNRESET", "connection reset");
    if (peer === null) return;
    if (peer.state === OPEN) this.resetEnd(peer);
    // The server had accepted, its answer is still on the way: the connect fails.
    else if (peer.state === CONNECTING) this.fail(peer, "ECONNRESET", "connection reset");
  }

  private resetEnd(end: SimStream): void {
    this.resetCount++;
    end.state = RESET;
    end.host.ends.delete(end);
    end.in.clearReceiver();
    end.out.clearSender();
    end.out.finSent = true;
    end.wakeAll();
  }

  private fail(end: SimStream, code: string, message: string): void {
    end.state = FAILED;
    end.error = new IoError(`connect failed: ${message}`, code, "connect", end.peerLabel());
    end.host.ends.delete(end);
    end.connecting.wake();
  }
}
