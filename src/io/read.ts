import { Future, pollAfterCompletion } from "../future/future.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError, OutOfRangeError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import type { AsyncRead } from "./async-io.js";
import { UnexpectedEof } from "./errors.js";

/** @internal Throws unless `reader` has `pollRead`. */
export function checkReader(reader: unknown, where: string): AsyncRead {
  if (
    reader === null ||
    typeof reader !== "object" ||
    typeof (reader as AsyncRead).pollRead !== "function"
  ) {
    throw new InvalidArgumentError(`${where}: expected an AsyncRead, got ${describeValue(reader)}`);
  }
  return reader as AsyncRead;
}

class Read extends Future<number> {
  private done = false;
  constructor(
    private readonly reader: AsyncRead,
    private readonly buf: Uint8Array,
  ) {
    super();
  }
  poll(cx: Context): Poll<number> {
    if (this.done) throw pollAfterCompletion(this);
    const r = this.reader.pollRead(cx, this.buf);
    if (r !== Pending) this.done = true;
    return r;
  }
  override describe(): string {
    return "read";
  }
}

/**
 * A future of one read into `buf`: the number of bytes read, `0` at the end of the stream.
 *
 * @example
 * ```ts
 * const n = yield* read(conn, buf);
 * ```
 *
 * Cancel safety: dropping it loses no bytes (nothing was read).
 */
export function read(reader: AsyncRead, buf: Uint8Array): Future<number> {
  return new Read(checkReader(reader, "read"), buf);
}

class ReadExact extends Future<Uint8Array> {
  declare private readonly reader: AsyncRead;
  declare private readonly out: Uint8Array;
  declare private filled: number;
  declare private done: boolean;
  constructor(reader: AsyncRead, out: Uint8Array) {
    super();
    this.reader = reader;
    this.out = out;
    this.filled = 0;
    this.done = false;
  }
  poll(cx: Context): Poll<Uint8Array> {
    if (this.done) throw pollAfterCompletion(this);
    while (this.filled < this.out.length) {
      const r = this.reader.pollRead(cx, this.out.subarray(this.filled));
      if (r === Pending) return Pending;
      if (r === 0) {
        this.done = true;
        throw new UnexpectedEof(this.filled, this.out.length);
      }
      this.filled += r;
    }
    this.done = true;
    return this.out;
  }
  override describe(): string {
    return `readExact(${this.filled}/${this.out.length})`;
  }
}

/**
 * @internal The largest buffer the library allocates on a caller's behalf (1 GiB): a
 * `readExact` length, a `BufReader`/`BufWriter` capacity, a `File.readAt` length.
 */
export const MAX_BUFFER = 2 ** 30;

/**
 * A future of exactly `n` bytes, in a new array; or, given a buffer, one that fills the whole
 * buffer and completes with it (Rust's `read_exact(&mut buf)`: no allocation per read, for a loop
 * that reuses one buffer).
 *
 * @example
 * ```ts
 * const header = yield* readExact(conn, 4);
 * const frame = new Uint8Array(1024);
 * yield* readExact(conn, frame); // fills frame
 * ```
 * @throws {UnexpectedEof} when the stream ends first.
 * @throws {OutOfRangeError} (a `RangeError`) when `n` is not an integer from 0 to 2^30 (1 GiB;
 * pass a `Uint8Array` to read into memory of your own).
 *
 * Cancel safety: not cancel-safe: bytes read before the drop are lost (with a buffer, they are in
 * its first bytes, but how many is not reported).
 */
export function readExact(reader: AsyncRead, n: number | Uint8Array): Future<Uint8Array> {
  const checked = checkReader(reader, "readExact");
  if (n instanceof Uint8Array) return new ReadExact(checked, n);
  if (!Number.isInteger(n) || n < 0 || n > MAX_BUFFER) {
    throw new OutOfRangeError(
      `readExact: expected an integer from 0 to ${MAX_BUFFER} or a Uint8Array, got ${describeValue(n)}`,
    );
  }
  return new ReadExact(checked, new Uint8Array(n));
}

class ReadToEnd extends Future<Uint8Array> {
  private buf = new Uint8Array(8192);
  private filled = 0;
  private done = false;
  constructor(private readonly reader: AsyncRead) {
    super();
  }
  poll(cx: Context): Poll<Uint8Array> {
    if (this.done) throw pollAfterCompletion(this);
    for (;;) {
      if (this.filled === this.buf.length) {
        const bigger = new Uint8Array(this.buf.length * 2);
        bigger.set(this.buf);
        this.buf = bigger;
      }
      const r = this.reader.pollRead(cx, this.buf.subarray(this.filled));
      if (r === Pending) return Pending;
      if (r === 0) {
        this.done = true;
        return this.buf.slice(0, this.filled);
      }
      this.filled += r;
    }
  }
  override describe(): string {
    return `readToEnd(${this.filled} so far)`;
  }
}

/**
 * A future of every byte until the end of the stream.
 *
 * @example
 * ```ts
 * const body = new TextDecoder().decode(yield* readToEnd(conn));
 * ```
 *
 * Cancel safety: not cancel-safe: bytes read before the drop are lost.
 */
export function readToEnd(reader: AsyncRead): Future<Uint8Array> {
  return new ReadToEnd(checkReader(reader, "readToEnd"));
}
