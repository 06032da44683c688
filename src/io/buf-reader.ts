import { Future, pollAfterCompletion } from "../future/future.js";
import { Stream } from "../stream/stream.js";
import type { Context } from "../task/context.js";
import { expectIntegerIn } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";
import type { AsyncRead } from "./async-io.js";
import { LineTooLong } from "./errors.js";
import { checkReader, MAX_BUFFER } from "./read.js";

const LF = 10;
const CR = 13;

/**
 * A buffering reader: fewer, larger reads from the inner source, and line reading for text
 * protocols (`readLine`, `lines`). It is itself an `AsyncRead` that serves buffered bytes first.
 *
 * @example
 * ```ts
 * const reader = new BufReader(socket);
 * const greeting = yield* reader.readLine(); // "220 mail.example.com ESMTP"
 * ```
 * @throws {InvalidArgumentError} when `inner` is not an `AsyncRead`.
 * @throws {OutOfRangeError} when `capacity` or `maxLineLength` is not a positive integer (or
 * `capacity` is over 1 GiB).
 */
export class BufReader implements AsyncRead {
  private buf: Uint8Array;
  private start = 0;
  private end = 0;
  private eof = false;
  private readonly decoder = new TextDecoder();

  constructor(
    inner: AsyncRead,
    /** Initial buffer size, 1 byte to 1 GiB; it grows for longer lines. */
    capacity = 8192,
    /** The longest line `readLine` accepts (bytes, newline excluded); longer throws `LineTooLong`. */
    private readonly maxLineLength = 1024 * 1024,
  ) {
    this.inner = checkReader(inner, "BufReader");
    this.buf = new Uint8Array(expectIntegerIn(capacity, "BufReader: capacity", 1, MAX_BUFFER));
    expectIntegerIn(maxLineLength, "BufReader: maxLineLength", 1, Number.MAX_SAFE_INTEGER);
  }

  private readonly inner: AsyncRead;

  pollRead(cx: Context, out: Uint8Array): Poll<number> {
    if (this.start < this.end) {
      const n = Math.min(out.length, this.end - this.start);
      out.set(this.buf.subarray(this.start, this.start + n));
      this.start += n;
      return n;
    }
    if (out.length >= this.buf.length) return this.inner.pollRead(cx, out);
    const filled = this.fill(cx);
    if (filled === Pending) return Pending;
    if (filled === 0) return 0;
    return this.pollRead(cx, out);
  }

  /**
   * The next line without its `\n` (and `\r\n`), decoded as UTF-8; `undefined` at the end of the
   * stream. A last line without a newline is returned as is.
   *
   * @throws {LineTooLong} when the line (without its newline) is longer than `maxLineLength`,
   * however its bytes arrived; it stays in the buffer, so reading lines again throws again.
   */
  pollReadLine(cx: Context): Poll<string | undefined> {
    for (;;) {
      const newline = this.buf.subarray(this.start, this.end).indexOf(LF);
      if (newline >= 0) {
        const lineEnd = this.start + newline;
        const textEnd =
          lineEnd > this.start && this.buf[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
        // However the bytes arrived: a long line read in one chunk is as long.
        if (textEnd - this.start > this.maxLineLength) throw new LineTooLong(this.maxLineLength);
        const line = this.decoder.decode(this.buf.subarray(this.start, textEnd));
        this.start = lineEnd + 1;
        return line;
      }
      // One byte more may be the "\r" of a line of the longest length.
      if (this.end - this.start > this.maxLineLength + 1) {
        throw new LineTooLong(this.maxLineLength);
      }
      if (this.eof) {
        if (this.start === this.end) return undefined;
        if (this.end - this.start > this.maxLineLength) throw new LineTooLong(this.maxLineLength);
        const line = this.decoder.decode(this.buf.subarray(this.start, this.end));
        this.start = this.end;
        return line;
      }
      const filled = this.fill(cx);
      if (filled === Pending) return Pending;
    }
  }

  /**
   * A future of the next line (see `pollReadLine`).
   *
   * Cancel safety: dropping it loses nothing: bytes read so far stay in the buffer.
   */
  readLine(): Future<string | undefined> {
    return new ReadLine(this);
  }

  /** The lines until the end of the stream, as a `Stream`. */
  lines(): Stream<string> {
    return new Lines(this);
  }

  /** Reads more from the inner source into the buffer: bytes added, 0 at end, or Pending. */
  private fill(cx: Context): Poll<number> {
    if (this.eof) return 0;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
    }
    if (this.end === this.buf.length) {
      const bigger = new Uint8Array(this.buf.length * 2);
      bigger.set(this.buf.subarray(0, this.end));
      this.buf = bigger;
    }
    const r = this.inner.pollRead(cx, this.buf.subarray(this.end));
    if (r === Pending) return Pending;
    if (r === 0) this.eof = true;
    this.end += r;
    return r;
  }
}

class ReadLine extends Future<string | undefined> {
  private done = false;
  constructor(private readonly reader: BufReader) {
    super();
  }
  poll(cx: Context): Poll<string | undefined> {
    if (this.done) throw pollAfterCompletion(this);
    const r = this.reader.pollReadLine(cx);
    if (r !== Pending) this.done = true;
    return r;
  }
  override describe(): string {
    return "readLine";
  }
}

class Lines extends Stream<string> {
  constructor(private readonly reader: BufReader) {
    super();
  }
  pollNext(cx: Context): Poll<string | typeof Done> {
    const r = this.reader.pollReadLine(cx);
    if (r === Pending) return Pending;
    return r === undefined ? Done : r;
  }
}

/**
 * The lines of a byte source (UTF-8, without `\n` / `\r\n`), as a `Stream`.
 *
 * @example
 * ```ts
 * yield* lines(socket).take(3).forEach((line) => console.log(line));
 * ```
 */
export function lines(reader: AsyncRead): Stream<string> {
  return (reader instanceof BufReader ? reader : new BufReader(reader)).lines();
}
