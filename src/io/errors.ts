/**
 * The stream ended before the expected number of bytes arrived (`readExact`), or a peer went
 * away while writing (`BrokenPipe`).
 *
 * @example
 * ```ts
 * try { yield* readExact(conn, 4); } catch (e) { if (e instanceof UnexpectedEof) console.log(e.received); }
 * ```
 */
export class UnexpectedEof extends Error {
  /** Stable machine-readable code. */
  readonly code = "UNEXPECTED_EOF" as const;
  override name = "UnexpectedEof";
  constructor(
    /** Bytes that were read before the end. */
    readonly received: number,
    /** Bytes that were expected. */
    readonly expected: number,
  ) {
    super(`the stream ended after ${received} of ${expected} bytes`);
  }
}

/**
 * A line longer than the reader's limit arrived (a hostile or broken peer): reading it would
 * grow the buffer without bound.
 *
 * @example
 * ```ts
 * try { yield* reader.readLine(); } catch (e) { if (e instanceof LineTooLong) conn.drop(); }
 * ```
 */
export class LineTooLong extends Error {
  /** Stable machine-readable code. */
  readonly code = "LINE_TOO_LONG" as const;
  override name = "LineTooLong";
  constructor(
    /** The limit in bytes. */
    readonly limit: number,
  ) {
    super(`a line longer than ${limit} bytes`);
  }
}

/**
 * Writing to a stream whose reading side is gone.
 *
 * @example
 * ```ts
 * try { yield* writeAll(pipe, data); } catch (e) { if (e instanceof BrokenPipe) reconnect(); }
 * ```
 */
export class BrokenPipe extends Error {
  /** Stable machine-readable code. */
  readonly code = "BROKEN_PIPE" as const;
  override name = "BrokenPipe";
}

/**
 * A sink accepted none of the bytes offered to it (its `pollWrite` returned 0): it can take no
 * more, so `writeAll`, `copy` and a `BufWriter` flush stop here instead of offering the same bytes
 * for ever (Rust's `ErrorKind::WriteZero`).
 *
 * @example
 * ```ts
 * try { yield* writeAll(sink, data); } catch (e) { if (e instanceof WriteZero) console.log(e.offered); }
 * ```
 */
export class WriteZero extends Error {
  /** Stable machine-readable code. */
  readonly code = "WRITE_ZERO" as const;
  override name = "WriteZero";
  constructor(
    /** Bytes that were offered to the sink. */
    readonly offered: number,
    where: string,
  ) {
    super(`${where}: the sink accepted 0 of ${offered} bytes: it can take no more`);
  }
}
