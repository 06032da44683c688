import { Readable, Writable } from "node:stream";
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
 * `AsyncRead`/`AsyncWrite` over a Node stream (`waker/node`). The readable side is used in paused
 * mode: `pollRead` pulls what Node has buffered, and when nobody reads, Node stops reading from
 * the source once its buffer is full (backpressure). Writes are accepted while the writable side
 * is below its high-water mark, then wait for `drain`. Stream events only record what happened
 * and wake the waiting task. `TcpStream` is this over a socket.
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
  private leftover: Buffer | null = null;
  private ended = false;
  private error: Error | null = null;
  private finished = false;
  private needDrain = false;
  /** An empty write is queued to learn when earlier writes are flushed. */
  private flushing = false;
  /** That empty write's callback ran (consumed by the next `pollFlush`). */
  private flushed = false;
  /** @internal */
  protected dropped = false;
  private readonly reader = new HeldWaker(true);
  private readonly writer = new HeldWaker(true);
  private readonly flusher = new HeldWaker(true);

  private readonly onReadable = (): void => this.reader.wake();
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
    if (stream instanceof Readable) {
      stream.pause();
      stream.on("readable", this.onReadable);
      stream.on("end", this.onEnd);
    }
    stream.on("drain", this.onDrain);
    stream.on("finish", this.onFinish);
    stream.on("error", this.onError);
    stream.on("close", this.onClose);
  }

  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (buf.length === 0) return 0;
    const stream = this.stream;
    if (!(stream instanceof Readable)) {
      throw new InvalidArgumentError("pollRead: this stream has no readable side");
    }
    let chunk = this.leftover;
    this.leftover = null;
    if (chunk === null) {
      if (this.error !== null) throw this.error;
      chunk = toBuffer(stream.read());
      if (chunk === null) {
        if (this.ended || this.dropped) return 0;
        this.reader.register(cx.waker);
        // Re-check after registering: data may be buffered without a new 'readable'.
        chunk = toBuffer(stream.read());
        if (chunk === null) return this.ended ? 0 : Pending;
      }
    }
    const n = Math.min(buf.length, chunk.length);
    buf.set(chunk.subarray(0, n));
    if (n < chunk.length) this.leftover = chunk.subarray(n);
    return n;
  }

  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    if (this.error !== null) throw this.error;
    if (this.dropped) throw new IoError("the stream was dropped", "EPIPE", "write");
    const stream = this.writable();
    if (data.length === 0) return 0;
    if (this.needDrain) {
      this.writer.register(cx.waker);
      return Pending;
    }
    // A copy: the caller may reuse its buffer as soon as the write returned. No callback per
    // write: `pollFlush` learns when everything before it went out from one empty write.
    if (!stream.write(Buffer.from(data))) this.needDrain = true;
    return data.length;
  }

  pollFlush(cx: Context): Poll<void> {
    if (this.error !== null) throw this.error;
    const stream = this.writable();
    if (this.flushed) {
      this.flushed = false;
      return undefined;
    }
    if (stream.writableLength === 0 && !this.flushing) return undefined;
    this.flusher.register(cx.waker);
    if (!this.flushing) {
      this.flushing = true;
      // Write callbacks run in order: this one fires once every earlier byte was handed on.
      stream.write(EMPTY, () => {
        this.flushing = false;
        this.flushed = true;
        this.flusher.wake();
      });
    }
    return Pending;
  }

  /** Flushes and ends the writable side (a half-close for a socket). */
  pollShutdown(cx: Context): Poll<void> {
    if (this.error !== null) throw this.error;
    if (this.finished) return undefined;
    const stream = this.writable();
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
    stream.off("readable", this.onReadable);
    stream.off("end", this.onEnd);
    stream.off("drain", this.onDrain);
    stream.off("finish", this.onFinish);
    stream.off("error", this.onError);
    stream.off("close", this.onClose);
    this.leftover = null;
    if (stream instanceof Readable) {
      while (stream.read() !== null) {
        // Discard what arrived before the handover (RFC 3207: nothing before TLS is trusted).
      }
    }
    this.dropped = true;
    this.wakeAll();
    return stream;
  }

  private writable(): Writable {
    const stream = this.stream as unknown as Writable;
    if (typeof stream.write !== "function") {
      throw new InvalidArgumentError("pollWrite: this stream has no writable side");
    }
    return stream;
  }

  private wakeAll(): void {
    this.reader.wake();
    this.writer.wake();
    this.flusher.wake();
  }
}

const EMPTY = Buffer.alloc(0);

function toBuffer(chunk: unknown): Buffer | null {
  if (chunk === null) return null;
  return typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
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
