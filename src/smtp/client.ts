import { isIP } from "node:net";
import { asyncFn } from "../future/async-block.js";
import { Future } from "../future/future.js";
import { lazy } from "../future/lazy.js";
import type { AsyncRead, AsyncWrite } from "../io/async-io.js";
import { BufReader } from "../io/buf-reader.js";
import { LineTooLong } from "../io/errors.js";
import { writeAll } from "../io/write.js";
import { TcpStream } from "../node/tcp.js";
import { type TlsOptions, tlsConnect, upgradeToTls } from "../node/tls.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Pending, type Poll } from "../task/poll.js";
import { timeout } from "../time/timeout.js";
import { isMessageBody, type MessageBody } from "./body.js";
import { InvalidAddressError, SmtpCapabilityError, SmtpError } from "./errors.js";
import { DataEncoder, dataPayload, hasEightBit } from "./message-data.js";
import { MAX_REPLY_LINE, protocolError, ReplyParser, replyError, type SmtpReply } from "./reply.js";

/**
 * Per-command time limits in milliseconds (defaults: RFC 5321 4.5.3.2).
 *
 * @example
 * ```ts
 * const client = yield* SmtpClient.connect({ port: 2525, timeouts: { dataEnd: 60_000 } });
 * ```
 */
export interface SmtpTimeouts {
  /** Waiting for the 220 greeting (5 min). */
  readonly greeting: number;
  /** MAIL FROM (5 min). */
  readonly mail: number;
  /** Each RCPT TO (5 min). */
  readonly rcpt: number;
  /** DATA until 354 (2 min). */
  readonly data: number;
  /**
   * Each write of the message (3 min): a slice of at most 64 KiB of an in-memory message, or a
   * chunk of a streamed one (RFC 5321 4.5.3.2.5 bounds each send, not the whole message).
   */
  readonly dataBlock: number;
  /** The reply to the final dot (10 min). */
  readonly dataEnd: number;
  /** EHLO, HELO, RSET, QUIT (5 min). */
  readonly command: number;
}

const MINUTE = 60_000;

/**
 * RFC 5321 section 4.5.3.2 time limits.
 *
 * @example
 * ```ts
 * const halved = Object.fromEntries(
 *   Object.entries(DEFAULT_SMTP_TIMEOUTS).map(([k, ms]) => [k, ms / 2]),
 * );
 * ```
 */
export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = {
  greeting: 5 * MINUTE,
  mail: 5 * MINUTE,
  rcpt: 5 * MINUTE,
  data: 2 * MINUTE,
  dataBlock: 3 * MINUTE,
  dataEnd: 10 * MINUTE,
  command: 5 * MINUTE,
};

/**
 * Options of {@link SmtpClient.connect} and {@link SmtpClient.handshake}.
 *
 * @example
 * ```ts
 * const options: SmtpOptions = {
 *   host: "smtp.example.com", port: 587, tls: "starttls-required",
 *   auth: { user: "alice", pass: secret }, name: "client.example.com",
 * };
 * ```
 */
export interface SmtpOptions {
  /** Server host (default 127.0.0.1). */
  readonly host?: string;
  /** Server port (default 25). */
  readonly port?: number;
  /** The name this client gives in EHLO/HELO (default "localhost"). */
  readonly name?: string;
  /** Per-command time limits; unset ones keep the RFC 5321 defaults. */
  readonly timeouts?: Partial<SmtpTimeouts>;
  /** Time limit for the TCP connection (default: the greeting limit). */
  readonly connectTimeout?: number;
  /**
   * `"starttls"` (default): upgrade with STARTTLS when the server offers it;
   * `"starttls-required"`: fail if it does not; `"implicit"`: TLS from the start (port 465);
   * `"none"`: never (only for servers you trust on a trusted network).
   */
  readonly tls?: "starttls" | "starttls-required" | "implicit" | "none";
  /** TLS options (certificate verification is on unless `rejectUnauthorized: false`). */
  readonly tlsOptions?: TlsOptions;
  /** Credentials for AUTH (RFC 4954): PLAIN with an initial response (RFC 4616), or LOGIN. */
  readonly auth?: {
    readonly user: string;
    readonly pass: string;
    readonly method?: "PLAIN" | "LOGIN";
  };
  /** Allow AUTH over an unencrypted connection (off: credentials are never sent in the clear). */
  readonly allowInsecureAuth?: boolean;
  /**
   * How to upgrade a transport that is not a `TcpStream` to TLS after STARTTLS (an in-memory or
   * simulated one); TCP streams use `upgradeToTls`.
   */
  readonly upgrade?: (io: SmtpTransport) => Future<SmtpTransport>;
  /**
   * Replaces how {@link SmtpClient.connect} (and so {@link SmtpPool}) opens the connection: it is
   * called with the server's address and the connection time limit and completes with the
   * transport to speak over. Use it to run the client and the pool unchanged over a simulated or
   * in-memory network. With `tls: "implicit"` the transport it returns is upgraded at once, and
   * STARTTLS upgrades it later, both through the `upgrade` option (or `upgradeToTls` for a
   * `TcpStream`). The client still bounds the whole call by `connectTimeout`.
   *
   * @example
   * ```ts
   * const client = yield* SmtpClient.connect({
   *   host: "mx.sim", port: 25, tls: "none",
   *   connect: (addr, { timeout }) => net.connect(addr, { timeout }), // net: a simulated network
   * });
   * ```
   */
  readonly connect?: (
    addr: { readonly host: string; readonly port: number },
    options: { readonly timeout: number },
  ) => Future<SmtpTransport>;
}

/**
 * An email to send: envelope sender, recipients, and the RFC 5322 message itself
 * ({@link buildMessage} makes one from headers and parts).
 *
 * @example
 * ```ts
 * const envelope: SmtpEnvelope = {
 *   from: "alice@example.com",
 *   to: ["bob@example.com"],
 *   data: "From: alice@example.com\r\nSubject: hi\r\n\r\nHello\r\n",
 * };
 * ```
 */
export interface SmtpEnvelope {
  /** Envelope sender (MAIL FROM); "" is the null reverse-path (bounces). */
  readonly from: string;
  /** Envelope recipients (RCPT TO), at least one. */
  readonly to: readonly string[];
  /**
   * The message: headers, blank line, body, as text (sent as UTF-8), bytes, or a
   * {@link MessageBody} streamed chunk by chunk. Line endings are normalised to CRLF.
   */
  readonly data: string | Uint8Array | MessageBody;
}

/**
 * The outcome of {@link SmtpClient.send}.
 *
 * @example
 * ```ts
 * const result = yield* client.send(envelope);
 * for (const { recipient, error } of result.rejected) console.warn(recipient, error.replyCode);
 * ```
 */
export interface SmtpSendResult {
  /** Recipients the server accepted (the message was delivered to these). */
  readonly accepted: readonly string[];
  /**
   * Recipients that did not get the message, with the reason: the server's refusal of their RCPT,
   * or, after a 452 split, of the further transaction's MAIL, DATA or final dot; when that
   * transaction ended otherwise (a lost connection, a timeout), an `SmtpError` whose `cause` is
   * what ended it.
   */
  readonly rejected: readonly { readonly recipient: string; readonly error: SmtpError }[];
  /**
   * Recipients of a further transaction (after a 452 split) whose connection was lost after the
   * final dot: the server may or may not have taken the message for them. Usually empty.
   */
  readonly unknown: readonly string[];
  /** The server's reply to the (last accepted) final dot. */
  readonly reply: SmtpReply;
  /** The reply to each accepted final dot: more than one when a 452 split the recipients. */
  readonly replies: readonly SmtpReply[];
}

/**
 * A transport the client speaks over: a socket, a TLS stream, a simulated or in-memory stream.
 * `drop()`, when present, closes it.
 *
 * @example
 * ```ts
 * const [clientEnd, serverEnd] = duplex(64 * 1024);
 * const client = yield* SmtpClient.handshake(clientEnd); // a scripted server on serverEnd
 * ```
 */
export type SmtpTransport = AsyncRead & AsyncWrite & { drop?(): void };

const encoder = new TextEncoder();

function checkPath(value: unknown, what: string, allowEmpty: boolean): string {
  if (typeof value !== "string" || (!allowEmpty && value.length === 0)) {
    throw new InvalidAddressError(
      `${what}: expected an address string, got ${describeValue(value)}`,
      value,
    );
  }
  if (/[\r\n<>]/.test(value)) {
    throw new InvalidAddressError(
      `${what}: an address must not contain CR, LF, "<" or ">" (header injection), got ${JSON.stringify(value)}`,
      value,
    );
  }
  return value;
}

/**
 * Validates an envelope before anything is sent: addresses without CR, LF, "<" or ">", at least
 * one recipient, data as a string (encoded as UTF-8) or bytes.
 *
 * @throws {InvalidArgumentError} / {InvalidAddressError} for a malformed envelope.
 */
export function checkEnvelope(envelope: SmtpEnvelope): {
  from: string;
  to: string[];
  data: Uint8Array | MessageBody;
} {
  if (envelope === null || typeof envelope !== "object") {
    throw new InvalidArgumentError(`send: expected an envelope, got ${describeValue(envelope)}`);
  }
  const from = checkPath(envelope.from, "send: from", true);
  if (!Array.isArray(envelope.to) || envelope.to.length === 0) {
    throw new InvalidArgumentError("send: `to` must list at least one recipient");
  }
  const to = envelope.to.map((r, i) => checkPath(r, `send: to[${i}]`, false));
  const data = typeof envelope.data === "string" ? encoder.encode(envelope.data) : envelope.data;
  if (!(data instanceof Uint8Array) && !isMessageBody(data)) {
    throw new InvalidArgumentError(
      `send: data must be a string, bytes or a MessageBody, got ${describeValue(data)}`,
    );
  }
  return { from, to, data };
}

/**
 * An SMTP client on the runtime (RFC 5321, with PIPELINING from RFC 2920). Each reply is read
 * from the socket by a future that stores its task's waker; the socket's data event wakes it,
 * and the runtime polls it again: the seed's example, for real. It speaks over any
 * {@link SmtpTransport}, so it runs on real or simulated sockets alike.
 *
 * @example
 * ```ts
 * const client = yield* SmtpClient.connect({ host: "127.0.0.1", port: 2525 });
 * const result = yield* client.send({
 *   from: "alice@example.com",
 *   to: ["bob@example.com"],
 *   data: "Subject: hi\r\n\r\nHello Bob\r\n",
 * });
 * yield* client.quit();
 * ```
 */
export class SmtpClient {
  /** The server's EHLO keywords (upper case) and their parameters; empty after a HELO fallback. */
  readonly extensions = new Map<string, string>();
  /** The server's greeting line(s). */
  greeting: readonly string[] = [];
  private reader: BufReader;
  private eof: EofWatch;
  private parser = new ReplyParser();
  /** True once the session runs over TLS (implicit or after STARTTLS). */
  secure = false;
  /**
   * True between the end of the message data (the final dot was written) and the server's reply:
   * a failure then leaves the delivery unknown (RFC 5321 4.5.3.2.6), so it must not be retried.
   */
  awaitingFinalReply = false;
  private readonly timeouts: SmtpTimeouts;
  private closed = false;

  /** @internal Use {@link SmtpClient.connect} or {@link SmtpClient.handshake}. */
  constructor(
    private io: SmtpTransport,
    private readonly options: SmtpOptions,
  ) {
    this.eof = new EofWatch(io);
    this.reader = new BufReader(this.eof, 4096, MAX_REPLY_LINE);
    this.timeouts = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  }

  /**
   * Connects over TCP and performs the greeting and EHLO (HELO on 500/502).
   *
   * @throws {IoError} when the connection fails; {@link SmtpError} when the server refuses (554
   * greeting) or breaks the protocol; `TimeoutError` when a limit passes.
   *
   * Cancel safety: dropping it closes the connection.
   */
  static connect(options: SmtpOptions = {}): Future<SmtpClient> {
    return connectAndGreet(options);
  }

  /**
   * Performs the greeting and EHLO (then STARTTLS and AUTH as configured) over an already open
   * transport.
   *
   * @example
   * ```ts
   * const client = yield* SmtpClient.handshake(yield* TcpStream.connect({ port: 2525 }));
   * ```
   * @throws {SmtpError} when the server refuses or breaks the protocol (the transport is then
   * dropped); `TimeoutError` when a limit passes.
   *
   * Cancel safety: dropping it drops the transport.
   */
  static handshake(io: SmtpTransport, options: SmtpOptions = {}): Future<SmtpClient> {
    const client = new SmtpClient(io, options);
    let done = false;
    return greet(client)
      .map((c) => {
        done = true;
        return c;
      })
      .finally(() => {
        if (!done) client.close();
      });
  }

  /**
   * Sends one message: MAIL FROM, RCPT TO for each recipient (pipelined when the server offers
   * PIPELINING), DATA with CRLF normalisation and dot-stuffing. Succeeds when at least one
   * recipient was accepted; refused recipients are listed in the result.
   *
   * When the server answers 452 to a RCPT (too many recipients, RFC 5321 4.5.3.1.10: a 452 with
   * no enhanced code or with 4.5.3), the recipients from there on are sent the message in a
   * further transaction on the same connection once the first one is done. (A one-shot streamed body cannot be sent twice: those
   * recipients are then listed as rejected, with a `BodyConsumedError` as the cause.)
   *
   * Before anything is sent it checks what the message needs against the server's extensions:
   * non-ASCII addresses need SMTPUTF8 (`MAIL FROM:<..> SMTPUTF8`), 8-bit data needs 8BITMIME
   * (`BODY=8BITMIME`), and a message over the server's SIZE limit is refused (`SIZE=n` is
   * declared whenever the size is known).
   *
   * @throws {SmtpError} when MAIL, every RCPT, DATA or the final dot is refused (the transaction
   * is reset), or on a 421 (the connection is closed).
   * @throws {SmtpCapabilityError} when the server lacks SMTPUTF8 or 8BITMIME the message needs,
   * or its SIZE limit is smaller than the message.
   * @throws {InvalidAddressError} for an address with CR, LF, "<" or ">".
   *
   * Cancel safety: not cancel-safe: dropping it mid-dialogue leaves the session in an unknown
   * state, so the connection is closed. A drop after the final dot was written may or may not
   * have delivered the message. Dropped before its first poll, it sent nothing and the client
   * stays open.
   */
  send(envelope: SmtpEnvelope): Future<SmtpSendResult> {
    const { from, to, data } = checkEnvelope(envelope);
    return guard(this, () => sendMessage(this, from, to, data));
  }

  /**
   * Resets the current transaction (RSET).
   *
   * @example
   * ```ts
   * yield* client.reset();
   * ```
   * @throws {SmtpError} when refused.
   *
   * Cancel safety: dropping it while the reply is awaited closes the connection; dropped before
   * its first poll, it sent nothing and the client stays open.
   */
  reset(): Future<void> {
    return guard(this, () =>
      command(this, "RSET", this.timeouts.command, 250).map(() => undefined),
    );
  }

  /**
   * Says goodbye (QUIT) and closes the connection. Errors of a dying connection are ignored.
   *
   * @example
   * ```ts
   * yield* client.quit();
   * ```
   *
   * Cancel safety: dropping it closes the connection at once (without waiting for 221).
   */
  quit(): Future<void> {
    // (The finally also closes when it is dropped before its first poll.)
    return quitAndClose(this).finally(() => this.close());
  }

  /**
   * Closes the connection at once (no QUIT). Idempotent.
   *
   * @example
   * ```ts
   * client.close(); // e.g. when giving up on a server
   * ```
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.io.drop?.();
  }

  /** True once the connection was closed (by `close`, `quit`, a 421 or a cancelled command). */
  get isClosed(): boolean {
    return this.closed;
  }

  /** @internal Writes one command line (or a pipelined batch) within `ms`. */
  write(line: string, ms: number): Future<void> {
    return timeout(writeAll(this.io, encoder.encode(`${line}\r\n`)), ms);
  }

  /** @internal Writes raw bytes (the DATA payload). */
  writeBytes(bytes: Uint8Array): Future<void> {
    return writeAll(this.io, bytes);
  }

  /** @internal Reads one complete reply within `ms`; a 421 closes the connection and throws. */
  readReply(commandName: string, ms: number): Future<SmtpReply> {
    return timeout(readReplyLines(this, commandName), ms).map((reply) => {
      if (reply.code === 421) {
        // The server answered (a final dot too: it refused the message), so nothing is unknown.
        this.awaitingFinalReply = false;
        this.close();
        throw replyError(reply, commandName);
      }
      return reply;
    });
  }

  /** @internal The options the client was created with. */
  get settings(): SmtpOptions {
    return this.options;
  }

  /** @internal Upgrades the transport to TLS (after a 220 to STARTTLS). */
  upgradeTransport(): Future<SmtpTransport> {
    const io = this.io;
    if (this.options.upgrade !== undefined) return this.options.upgrade(io);
    if (!(io instanceof TcpStream)) {
      throw new InvalidArgumentError(
        "STARTTLS over a transport that is not a TcpStream needs the `upgrade` option",
      );
    }
    const host = this.options.host ?? "127.0.0.1";
    return upgradeToTls(io, {
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ...this.options.tlsOptions,
    }) as Future<SmtpTransport>;
  }

  /** @internal Continues the session over `io` (bytes buffered from the old one are discarded). */
  replaceTransport(io: SmtpTransport): void {
    this.io = io;
    this.eof = new EofWatch(io);
    this.reader = new BufReader(this.eof, 4096, MAX_REPLY_LINE);
    this.parser = new ReplyParser();
    this.secure = true;
    this.extensions.clear();
  }

  /** @internal */
  get limits(): SmtpTimeouts {
    return this.timeouts;
  }

  /** @internal */
  get ehloName(): string {
    return this.options.name ?? "localhost";
  }

  /** @internal */
  get lineReader(): BufReader {
    return this.reader;
  }

  /** @internal True once the transport reached its end of stream. */
  get atEof(): boolean {
    return this.eof.eof;
  }

  /** @internal */
  get replyParser(): ReplyParser {
    return this.parser;
  }
}

/** Passes reads through and remembers whether the transport reached its end of stream. */
class EofWatch implements AsyncRead {
  eof = false;
  constructor(private readonly io: AsyncRead) {}
  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    const r = this.io.pollRead(cx, buf);
    if (r === 0 && buf.length > 0) this.eof = true;
    return r;
  }
}

const readReplyLines = asyncFn(function* readReply(client: SmtpClient, commandName: string) {
  for (;;) {
    const line = yield* client.lineReader.readLine().catch((error: unknown) => {
      if (error instanceof LineTooLong) {
        throw protocolError(`a reply line longer than ${MAX_REPLY_LINE} octets`, commandName);
      }
      throw error;
    });
    // BufReader reads the transport again only when its buffer holds no complete line, so an end
    // of stream seen by now means this line had no CRLF: the reply was cut off, not complete.
    if (line === undefined || client.atEof) {
      client.close();
      throw new SmtpError(
        `the server closed the connection (${line === undefined ? "awaiting" : "in the middle of"} the reply to ${commandName})`,
        421,
        undefined,
        [],
        commandName,
      );
    }
    const reply = client.replyParser.push(line, commandName);
    if (reply !== undefined) return reply;
  }
});

/** Sends `line` and expects one of `ok` codes; anything else throws. */
const command = asyncFn(function* command(
  client: SmtpClient,
  line: string,
  ms: number,
  ...ok: number[]
) {
  yield* client.write(line, ms);
  const reply = yield* client.readReply(line, ms);
  if (!ok.includes(reply.code)) throw replyError(reply, line);
  return reply;
});

const ehlo = asyncFn(function* ehlo(client: SmtpClient) {
  yield* client.write(`EHLO ${client.ehloName}`, client.limits.command);
  const reply = yield* client.readReply("EHLO", client.limits.command);
  if (reply.code === 250) {
    for (const line of reply.lines.slice(1)) {
      const [keyword = "", ...params] = line.trim().split(/\s+/);
      if (keyword !== "") client.extensions.set(keyword.toUpperCase(), params.join(" "));
    }
    return;
  }
  if (reply.code !== 500 && reply.code !== 502) throw replyError(reply, "EHLO");
  yield* command(client, `HELO ${client.ehloName}`, client.limits.command, 250);
});

const startTls = asyncFn(function* startTls(client: SmtpClient) {
  const mode = client.settings.tls ?? "starttls";
  if (client.secure || (mode !== "starttls" && mode !== "starttls-required")) return;
  if (!client.extensions.has("STARTTLS")) {
    if (mode === "starttls-required") {
      throw new SmtpError(
        "the server does not offer STARTTLS (tls: starttls-required)",
        0,
        undefined,
        [],
        "STARTTLS",
      );
    }
    return;
  }
  yield* command(client, "STARTTLS", client.limits.command, 220);
  // RFC 3207: discard what was buffered, then start over with EHLO on the secure channel.
  client.replaceTransport(yield* client.upgradeTransport());
  yield* ehlo(client);
});

const base64 = (text: string) => {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
};

const authenticate = asyncFn(function* authenticate(client: SmtpClient) {
  const auth = client.settings.auth;
  if (auth === undefined) return;
  if (!client.secure && client.settings.allowInsecureAuth !== true) {
    throw new SmtpError(
      "refusing to send credentials over an unencrypted connection (set allowInsecureAuth to allow it)",
      0,
      undefined,
      [],
      "AUTH",
    );
  }
  const offered = (client.extensions.get("AUTH") ?? "").toUpperCase().split(/\s+/);
  const method =
    auth.method ?? (offered.includes("PLAIN") || !offered.includes("LOGIN") ? "PLAIN" : "LOGIN");
  const limit = client.limits.command;
  if (method === "PLAIN") {
    yield* client.write(`AUTH PLAIN ${base64(`\0${auth.user}\0${auth.pass}`)}`, limit);
    const reply = yield* client.readReply("AUTH PLAIN", limit);
    if (reply.code !== 235) throw replyError(reply, "AUTH PLAIN");
    return;
  }
  yield* client.write("AUTH LOGIN", limit);
  for (const [step, secret] of [
    ["username", auth.user],
    ["password", auth.pass],
  ] as const) {
    const challenge = yield* client.readReply("AUTH LOGIN", limit);
    if (challenge.code !== 334) throw replyError(challenge, "AUTH LOGIN");
    yield* client.write(base64(secret), limit);
    if (step === "password") break;
  }
  const reply = yield* client.readReply("AUTH LOGIN", limit);
  if (reply.code !== 235) throw replyError(reply, "AUTH LOGIN");
});

const greet = asyncFn(function* greet(client: SmtpClient) {
  const greeting = yield* client.readReply("greeting", client.limits.greeting);
  if (greeting.code !== 220) {
    client.close();
    throw replyError(greeting, "greeting");
  }
  client.greeting = greeting.lines;
  yield* ehlo(client);
  yield* startTls(client);
  yield* authenticate(client);
  return client;
});

const connectAndGreet = asyncFn(function* connectAndGreet(options: SmtpOptions) {
  const limits = { ...DEFAULT_SMTP_TIMEOUTS, ...options.timeouts };
  const addr = { host: options.host ?? "127.0.0.1", port: options.port ?? 25 };
  const connectTimeout = options.connectTimeout ?? limits.greeting;
  const implicit = options.tls === "implicit";
  const open = options.connect;
  if (open !== undefined && typeof open !== "function") {
    throw new InvalidArgumentError(
      `SmtpClient.connect: the connect option must be a function, got ${describeValue(open)}`,
    );
  }
  let socket: SmtpTransport;
  if (open !== undefined) {
    socket = yield* timeout(open(addr, { timeout: connectTimeout }), connectTimeout);
  } else if (implicit) {
    socket = yield* tlsConnect(addr, {
      ...(isIP(addr.host) === 0 ? { servername: addr.host } : {}),
      ...options.tlsOptions,
      timeout: connectTimeout,
    });
  } else {
    socket = yield* TcpStream.connect(addr, { timeout: connectTimeout });
  }
  const client = new SmtpClient(socket, options);
  client.secure = implicit;
  let done = false;
  try {
    if (open !== undefined && implicit) {
      client.replaceTransport(yield* timeout(client.upgradeTransport(), connectTimeout));
    }
    yield* greet(client);
    done = true;
    return client;
  } finally {
    // A failure or a drop (cancellation) before the session is ready: close the connection.
    if (!done) client.close();
  }
});

/** True when `s` has a character outside ASCII. */
function nonAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

/**
 * The MAIL FROM line for `from` after checking what the message needs against the server's
 * extensions (before anything is sent); `check8Bit` when 8-bit content must be watched for while
 * streaming (unknown up front, server without 8BITMIME).
 */
function mailCommand(
  client: SmtpClient,
  from: string,
  to: readonly string[],
  data: Uint8Array | MessageBody,
): { mail: string; check8Bit: boolean } {
  const ext = client.extensions;
  const size = data instanceof Uint8Array ? data.length : data.size;
  const eightBit = data instanceof Uint8Array ? hasEightBit(data) : data.eightBit;
  let mail = `MAIL FROM:<${from}>`;
  if (nonAscii(from) || to.some(nonAscii)) {
    if (!ext.has("SMTPUTF8")) {
      throw new SmtpCapabilityError(
        "the message has a non-ASCII address and the server does not offer SMTPUTF8 (RFC 6531)",
        "SMTPUTF8",
      );
    }
    mail += " SMTPUTF8";
  }
  if (ext.has("SIZE") && size !== undefined) {
    const limit = Number(ext.get("SIZE"));
    if (Number.isInteger(limit) && limit > 0 && size > limit) {
      throw new SmtpCapabilityError(
        `the message is ${size} octets and the server accepts at most ${limit} (SIZE)`,
        "SIZE",
      );
    }
    mail += ` SIZE=${size}`;
  }
  if (ext.has("8BITMIME")) {
    if (eightBit !== false) mail += " BODY=8BITMIME";
  } else if (eightBit === true) {
    throw new SmtpCapabilityError(
      "the message has 8-bit data and the server does not offer 8BITMIME (RFC 6152)",
      "8BITMIME",
    );
  }
  return { mail, check8Bit: eightBit === undefined && !ext.has("8BITMIME") };
}

type Rejected = { recipient: string; error: SmtpError };

/** What MAIL and the RCPTs of one transaction got. */
interface Envelope {
  mailReply: SmtpReply;
  /** Accepted in this transaction. */
  ok: string[];
  refused: Rejected[];
  /** Answered 452 (or not tried after one): for a further transaction. */
  deferred: string[];
  deferError: SmtpError | null;
}

const envelopePhase = asyncFn(function* envelopePhase(
  client: SmtpClient,
  mail: string,
  to: readonly string[],
) {
  const limits = client.limits;
  const out: Envelope = {
    mailReply: { code: 0, enhancedCode: undefined, lines: [] },
    ok: [],
    refused: [],
    deferred: [],
    deferError: null,
  };
  if (client.extensions.has("PIPELINING")) {
    // RFC 2920: MAIL and every RCPT in one write; the replies come back in order. They are read
    // while the batch is being written, so that a long batch cannot deadlock against a server
    // whose replies fill the other direction.
    const rcpts = to.map((r) => `RCPT TO:<${r}>`);
    yield* new WriteWhileReading(
      client.write([mail, ...rcpts].join("\r\n"), limits.mail),
      batchReplies(client, mail, rcpts, to, out),
    );
    return out;
  }
  yield* client.write(mail, limits.mail);
  out.mailReply = yield* client.readReply(mail, limits.mail);
  if (out.mailReply.code !== 250) return out;
  for (const recipient of to) {
    if (out.deferError !== null) {
      out.deferred.push(recipient);
      continue;
    }
    const line = `RCPT TO:<${recipient}>`;
    yield* client.write(line, limits.rcpt);
    sortRecipient(out, yield* client.readReply(line, limits.rcpt), recipient, line);
  }
  return out;
});

/**
 * A write and the reads of its replies, polled together (both with the task's waker: two
 * children need no bookkeeping of which one woke). Usually the write completes on its first
 * poll; when the transport is full, the replies keep being read so that neither side waits for
 * the other forever. The first error drops the other half.
 */
class WriteWhileReading extends Future<void> {
  constructor(
    private writing: Future<void> | null,
    private reading: Future<void> | null,
  ) {
    super();
  }
  poll(cx: Context): Poll<void> {
    try {
      if (this.writing !== null && this.writing.poll(cx) !== Pending) this.writing = null;
      if (this.reading !== null && this.reading.poll(cx) !== Pending) this.reading = null;
    } catch (error) {
      this.drop();
      throw error;
    }
    return this.writing === null && this.reading === null ? undefined : Pending;
  }
  override drop(): void {
    this.writing?.drop();
    this.reading?.drop();
    this.writing = null;
    this.reading = null;
  }
}

/** The replies to a pipelined MAIL and RCPTs, in order. */
const batchReplies = asyncFn(function* batchReplies(
  client: SmtpClient,
  mail: string,
  rcpts: readonly string[],
  to: readonly string[],
  out: Envelope,
) {
  const limits = client.limits;
  out.mailReply = yield* client.readReply(mail, limits.mail);
  for (let i = 0; i < rcpts.length; i++) {
    sortRecipient(out, yield* client.readReply(rcpts[i]!, limits.rcpt), to[i]!, rcpts[i]!);
  }
});

/** Files a recipient under accepted, refused, or deferred to a further transaction. */
function sortRecipient(out: Envelope, reply: SmtpReply, recipient: string, line: string): void {
  if (reply.code === 250 || reply.code === 251) out.ok.push(recipient);
  else if (reply.code === 452 && (reply.enhancedCode ?? "4.5.3") === "4.5.3") {
    // RFC 5321 4.5.3.1.10: too many recipients; the rest go in a further transaction. (A 452
    // with another enhanced code, such as 4.2.2 mailbox full, only refuses this recipient.)
    out.deferred.push(recipient);
    out.deferError ??= replyError(reply, line);
  } else out.refused.push({ recipient, error: replyError(reply, line) });
}

/** How much of an in-memory message one write within the data block limit takes. */
const DATA_SLICE = 64 * 1024;

/** Writes the message (DATA already answered 354) and its final dot; returns the final reply. */
const dataPhase = asyncFn(function* dataPhase(
  client: SmtpClient,
  data: Uint8Array | MessageBody,
  check8Bit: boolean,
) {
  const limits = client.limits;
  if (data instanceof Uint8Array) {
    // RFC 5321 4.5.3.2.5 bounds each send, not the whole message: a large message that keeps
    // moving over a slow link is written in slices, each within the data block limit.
    const payload = dataPayload(data);
    for (let at = 0; at < payload.length; at += DATA_SLICE) {
      yield* timeout(client.writeBytes(payload.subarray(at, at + DATA_SLICE)), limits.dataBlock);
    }
  } else {
    // Chunk by chunk: each write waits until the socket takes it (backpressure), within the
    // RFC 5321 data block limit; the encoder's state spans chunk boundaries.
    const encoder = new DataEncoder();
    const chunks = data.open();
    try {
      for (;;) {
        const item = yield* chunks.next();
        if (item.done === true) break;
        const out = encoder.push(item.value);
        if (check8Bit && encoder.eightBit) {
          // Mid-DATA there is no way back but closing: the server drops the partial message.
          client.close();
          throw new SmtpCapabilityError(
            "the message has 8-bit data and the server does not offer 8BITMIME (RFC 6152)",
            "8BITMIME",
          );
        }
        if (out.length > 0) yield* timeout(client.writeBytes(out), limits.dataBlock);
      }
    } finally {
      chunks.drop();
    }
    yield* timeout(client.writeBytes(encoder.end()), limits.dataBlock);
  }
  // Only once the transport took the final dot can the server have the whole message: from here
  // a lost connection leaves the delivery unknown (RFC 5321 4.5.3.2.6). Before, it cannot have.
  client.awaitingFinalReply = true;
  const reply = yield* client.readReply("end of data", limits.dataEnd);
  client.awaitingFinalReply = false;
  return reply;
});

const sendMessage = asyncFn(function* sendMessage(
  client: SmtpClient,
  from: string,
  to: string[],
  data: Uint8Array | MessageBody,
) {
  const { mail, check8Bit } = mailCommand(client, from, to, data);
  const accepted: string[] = [];
  const rejected: Rejected[] = [];
  const unknown: string[] = [];
  const replies: SmtpReply[] = [];
  let pending: readonly string[] = to;
  while (pending.length > 0) {
    // After a delivered transaction, a failed further one is reported per recipient, never as a
    // failure of the whole send (which a caller might retry: no email twice).
    const delivered = accepted.length > 0;
    let tx: Envelope | null = null;
    try {
      tx = yield* envelopePhase(client, mail, pending);
      if (tx.mailReply.code !== 250) {
        const refusal = replyError(tx.mailReply, mail);
        yield* resetQuietly(client);
        if (!delivered) throw refusal;
        for (const recipient of pending) rejected.push({ recipient, error: refusal });
        break;
      }
      rejected.push(...tx.refused);
      if (tx.ok.length === 0) {
        // Nobody accepted: the deferred ones cannot progress either.
        for (const recipient of tx.deferred) rejected.push({ recipient, error: tx.deferError! });
        yield* resetQuietly(client);
        if (!delivered) throw tx.refused[0]?.error ?? tx.deferError;
        break;
      }
      yield* client.write("DATA", client.limits.data);
      const go = yield* client.readReply("DATA", client.limits.data);
      let error: SmtpError | null = null;
      if (go.code !== 354) {
        error = replyError(go, "DATA");
        yield* resetQuietly(client);
      } else {
        const reply = yield* dataPhase(client, data, check8Bit);
        if (reply.code === 250) {
          accepted.push(...tx.ok);
          replies.push(reply);
          pending = tx.deferred;
          continue;
        }
        error = replyError(reply, "end of data");
      }
      if (!delivered) throw error;
      for (const recipient of [...tx.ok, ...tx.deferred]) rejected.push({ recipient, error });
      break;
    } catch (cause) {
      if (!delivered) throw cause;
      const usable =
        cause instanceof SmtpError && cause.replyCode >= 400 && cause.replyCode !== 421;
      const error =
        cause instanceof SmtpError
          ? cause
          : new SmtpError(
              `the further transaction after a 452 ended: ${cause instanceof Error ? cause.message : String(cause)}`,
              0,
              undefined,
              [],
              "connection",
              { cause },
            );
      const lost = client.awaitingFinalReply;
      client.awaitingFinalReply = false;
      if (!usable) client.close();
      if (tx === null) {
        for (const recipient of pending) rejected.push({ recipient, error });
      } else {
        if (lost) unknown.push(...tx.ok);
        else for (const recipient of tx.ok) rejected.push({ recipient, error });
        for (const recipient of tx.deferred) rejected.push({ recipient, error });
      }
      break;
    }
  }
  return { accepted, rejected, unknown, reply: replies.at(-1)!, replies } as SmtpSendResult;
});

/**
 * RSET after a refusal. The refusal is what the caller hears about: if the RSET fails too (the
 * server hangs up, times out or refuses it), the connection is closed instead of the RSET's error
 * replacing the refusal (a 5xx reported as a lost connection would be retried).
 */
const resetQuietly = asyncFn(function* resetQuietly(client: SmtpClient) {
  if (client.isClosed) return;
  try {
    yield* client.write("RSET", client.limits.command);
    const reply = yield* client.readReply("RSET", client.limits.command);
    if (reply.code !== 250) client.close();
  } catch {
    client.close();
  }
});

const quitAndClose = asyncFn(function* quitAndClose(client: SmtpClient) {
  if (client.isClosed) return;
  try {
    yield* client.write("QUIT", client.limits.command);
    yield* client.readReply("QUIT", client.limits.command);
  } catch {
    // The session is over either way.
  } finally {
    client.close();
  }
});

/**
 * Runs a dialogue step. A refusal the step recovered from (a 4xx/5xx reply after which the
 * transaction was reset or ended) leaves the session usable; anything else — cancellation, a
 * timeout, an I/O or protocol error, a 421 — leaves it in an unknown state, so it is closed. The
 * step is made at the first poll: dropped before, it said nothing and the session is untouched.
 */
function guard<T>(client: SmtpClient, step: () => Future<T>): Future<T> {
  let started = false;
  let usable = false;
  return lazy(() => {
    started = true;
    return step();
  })
    .map((value) => {
      usable = true;
      return value;
    })
    .catch((error: unknown): T => {
      usable =
        (error instanceof SmtpError && error.replyCode >= 400 && error.replyCode !== 421) ||
        error instanceof SmtpCapabilityError;
      throw error;
    })
    .finally(() => {
      if (started && !usable) client.close();
    });
}
