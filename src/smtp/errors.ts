/**
 * The server refused a command, or broke the protocol. `replyCode` is the SMTP reply code (0 when
 * the server broke the protocol), `enhancedCode` the RFC 3463 code when the server sent one,
 * `lines` the reply text, `command` what was sent. `transient` (4xx: try again later) and
 * `permanent` (5xx) tell a caller what to do; `code` is this library's stable category.
 *
 * @example
 * ```ts
 * try { yield* client.send(message); }
 * catch (e) { if (e instanceof SmtpError && e.transient) retryLater(); }
 * ```
 */
export class SmtpError extends Error {
  /** Stable category: a 4xx or 5xx reply, or a protocol violation by the server. */
  readonly code: "SMTP_TRANSIENT" | "SMTP_PERMANENT" | "SMTP_PROTOCOL";
  override name = "SmtpError";
  /** True for 4xx replies (and a lost connection): the same command may succeed later. */
  readonly transient: boolean;
  /** True for 5xx replies: retrying the same command will fail again. */
  readonly permanent: boolean;

  constructor(
    message: string,
    /** The reply code, or 0 for a protocol violation. */
    readonly replyCode: number,
    /** The enhanced status code ("5.1.1"), if any. */
    readonly enhancedCode: string | undefined,
    /** The reply's text lines (without code and separator). */
    readonly lines: readonly string[],
    /** The command the reply answered ("RCPT TO:<x@y>"), or "greeting"/"connection". */
    readonly command: string,
    /** `cause`: what ended the dialogue when it was not a reply. */
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.transient = replyCode >= 400 && replyCode < 500;
    this.permanent = replyCode >= 500;
    this.code = this.transient
      ? "SMTP_TRANSIENT"
      : this.permanent
        ? "SMTP_PERMANENT"
        : "SMTP_PROTOCOL";
  }
}

/**
 * A header value or address contains CR or LF (header injection), or is otherwise unusable.
 *
 * @example
 * ```ts
 * try { client.send({ from: "a@x\r\nBcc: victim@y", to: [], data: "" }); }
 * catch (e) { if (e instanceof InvalidAddressError) console.error(e.value); }
 * ```
 */
export class InvalidAddressError extends TypeError {
  /** Stable machine-readable code. */
  readonly code = "SMTP_INVALID_ADDRESS" as const;
  override name = "InvalidAddressError";
  constructor(
    message: string,
    /** The rejected value. */
    readonly value: unknown,
  ) {
    super(message);
  }
}

/**
 * The message needs something the server does not offer, found before anything of it was sent
 * (or, for a streamed message whose 8-bit content was not known up front, found while sending it:
 * the connection is then closed, so the server discards the partial message):
 * - `"SMTPUTF8"`: a non-ASCII address (RFC 6531) and no SMTPUTF8 extension;
 * - `"8BITMIME"`: 8-bit data (RFC 6152) and no 8BITMIME extension;
 * - `"SIZE"`: the message is larger than the server's declared SIZE limit (RFC 1870).
 * Retrying on the same server fails again.
 *
 * @example
 * ```ts
 * try { yield* client.send(message); }
 * catch (e) { if (e instanceof SmtpCapabilityError && e.requirement === "SIZE") shrink(); }
 * ```
 */
export class SmtpCapabilityError extends Error {
  /** Stable machine-readable code. */
  readonly code = "SMTP_CAPABILITY" as const;
  override name = "SmtpCapabilityError";
  constructor(
    message: string,
    /** What the message needs: an extension, or a size within the server's limit. */
    readonly requirement: "SMTPUTF8" | "8BITMIME" | "SIZE",
  ) {
    super(message);
  }
}
