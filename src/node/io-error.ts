/**
 * An operating-system I/O error (`waker/node`) with its errno `code` (`ECONNRESET`,
 * `ECONNREFUSED`, `ENOENT`...), the `syscall`, and the address or path it concerns. The original
 * Node error is the `cause`.
 *
 * @example
 * ```ts
 * try { yield* TcpStream.connect({ port: 1 }); }
 * catch (e) { if (e instanceof IoError && e.code === "ECONNREFUSED") retryLater(); }
 * ```
 */
export class IoError extends Error {
  override name = "IoError";
  constructor(
    message: string,
    /** The errno code, e.g. "ECONNRESET". */
    readonly code: string,
    /** The operation: "connect", "read", "write", "listen"... */
    readonly syscall: string,
    /** The address or path concerned, when known. */
    readonly target?: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
  }

  /** Wraps a Node error, keeping its code. */
  static from(error: unknown, syscall: string, target?: string): IoError {
    if (error instanceof IoError) return error;
    const e = error as NodeJS.ErrnoException;
    const code = typeof e?.code === "string" ? e.code : "EIO";
    const where = target === undefined ? "" : ` (${target})`;
    return new IoError(
      `${syscall} failed${where}: ${e?.message ?? String(error)}`,
      code,
      syscall,
      target,
      {
        cause: error,
      },
    );
  }
}
