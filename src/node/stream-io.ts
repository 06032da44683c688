import { type Duplex, Readable, Writable } from "node:stream";
import type { AsyncRead, AsyncWrite } from "../io/async-io.js";
import { read } from "../io/read.js";
import { shutdown, writeAll } from "../io/write.js";
import { currentOrDefaultRuntime } from "../runtime/default-runtime.js";
import { HeldWaker } from "../runtime/held-waker.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { IoError } from "./io-error.js";

/** A Node stream with a readable side, a writable side, or both (a socket, a pipe, a file stream). */
type NodeStream = Readable | Writable;

/**
 * `AsyncRead`/`AsyncWrite` over a Node stream (`waker/node`). The readable side flows into a
 * queue of chunks that `pollRead` copies out of; once the queue holds a high-water mark's worth
 * (the stream's, at least 16 KiB) the stream is paused, so Node stops reading from the source
 * when its own buffer fills too (backpressure: memory stays within about twice the mark), and it
 * resumes once a read empties the queue. Writes are accepted while the writable side is below its
 * high-water mark, then wait for `drain`. Stream events only record what happened and wake the
 * waiting task. `TcpStream` is this over a socket.
 *
 * A duplex stream is made half-open (`allowHalfOpen = true`): the peer's end of stream ends
 * reading only, and this side can still write until `shutdown` or `drop` (without it, Node would
 * end the writable side as soon as the end arrived, even with bytes still queued for reading).
 *
 * @example
 * ```ts
 * const input = fromReadable(process.stdin);
 * for (;;) {
 *   const line = yield* new BufReader(input).readLine();
 *   if (line === undefined) break;
 * }
 * ```
 */
export class NodeStreamIo implements AsyncRead, AsyncWrite {
  /** Chunks received and not yet read: `chunks[head]` from `offset` on, then the ones after. */
  private readonly chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  /** Bytes in `chunks` not yet read. */
  private queued = 0;
  /** Bytes queued at which the stream is paused. */
  private readonly limit: number;
  /** This paused the stream (the queue reached `limit`); a read that empties the queue resumes it. */
  private paused = false;
  private readonly readable: boolean;
  private readonly writableSide: boolean;
  private ended = false;
  private error: Error | null = null;
  private finished = false;
  private needDrain = false;
  /** Writes made so far (`pollWrite` calls that wrote). */
  private writes = 0;
  /**
   * `flush` queues an empty write (a marker) to learn when the writes before it were handed on:
   * the writes covered by the last marker queued, and by the last one whose callback ran.
   */
  private marked = 0;
  private flushedThrough = 0;
  /** @internal */
  protected dropped = false;
  private readonly reader = new HeldWaker(true);
  private readonly writer = new HeldWaker(true);
  private readonly flusher = new HeldWaker(true);

  private readonly onData = (chunk: unknown): void => {
    const bytes = toBytes(chunk);
    if (bytes.length === 0) return;
    this.chunks.push(bytes);
    this.queued += bytes.length;
    if (this.queued >= this.limit && !this.paused) {
      this.paused = true;
      (this.stream as Readable).pause();
    }
    this.reader.wake();
  };
  private readonly onEnd = (): void => {
    this.ended = true;
    this.reader.wake();
  };
  private readonly onDrain = (): void => {
    this.needDrain = false;
    this.writer.wake();
  };
  private readonly onFinish = (): void => {
    this.finished = true;
    this.flusher.wake();
  };
  private readonly onError = (error: Error): void => {
    this.error = IoError.from(error, "stream");
    this.wakeAll();
  };
  private readonly onClose = (): void => {
    this.ended = true;
    this.wakeAll();
  };

  /** @internal Use {@link fromReadable}, {@link fromWritable} or {@link fromDuplex}. */
  constructor(protected readonly stream: NodeStream) {
    this.readable = stream instanceof Readable;
    this.writableSide = typeof (stream as Writable).write === "function";
    this.limit = this.readable
      ? Math.max((stream as Readable).readableHighWaterMark, MIN_QUEUE_LIMIT)
      : 0;
    if (this.readable) {
      const readable = stream as Readable;
      readable.on("data", this.onData);
      readable.on("end", this.onEnd);
      // Adding a 'data' listener does not restart a stream that was paused explicitly.
      readable.resume();
      if (this.writableSide) (stream as Duplex).allowHalfOpen = true;
    }
    stream.on("drain", this.onDrain);
    stream.on("finish", this.onFinish);
    stream.on("error", this.onError);
    stream.on("close", this.onClose);
    // Destroyed before it was wrapped (a queued connection its peer reset before the accept, a
    // stream that failed earlier): its 'error' and 'close' are past and will not wake anyone.
    if (stream.destroyed) {
      if (stream.errored !== null) this.error = IoError.from(stream.errored, "stream");
      this.ended = true;
    }
  }

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (buf.length === 0) return 0;
    if (!this.readable) {
      throw new InvalidArgumentError("pollRead: this stream has no readable side");
    }
    if (this.queued === 0) {
      if (this.error !== null) throw this.error;
      if (this.ended || this.dropped) return 0;
      // Nothing queued: data arrives as a 'data' event, which wakes the registered waker.
      this.reader.register(cx.waker);
      if (this.paused) this.resume();
      return Pending;
    }
    return this.take(buf);
  }

  /** Copies queued bytes into `buf` (at least one is queued); resumes the stream once empty. */
  private take(buf: Uint8Array): number {
    const chunks = this.chunks;
    let filled = 0;
    while (filled < buf.length && this.head < chunks.length) {
      const chunk = chunks[this.head]!;
      const start = this.offset;
      const n = Math.min(buf.length - filled, chunk.length - start);
      // A whole chunk is copied without making a view of it.
      buf.set(n === chunk.length ? chunk : chunk.subarray(start, start + n), filled);
      filled += n;
      if (start + n === chunk.length) {
        chunks[this.head++] = EMPTY;
        this.offset = 0;
      } else {
        this.offset = start + n;
      }
    }
    this.queued -= filled;
    if (this.head === chunks.length) {
      chunks.length = 0;
      this.head = 0;
      if (this.paused) this.resume();
    } else if (this.head >= COMPACT_AFTER && this.head * 2 >= chunks.length) {
      // A reader that never quite catches up: drop the read slots now and then, not per read.
      chunks.copyWithin(0, this.head);
      chunks.length -= this.head;
      this.head = 0;
    }
    return filled;
  }

  private resume(): void {
    this.paused = false;
    (this.stream as Readable).resume();
  }

  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    if (this.error !== null) throw this.error;
    if (this.dropped) throw new IoError("the stream was dropped", "EPIPE", "write");
    const stream = this.writable();
    if (data.length === 0) return 0;
    // Destroyed: Node would drop the bytes silently, and no 'drain' would ever wake a wait.
    if (stream.destroyed) throw closedError("write");
    // Ended by `shutdown`: Node would accept the bytes, drop them and then destroy the whole
    // stream (its readable side too) with "write after end"; a shut-down socket fails the write.
    if (stream.writableEnded) throw new IoError("write after shutdown", "EPIPE", "write");
    if (this.needDrain) {
      this.writer.register(cx.waker);
      return Pending;
    }
    // A copy (from Node's buffer pool for small writes): the caller may reuse its buffer as soon
    // as the write returned. No callback per write: `pollFlush` learns when everything before it
    // went out from one empty write.
    const copy = Buffer.allocUnsafe(data.length);
    copy.set(data);
    if (!stream.write(copy)) this.needDrain = true;
    this.writes++;
    return data.length;
  }

  /**
   * Completes once every write made before it was handed on (a marker queued by an earlier,
   * dropped flush counts only for the writes before that marker; during a shutdown, once it
   * finished).
   *
   * @throws {IoError} (EPIPE) when the stream was closed before those writes went out.
   */
  pollFlush(cx: Context): Poll<void> {
    if (this.error !== null) throw this.error;
    const stream = this.writable();
    if (this.flushedThrough === this.writes || this.finished) return undefined;
    if (stream.destroyed) throw closedError("flush");
    if (stream.writableLength === 0) return undefined;
    this.flusher.register(cx.waker);
    // A shutdown is under way: no marker can be written after the end ('write after end' would
    // destroy the stream); its 'finish' (or the close) comes once the bytes were handed on.
    if (stream.writableEnded) return Pending;
    if (this.marked !== this.writes) {
      const through = this.writes;
      this.marked = through;
      // Write callbacks run in order: this one fires once every earlier byte was handed on (or
      // with an error when the stream was destroyed first: those bytes were not).
      stream.write(EMPTY, (error) => {
        if (error == null && through > this.flushedThrough) this.flushedThrough = through;
        this.flusher.wake();
      });
    }
    return Pending;
  }

  /**
   * Flushes and ends the writable side (a half-close for a socket). Once it started, writes throw
   * {@link IoError} (EPIPE); the readable side is unaffected.
   *
   * @throws {IoError} (EPIPE) when the stream was destroyed before it finished.
   */
  pollShutdown(cx: Context): Poll<void> {
    if (this.error !== null) throw this.error;
    if (this.finished) return undefined;
    const stream = this.writable();
    // Destroyed before 'finish': it will never come.
    if (stream.destroyed) throw closedError("shutdown");
    if (!stream.writableEnded) stream.end();
    this.flusher.register(cx.waker);
    return this.finished ? undefined : Pending;
  }

  /** Destroys the stream at once (unsent data is discarded). Idempotent. */
  drop(): void {
    if (this.dropped) return;
    this.dropped = true;
    this.stream.destroy();
    this.wakeAll();
  }

  [Symbol.dispose](): void {
    this.drop();
  }

  /**
   * @internal Lets go of the stream without destroying it (a TLS upgrade takes it over); bytes
   * buffered but not delivered are discarded.
   */
  protected release(): NodeStream {
    const stream = this.stream;
    stream.off("data", this.onData);
    stream.off("end", this.onEnd);
    stream.off("drain", this.onDrain);
    stream.off("finish", this.onFinish);
    stream.off("error", this.onError);
    stream.off("close", this.onClose);
    this.chunks.length = 0;
    this.head = 0;
    this.offset = 0;
    this.queued = 0;
    if (stream instanceof Readable) {
      stream.pause();
      while (stream.read() !== null) {
        // Discard what arrived before the handover (RFC 3207: nothing before TLS is trusted).
      }
    }
    this.dropped = true;
    this.wakeAll();
    return stream;
  }

  private writable(): Writable {
    if (!this.writableSide) {
      throw new InvalidArgumentError("pollWrite: this stream has no writable side");
    }
    return this.stream as unknown as Writable;
  }

  private wakeAll(): void {
    this.reader.wake();
    this.writer.wake();
    this.flusher.wake();
  }
}

const EMPTY = Buffer.alloc(0);

/** The stream was destroyed (dropped, or closed from the Node side) before the operation was done. */
function closedError(syscall: string): IoError {
  return new IoError("the stream was closed", "EPIPE", syscall);
}

/** Read slots at the front of the chunk queue that are dropped together (see `take`). */
const COMPACT_AFTER = 1024;

/** The queue never pauses the stream below this many bytes (a stream's mark may be tiny). */
const MIN_QUEUE_LIMIT = 16 * 1024;

/** A chunk from a stream as bytes (a string chunk, from a stream with an encoding, as UTF-8). */
function toBytes(chunk: unknown): Uint8Array {
  return typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Uint8Array);
}

function check(stream: unknown, want: "readable" | "writable", where: string): void {
  const ok =
    want === "readable"
      ? stream instanceof Readable
      : stream !== null &&
        typeof (stream as Writable)?.write === "function" &&
        typeof (stream as Writable)?.end === "function";
  if (!ok)
    throw new InvalidArgumentError(
      `${where}: expected a Node ${want} stream, got ${describeValue(stream)}`,
    );
}

/**
 * An `AsyncRead` over a Node `Readable` (a file stream, `process.stdin`, an HTTP response).
 *
 * @example
 * ```ts
 * const body = yield* readToEnd(fromReadable(response));
 * ```
 * @throws {InvalidArgumentError} when `stream` is not a Readable.
 */
export function fromReadable(stream: Readable): NodeStreamIo {
  check(stream, "readable", "fromReadable");
  return new NodeStreamIo(stream);
}

/**
 * An `AsyncWrite` over a Node `Writable` (a file stream, `process.stdout`, an HTTP request).
 *
 * @example
 * ```ts
 * yield* writeAll(fromWritable(process.stdout), bytes("hello\n"));
 * ```
 * @throws {InvalidArgumentError} when `stream` is not a Writable.
 */
export function fromWritable(stream: Writable): NodeStreamIo {
  check(stream, "writable", "fromWritable");
  return new NodeStreamIo(stream);
}

/**
 * `AsyncRead` and `AsyncWrite` over a Node `Duplex` (a socket, a child process's stdio pair...).
 *
 * @throws {InvalidArgumentError} when `stream` is not readable and writable.
 */
export function fromDuplex(stream: Readable & Writable): NodeStreamIo {
  check(stream, "readable", "fromDuplex");
  check(stream, "writable", "fromDuplex");
  return new NodeStreamIo(stream);
}

/**
 * A Node `Readable` that pulls from an `AsyncRead` (each read runs on the runtime polling now, or
 * the default one): hand a waker source to Node APIs that want a stream (`pipeline`, HTTP bodies).
 *
 * @example
 * ```ts
 * await pipeline(toReadable(file), createGzip(), createWriteStream("out.gz"));
 * ```
 */
export function toReadable(source: AsyncRead, chunkSize = 64 * 1024): Readable {
  return new Readable({
    read() {
      const buf = new Uint8Array(chunkSize);
      currentOrDefaultRuntime()
        .run(read(source, buf))
        .then(
          (n) => this.push(n === 0 ? null : buf.subarray(0, n)),
          (error: unknown) => this.destroy(error as Error),
        );
    },
  });
}

/**
 * A Node `Writable` that writes to an `AsyncWrite` (each write waits for the sink: backpressure
 * reaches the writer); ending it shuts the sink down.
 *
 * @example
 * ```ts
 * await pipeline(createReadStream("in.txt"), toWritable(socket));
 * ```
 */
export function toWritable(sink: AsyncWrite): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      currentOrDefaultRuntime()
        .run(writeAll(sink, chunk))
        .then(() => callback(), callback);
    },
    final(callback) {
      currentOrDefaultRuntime()
        .run(shutdown(sink))
        .then(() => callback(), callback);
    },
  });
}
