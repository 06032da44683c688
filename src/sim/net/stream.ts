import type { Connection, NetAddr } from "../../io/net.js";
import { IoError } from "../../node/io-error.js";
import { consumeBudget } from "../../runtime/budget.js";
import { HeldWaker } from "../../runtime/held-waker.js";
import type { Context } from "../../task/context.js";
import { Pending, type Poll } from "../../task/poll.js";
import type { SimHost } from "./host.js";
import type { SimNetwork } from "./network.js";
import type { Segment } from "./segment.js";

/** @internal Connect sent, no answer yet. */
export const CONNECTING = 0;
/** @internal Established (each direction may be half-closed). */
export const OPEN = 1;
/** @internal Dropped by its owner: arriving data is answered with a reset. */
export const CLOSED = 2;
/** @internal Reset (ECONNRESET): reads throw, writes throw EPIPE. */
export const RESET = 3;
/** @internal The connect failed or was abandoned. */
export const FAILED = 4;

/**
 * @internal One direction of a connection: the sender's queue (its kernel send buffer), what it
 * sent and has not seen acknowledged, and the receiver's buffer. The sender keeps its
 * unacknowledged bytes within the free window of the freshest ACK.
 */
export class Flow {
  /** Sender side: bytes written, not yet sent. */
  readonly queue: Uint8Array[] = [];
  queueOffset = 0;
  queued = 0;
  /** The sender shut down: a FIN follows the queued bytes. */
  finQueued = false;
  finSent = false;
  /** Sequence number of the next item (SYNACK is 0 on the server-to-client flow). */
  nextSeq = 0;
  /** Bytes sent and not yet acknowledged (in flight, held, reordered, or their ACK is). */
  unacked = 0;
  /** Bytes sent so far. */
  sent = 0;
  /** The receiver's free window as of the freshest ACK: the sender keeps `unacked` below it. */
  advertised: number;
  /** Number of the freshest ACK applied (ACKs may overtake each other). */
  ackApplied = 0;
  /** Receiver side: bytes delivered into the buffer so far. */
  delivered = 0;
  /** Receiver side: the free window the last ACK announced, and that ACK's number. */
  lastAdvertised: number;
  ackCount = 0;
  /** Latest arrival time so far: later segments of the flow never arrive before it. */
  lastArrival = 0;
  /** Receiver side: bytes arrived, not yet read. */
  readonly buffer: Uint8Array[] = [];
  bufferOffset = 0;
  buffered = 0;
  /** The FIN arrived: once the buffer is empty, reads return 0. */
  eof = false;
  /** The next `flowSeq` to deliver; later ones wait in `early`. */
  recvNext = 0;
  early: Map<number, Segment> | null = null;
  readonly writer = new HeldWaker();
  readonly reader = new HeldWaker();

  constructor(
    /** The sending end. */
    public from: SimStream,
    /** The receiving end (set when the server accepts). */
    public to: SimStream | null,
    window: number,
  ) {
    this.advertised = window;
    this.lastAdvertised = window;
  }

  /** Takes up to `n` queued bytes (one segment). */
  take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.queue[0]!;
      const k = Math.min(chunk.length - this.queueOffset, n - filled);
      out.set(chunk.subarray(this.queueOffset, this.queueOffset + k), filled);
      filled += k;
      this.queueOffset += k;
      if (this.queueOffset === chunk.length) {
        this.queue.shift();
        this.queueOffset = 0;
      }
    }
    this.queued -= n;
    return out;
  }

  /** Copies buffered bytes into `buf`; returns how many. */
  read(buf: Uint8Array): number {
    let n = 0;
    while (n < buf.length && this.buffer.length > 0) {
      const chunk = this.buffer[0]!;
      const k = Math.min(chunk.length - this.bufferOffset, buf.length - n);
      buf.set(chunk.subarray(this.bufferOffset, this.bufferOffset + k), n);
      n += k;
      this.bufferOffset += k;
      if (this.bufferOffset === chunk.length) {
        this.buffer.shift();
        this.bufferOffset = 0;
      }
    }
    this.buffered -= n;
    return n;
  }

  /** The sending end is gone: forgets its unsent bytes. */
  clearSender(): void {
    this.queue.length = 0;
    this.queueOffset = 0;
    this.queued = 0;
  }

  /** The receiving end is gone: forgets what arrived and was not read. */
  clearReceiver(): void {
    this.buffer.length = 0;
    this.bufferOffset = 0;
    this.buffered = 0;
    this.early = null;
  }
}

/**
 * One end of a simulated TCP connection (`waker/sim`), with the interface of `TcpStream`:
 * `AsyncRead`/`AsyncWrite`, half-close by `shutdown(conn)`, `setNoDelay` (a no-op), `localAddr`,
 * `peerAddr`, `drop`. Get one from {@link SimHost.connect} or a {@link SimListener}.
 *
 * - Bytes of one connection arrive in order; segments of different connections may overtake each
 *   other (each draws its own latency).
 * - Writes go to a bounded send buffer and `pollWrite` is `Pending` while it is full. Bytes leave
 *   it as far as the peer's receive window allows, as announced by ACKs that travel back over the
 *   link: a bulk transfer moves one window per round trip, and a peer that does not read stops
 *   the writer (backpressure).
 * - Errors are `IoError`s with the codes of real sockets: reads after a reset throw `ECONNRESET`
 *   (unread bytes are lost, as with a real RST); writes after a reset, after `shutdown` or after
 *   `drop` throw `EPIPE`.
 * - `drop()` closes it: the peer reads end of stream after the bytes already written. If bytes
 *   had arrived that nobody read, the close is abortive (the peer gets `ECONNRESET`), as a real
 *   socket does. Bytes the peer sends to a closed end are answered with a reset.
 * - Cancel safety: bytes leave the receive buffer only in a read that completes, so a dropped
 *   `read` loses nothing; a dropped write loses nothing it had not reported as written.
 *
 * @example
 * ```ts
 * const conn = yield* client.connect({ host: "10.0.0.2", port: 25 }, { timeout: 5000 });
 * yield* writeAll(conn, bytes("EHLO me\r\n"));
 * const line = yield* new BufReader(conn).readLine();
 * conn.drop();
 * ```
 */
export class SimStream implements Connection {
  /** @internal */
  state = CONNECTING;
  /** @internal The connect failure or the reset. */
  error: IoError | null = null;
  /** @internal */
  peer: SimStream | null = null;
  /** @internal This end's outgoing direction. */
  readonly out: Flow;
  /** @internal The incoming direction (its `from` is set when the server accepts). */
  readonly in: Flow;
  /** @internal A reset was already sent for data that arrived after the close. */
  rstSent = false;
  /** @internal The connect future waiting for this end. */
  readonly connecting = new HeldWaker();

  /** @internal Use {@link SimHost.connect} or {@link SimListener.accept}. */
  constructor(
    /** @internal */
    readonly net: SimNetwork,
    /** The host this end lives on. */
    readonly host: SimHost,
    private readonly local: { host: string; port: number },
    private readonly remote: { host: string; port: number },
    flows?: { out: Flow; in: Flow },
  ) {
    this.out = flows?.out ?? new Flow(this, null, net.window);
    this.in = flows?.in ?? new Flow(this, this, net.window);
    if (flows === undefined) this.in.to = this;
  }

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (buf.length === 0) return 0;
    const state = this.state;
    if (state === RESET || state === FAILED) throw this.resetError("read");
    if (state === CLOSED) return 0;
    const flow = this.in;
    if (flow.buffered === 0) {
      if (flow.eof) return 0;
      flow.reader.register(cx.waker);
      return Pending;
    }
    if (consumeBudget(cx) === false) return Pending;
    const n = flow.read(buf);
    // The window opened: tell the sender once it grew enough (receiver-side silly window avoidance).
    this.net.windowOpened(flow);
    return n;
  }

  /** @throws {IoError} EPIPE after a reset, `shutdown` or `drop`. */
  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    const state = this.state;
    if (state !== OPEN) {
      const why = state === CLOSED ? "the stream was dropped" : "the connection was reset";
      throw new IoError(`write failed: ${why}`, "EPIPE", "write", this.peerLabel());
    }
    const flow = this.out;
    if (flow.finQueued) {
      throw new IoError("write after shutdown", "EPIPE", "write", this.peerLabel());
    }
    if (data.length === 0) return 0;
    const room = this.net.sendBuffer - flow.queued;
    if (room <= 0) {
      flow.writer.register(cx.waker);
      return Pending;
    }
    if (consumeBudget(cx) === false) return Pending;
    const n = Math.min(room, data.length);
    // A copy: the caller may reuse its buffer once the write returned. (Not `data.slice`: on a
    // Node `Buffer` that is a view of the caller's memory, not a copy.)
    flow.queue.push(Uint8Array.prototype.slice.call(data, 0, n));
    flow.queued += n;
    this.net.transmit(flow);
    return n;
  }

  /** The send buffer is the simulated kernel's: nothing waits above it. */
  pollFlush(_cx: Context): Poll<void> {
    if (this.state === RESET) throw this.resetError("write");
    return undefined;
  }

  /** Half-close: the peer reads end of stream after the bytes written so far. */
  pollShutdown(_cx: Context): Poll<void> {
    const state = this.state;
    if (state === RESET) throw this.resetError("shutdown");
    if (state !== OPEN || this.out.finQueued) return undefined;
    this.out.finQueued = true;
    this.net.transmit(this.out);
    return undefined;
  }

  /** A no-op: the simulated network has no Nagle delay. */
  setNoDelay(_noDelay = true): void {}

  /** This end's address. */
  localAddr(): NetAddr {
    return { host: this.local.host, port: this.local.port };
  }

  /** The other end's address. */
  peerAddr(): NetAddr {
    return { host: this.remote.host, port: this.remote.port };
  }

  /** True once the connection was reset (ECONNRESET). */
  get isReset(): boolean {
    return this.state === RESET;
  }

  /**
   * Closes this end at once: queued bytes still go out, then end of stream (or a reset, when
   * bytes had arrived unread). An end still connecting (from `host.connections()`) is abandoned:
   * its connect fails with ECONNABORTED. Idempotent.
   */
  drop(): void {
    this.net.close(this);
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  /** @internal Wakes every task waiting on this end. */
  wakeAll(): void {
    this.in.reader.wake();
    this.out.writer.wake();
    this.connecting.wake();
  }

  /** @internal */
  peerLabel(): string {
    return `${this.remote.host}:${this.remote.port}`;
  }

  private resetError(syscall: string): IoError {
    if (this.state === FAILED && this.error !== null) return this.error;
    return new IoError(
      `${syscall} failed: connection reset by peer (${this.peerLabel()})`,
      "ECONNRESET",
      syscall,
      this.peerLabel(),
    );
  }

  toString(): string {
    return `SimStream(${this.local.host}:${this.local.port} -> ${this.peerLabel()})`;
  }
}
