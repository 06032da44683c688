import type { Context } from "../task/context.js";
import type { Poll } from "../task/poll.js";

/**
 * A source of bytes, polled (futures-rs's `AsyncRead`). `pollRead` copies up to `buf.length`
 * bytes into `buf` and returns how many (at least 1), `0` at the end of the stream, or `Pending`
 * after registering `cx.waker`. Errors are thrown. Sockets, files and {@link duplex} pipes
 * implement it; {@link readExact}, {@link readToEnd}, {@link BufReader} build on it.
 *
 * @example
 * ```ts
 * const buf = new Uint8Array(1024);
 * const n = yield* read(socket, buf); // 0 means end of stream
 * ```
 */
export interface AsyncRead {
  pollRead(cx: Context, buf: Uint8Array): Poll<number>;
}

/**
 * A sink of bytes, polled (futures-rs's `AsyncWrite`). `pollWrite` accepts some of `data` and
 * returns how many bytes (at least 1 for non-empty data), or `Pending` while there is no room
 * (backpressure); `pollFlush` waits until buffered bytes are handed on; `pollShutdown` flushes
 * and ends the stream (a half-close: the peer reads end of stream). Errors are thrown.
 *
 * @example
 * ```ts
 * yield* writeAll(socket, new TextEncoder().encode("EHLO example.com\r\n"));
 * ```
 */
export interface AsyncWrite {
  pollWrite(cx: Context, data: Uint8Array): Poll<number>;
  pollFlush(cx: Context): Poll<void>;
  pollShutdown(cx: Context): Poll<void>;
}
