import { consumeBudget } from "../runtime/budget.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { describeValue, OutOfRangeError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import type { AsyncRead, AsyncWrite } from "./async-io.js";
import { BrokenPipe } from "./errors.js";

/** One direction of a duplex: a bounded byte queue of chunks. */
class Pipe {
  private readonly chunks: Uint8Array[] = [];
  /** Read offset into `chunks[0]`. */
  private offset = 0;
  length = 0;
  /** The writer shut down: the reader gets end of stream once the queue is empty. */
  ended = false;
  /** The reading side was dropped: writes fail. */
  readerGone = false;
  /** May be fed or drained from host code too, so both count as possible host wakes. */
  readonly reader = new HeldWaker(true);
  readonly writer = new HeldWaker(true);

  constructor(readonly capacity: number) {}

  read(cx: Context, buf: Uint8Array): Poll<number> {
    if (buf.length === 0) return 0;
    if (this.length === 0) {
      if (this.ended) return 0;
      this.reader.register(cx.waker);
      return Pending;
    }
    if (consumeBudget(cx) === false) return Pending;
    let n = 0;
    while (n < buf.length && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(chunk.length - this.offset, buf.length - n);
      buf.set(chunk.subarray(this.offset, this.offset + take), n);
      n += take;
      this.offset += take;
      if (this.offset === chunk.length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    this.length -= n;
    this.writer.wake();
    return n;
  }

  write(cx: Context, data: Uint8Array): Poll<number> {
    if (this.readerGone) throw new BrokenPipe("the reading side of the duplex was dropped");
    if (this.ended) throw new BrokenPipe("write after shutdown");
    if (data.length === 0) return 0;
    const room = this.capacity - this.length;
    if (room === 0) {
      this.writer.register(cx.waker);
      return Pending;
    }
    if (consumeBudget(cx) === false) return Pending;
    const n = Math.min(room, data.length);
    // Copy: the caller may reuse its buffer once the write returned. (Not `data.slice`: on a
    // Node `Buffer` that is a view of the caller's memory, not a copy.)
    this.chunks.push(Uint8Array.prototype.slice.call(data, 0, n));
    this.length += n;
    this.reader.wake();
    return n;
  }

  end(): void {
    this.ended = true;
    this.reader.wake();
  }

  dropReader(): void {
    this.readerGone = true;
    this.chunks.length = 0;
    this.length = 0;
    this.writer.wake();
    this.reader.release();
  }
}

/**
 * One end of an in-memory {@link duplex} pair: reads what the other end writes, and the other way
 * round. For tests of protocol code (an SMTP client against a scripted server) and for connecting
 * two tasks with a byte stream.
 *
 * @example
 * ```ts
 * const [client, server] = duplex(64 * 1024);
 * yield* writeAll(client, bytes("PING\r\n"));
 * const line = yield* new BufReader(server).readLine();
 * ```
 */
export class DuplexStream implements AsyncRead, AsyncWrite {
  /** @internal */
  constructor(
    private readonly incoming: Pipe,
    private readonly outgoing: Pipe,
  ) {}

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    return this.incoming.read(cx, buf);
  }

  /** @throws {BrokenPipe} when the other end was dropped, or after `shutdown`. */
  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    return this.outgoing.write(cx, data);
  }

  pollFlush(_cx: Context): Poll<void> {
    return undefined;
  }

  /** Ends this direction: the other end reads end of stream after what was written. */
  pollShutdown(_cx: Context): Poll<void> {
    this.outgoing.end();
    return undefined;
  }

  /** Closes both directions: the other end reads end of stream, its writes fail. */
  drop(): void {
    this.outgoing.end();
    this.outgoing.writer.release();
    this.incoming.dropReader();
  }

  [Symbol.dispose](): void {
    this.drop();
  }
}

/**
 * A connected pair of in-memory byte streams; each direction buffers at most `capacity` bytes
 * (writes wait for room: backpressure).
 *
 * @example
 * ```ts
 * const [a, b] = duplex(1024);
 * ```
 * @throws {OutOfRangeError} (a `RangeError`) when `capacity` is not an integer >= 1.
 */
export function duplex(capacity: number): [DuplexStream, DuplexStream] {
  if (!Number.isInteger(capacity) || capacity < 1) {
    throw new OutOfRangeError(
      `duplex: capacity must be an integer >= 1, got ${describeValue(capacity)}`,
    );
  }
  const aToB = new Pipe(capacity);
  const bToA = new Pipe(capacity);
  return [new DuplexStream(bToA, aToB), new DuplexStream(aToB, bToA)];
}
