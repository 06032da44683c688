import type { Context } from "../task/context.js";
import { expectIntegerIn } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import type { AsyncWrite } from "./async-io.js";
import { MAX_BUFFER } from "./read.js";
import { acceptedBytes, checkWriter } from "./write.js";

/**
 * A buffering writer: small writes gather in a buffer of `capacity` bytes and reach the inner sink
 * in larger writes, when the buffer is full or on `flush`/`shutdown`.
 *
 * @example
 * ```ts
 * const out = new BufWriter(socket);
 * for (const cmd of pipelined) yield* writeAll(out, cmd); // one socket write for the batch
 * yield* flush(out);
 * ```
 * @throws {InvalidArgumentError} when `inner` is not an `AsyncWrite`.
 * @throws {OutOfRangeError} when `capacity` is not an integer from 1 byte to 1 GiB.
 * Its writes, flush and shutdown throw {@link WriteZero} when the inner sink accepts none of the
 * buffered bytes offered to it.
 */
export class BufWriter implements AsyncWrite {
  private readonly buf: Uint8Array;
  private length = 0;
  private readonly inner: AsyncWrite;

  constructor(inner: AsyncWrite, capacity = 8192) {
    this.inner = checkWriter(inner, "BufWriter");
    this.buf = new Uint8Array(expectIntegerIn(capacity, "BufWriter: capacity", 1, MAX_BUFFER));
  }

  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    if (this.length + data.length > this.buf.length) {
      if (this.drain(cx) === Pending) return Pending;
      if (data.length >= this.buf.length) return this.inner.pollWrite(cx, data);
    }
    this.buf.set(data, this.length);
    this.length += data.length;
    return data.length;
  }

  pollFlush(cx: Context): Poll<void> {
    if (this.drain(cx) === Pending) return Pending;
    return this.inner.pollFlush(cx);
  }

  pollShutdown(cx: Context): Poll<void> {
    if (this.drain(cx) === Pending) return Pending;
    return this.inner.pollShutdown(cx);
  }

  /**
   * Writes the buffer to the inner sink. Bytes the sink accepted leave the buffer even when a later
   * write is `Pending` or throws, so a retry never sends them twice (as Rust's `BufWriter`).
   */
  private drain(cx: Context): Poll<void> {
    let offset = 0;
    try {
      while (offset < this.length) {
        const r = this.inner.pollWrite(cx, this.buf.subarray(offset, this.length));
        if (r === Pending) return Pending;
        offset += acceptedBytes(r, this.length - offset, "BufWriter");
      }
      return undefined;
    } finally {
      if (offset > 0) {
        this.buf.copyWithin(0, offset, this.length);
        this.length -= offset;
      }
    }
  }
}
