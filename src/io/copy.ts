import { Future, pollAfterCompletion } from "../future/future.js";
import type { Context } from "../task/context.js";
import { Pending, type Poll } from "../task/poll.js";
import type { AsyncRead, AsyncWrite } from "./async-io.js";
import { checkReader } from "./read.js";
import { acceptedBytes, checkWriter } from "./write.js";

class Copy extends Future<number> {
  private readonly buf = new Uint8Array(16384);
  private pending = 0;
  private offset = 0;
  private total = 0;
  private readDone = false;
  /** Bytes were written since the last flush. */
  private needFlush = false;
  private done = false;

  constructor(
    private readonly reader: AsyncRead,
    private readonly writer: AsyncWrite,
  ) {
    super();
  }

  poll(cx: Context): Poll<number> {
    if (this.done) throw pollAfterCompletion(this);
    for (;;) {
      if (this.offset < this.pending) {
        const r = this.writer.pollWrite(cx, this.buf.subarray(this.offset, this.pending));
        if (r === Pending) return Pending;
        const n = acceptedBytes(r, this.pending - this.offset, "copy");
        this.offset += n;
        this.total += n;
        this.needFlush = true;
        continue;
      }
      if (this.readDone) {
        if (this.writer.pollFlush(cx) === Pending) return Pending;
        this.done = true;
        return this.total;
      }
      const r = this.reader.pollRead(cx, this.buf);
      if (r === Pending) {
        // The reader may wait for a reply to bytes a buffering writer still holds (a proxied
        // request/response): hand them on while waiting, or both sides wait for ever (as tokio).
        if (this.needFlush && this.writer.pollFlush(cx) !== Pending) this.needFlush = false;
        return Pending;
      }
      if (r === 0) this.readDone = true;
      this.pending = r;
      this.offset = 0;
    }
  }

  override describe(): string {
    return `copy(${this.total} bytes so far)`;
  }
}

/**
 * A future that copies every byte from `reader` to `writer` until the end of the stream, then
 * flushes; completes with the number of bytes copied. Memory stays bounded: it reads only when
 * the previous chunk was written. While the reader has nothing to give, it flushes what it wrote
 * (a buffering writer does not hold back a request the reader waits to see answered).
 *
 * @example
 * ```ts
 * const bytes = yield* copy(file, socket);
 * ```
 * @throws {WriteZero} when `writer` accepts none of the bytes offered (it can take no more).
 *
 * Cancel safety: not cancel-safe: a chunk read but not yet written is lost.
 */
export function copy(reader: AsyncRead, writer: AsyncWrite): Future<number> {
  return new Copy(checkReader(reader, "copy"), checkWriter(writer, "copy"));
}
