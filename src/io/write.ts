import { Future, pollAfterCompletion } from "../future/future.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import type { AsyncWrite } from "./async-io.js";
import { WriteZero } from "./errors.js";

/** @internal Throws unless `writer` implements `AsyncWrite`. */
export function checkWriter(writer: unknown, where: string): AsyncWrite {
  if (
    writer === null ||
    typeof writer !== "object" ||
    typeof (writer as AsyncWrite).pollWrite !== "function" ||
    typeof (writer as AsyncWrite).pollFlush !== "function" ||
    typeof (writer as AsyncWrite).pollShutdown !== "function"
  ) {
    throw new InvalidArgumentError(
      `${where}: expected an AsyncWrite, got ${describeValue(writer)}`,
    );
  }
  return writer as AsyncWrite;
}

/**
 * @internal What a sink's `pollWrite` reported for `offered` (> 0) bytes, checked: a loop that
 * writes until everything is out stops with {@link WriteZero} at 0, and with an
 * `InvalidArgumentError` at a count that is not an integer from 1 to `offered` (a broken sink,
 * which would otherwise lose or repeat bytes).
 */
export function acceptedBytes(r: number, offered: number, where: string): number {
  if (r > 0 && r <= offered && Number.isInteger(r)) return r;
  if (r === 0) throw new WriteZero(offered, where);
  throw new InvalidArgumentError(
    `${where}: the sink's pollWrite returned ${describeValue(r)} for ${offered} bytes; expected an integer from 1 to ${offered}`,
  );
}

const WRITE = 0;
const WRITE_ALL = 1;
const FLUSH = 2;
const SHUTDOWN = 3;

class WriteOp extends Future<number | undefined> {
  private written = 0;
  private done = false;
  constructor(
    private readonly writer: AsyncWrite,
    private readonly data: Uint8Array,
    private readonly kind: number,
  ) {
    super();
  }
  poll(cx: Context): Poll<number | undefined> {
    if (this.done) throw pollAfterCompletion(this);
    const w = this.writer;
    if (this.kind === FLUSH || this.kind === SHUTDOWN) {
      const r = this.kind === FLUSH ? w.pollFlush(cx) : w.pollShutdown(cx);
      if (r === Pending) return Pending;
      this.done = true;
      return undefined;
    }
    if (this.kind === WRITE) {
      const r = w.pollWrite(cx, this.data);
      if (r === Pending) return Pending;
      this.done = true;
      return r;
    }
    while (this.written < this.data.length) {
      const rest = this.data.length - this.written;
      const r = w.pollWrite(cx, this.data.subarray(this.written));
      if (r === Pending) return Pending;
      this.written += acceptedBytes(r, rest, "writeAll");
    }
    this.done = true;
    return undefined;
  }
  override describe(): string {
    return ["write", `writeAll(${this.written}/${this.data.length})`, "flush", "shutdown"][
      this.kind
    ]!;
  }
}

/**
 * A future of one write: how many bytes of `data` were accepted (at least 1 for non-empty data).
 *
 * @example
 * ```ts
 * const n = yield* write(conn, chunk);
 * ```
 *
 * Cancel safety: dropping it writes nothing.
 */
export function write(writer: AsyncWrite, data: Uint8Array): Future<number> {
  return new WriteOp(checkWriter(writer, "write"), data, WRITE) as Future<number>;
}

/**
 * A future that writes all of `data`, waiting for room as needed (backpressure).
 *
 * @example
 * ```ts
 * yield* writeAll(conn, new TextEncoder().encode("QUIT\r\n"));
 * ```
 * @throws {WriteZero} when the sink accepts none of the bytes offered (it can take no more).
 *
 * Cancel safety: not cancel-safe: a prefix of `data` may have been written.
 */
export function writeAll(writer: AsyncWrite, data: Uint8Array): Future<void> {
  return new WriteOp(checkWriter(writer, "writeAll"), data, WRITE_ALL) as Future<void>;
}

/**
 * A future that completes when buffered bytes have been handed on.
 *
 * @example
 * ```ts
 * yield* flush(bufferedConn);
 * ```
 *
 * Cancel safety: safe to drop and retry.
 */
export function flush(writer: AsyncWrite): Future<void> {
  return new WriteOp(checkWriter(writer, "flush"), new Uint8Array(0), FLUSH) as Future<void>;
}

/**
 * A future that flushes and ends the writing side (a half-close: the peer reads end of stream).
 *
 * @example
 * ```ts
 * yield* shutdown(conn);
 * ```
 *
 * Cancel safety: safe to drop and retry.
 */
export function shutdown(writer: AsyncWrite): Future<void> {
  return new WriteOp(checkWriter(writer, "shutdown"), new Uint8Array(0), SHUTDOWN) as Future<void>;
}
