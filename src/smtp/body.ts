import type { Future } from "../future/future.js";
import { type File, open } from "../node/fs.js";
import { Stream } from "../stream/stream.js";
import type { Context } from "../task/context.js";
import { describeValue, InvalidArgumentError } from "../task/errors.js";
import { Done, Pending, type Poll } from "../task/poll.js";

/**
 * A message produced chunk by chunk, so that a large one (a big attachment) is never held whole
 * in memory: the client writes each chunk to the socket as it comes, waiting for the socket to
 * take it (backpressure). {@link buildMessage} returns one when an attachment is streamed; build
 * your own with {@link messageBody}.
 *
 * @example
 * ```ts
 * const body = messageBody(() => Stream.from([headerBytes, bodyBytes]), { size: 1234 });
 * yield* client.send({ from: "a@x.test", to: ["b@y.test"], data: body });
 * ```
 */
export interface MessageBody {
  /**
   * Starts the message from the beginning, as a stream of byte chunks. Called once per
   * transaction (a 452 split or a pool retry calls it again).
   *
   * @throws {BodyConsumedError} when the source can only be read once and already was.
   */
  open(): Stream<Uint8Array>;
  /** The size in octets when known (declared with SIZE), else undefined. */
  readonly size: number | undefined;
  /**
   * `false` when every byte is 7-bit, `true` when some may be 8-bit (sent with BODY=8BITMIME),
   * `undefined` when unknown (then checked chunk by chunk as it is sent).
   */
  readonly eightBit: boolean | undefined;
}

/**
 * A one-shot message source (a `Stream` given directly) was needed a second time: after a 452
 * split the recipients of the further transaction, or a retry, cannot be sent the message again.
 * Give a function that reopens the source (`() => Stream`) or a file path instead.
 *
 * @example
 * ```ts
 * if (error instanceof BodyConsumedError) console.error("the stream was already sent once");
 * ```
 */
export class BodyConsumedError extends Error {
  readonly code = "SMTP_BODY_CONSUMED" as const;
  override name = "BodyConsumedError";
}

/**
 * A {@link MessageBody} from a function that opens the content as a stream of chunks.
 *
 * @example
 * ```ts
 * const body = messageBody(() => fileChunks("/var/mail/outgoing.eml"), { eightBit: false });
 * ```
 * @throws {InvalidArgumentError} when `open` is not a function or `size` not an integer >= 0.
 */
export function messageBody(
  open: () => Stream<Uint8Array>,
  options: { size?: number; eightBit?: boolean } = {},
): MessageBody {
  if (typeof open !== "function") {
    throw new InvalidArgumentError(`messageBody: expected a function, got ${describeValue(open)}`);
  }
  const size = options.size;
  if (size !== undefined && (!Number.isInteger(size) || size < 0)) {
    throw new InvalidArgumentError(
      `messageBody: size must be an integer >= 0, got ${describeValue(size)}`,
    );
  }
  return { open, size, eightBit: options.eightBit };
}

/**
 * True for a {@link MessageBody} (as opposed to a string or bytes).
 *
 * @example
 * ```ts
 * const size = isMessageBody(envelope.data) ? envelope.data.size : envelope.data.length;
 * ```
 */
export function isMessageBody(value: unknown): value is MessageBody {
  return (
    value !== null &&
    typeof value === "object" &&
    !(value instanceof Uint8Array) &&
    typeof (value as MessageBody).open === "function"
  );
}

/** A stream opener that can be used once: the second call throws {@link BodyConsumedError}. */
export function oneShot(stream: Stream<Uint8Array>): () => Stream<Uint8Array> {
  let used = false;
  return () => {
    if (used) throw new BodyConsumedError("this message's stream was already sent once");
    used = true;
    return stream;
  };
}

const CHUNK = 64 * 1024;

/**
 * A file's bytes as a stream of chunks of at most `chunkSize` bytes, read as they are asked for
 * (a large file is never loaded whole).
 *
 * @example
 * ```ts
 * const total = yield* fileChunks("big.bin").map((c) => c.length).collect();
 * ```
 * @throws {InvalidArgumentError} for an empty path or a chunk size below 1.
 * @throws {IoError} (when polled) when the file cannot be opened or read.
 *
 * Cancel safety: dropping the stream closes the file.
 */
export function fileChunks(path: string, chunkSize = CHUNK): Stream<Uint8Array> {
  if (typeof path !== "string" || path === "") {
    throw new InvalidArgumentError(`fileChunks: expected a path, got ${describeValue(path)}`);
  }
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new InvalidArgumentError(
      `fileChunks: chunkSize must be an integer >= 1, got ${describeValue(chunkSize)}`,
    );
  }
  return new FileChunks(path, chunkSize);
}

class FileChunks extends Stream<Uint8Array> {
  private opening: Future<File> | null = null;
  private file: File | null = null;
  private buf: Uint8Array;
  private done = false;
  constructor(
    private readonly path: string,
    private readonly chunkSize: number,
  ) {
    super();
    this.buf = new Uint8Array(chunkSize);
  }
  pollNext(cx: Context): Poll<Uint8Array | typeof Done> {
    if (this.done) return Done;
    if (this.file === null) {
      this.opening ??= open(this.path);
      const r = this.opening.poll(cx);
      if (r === Pending) return Pending;
      this.opening = null;
      this.file = r;
    }
    const n = this.file.pollRead(cx, this.buf);
    if (n === Pending) return Pending;
    if (n === 0) {
      this.done = true;
      this.file.drop();
      return Done;
    }
    const chunk = this.buf.subarray(0, n);
    this.buf = new Uint8Array(this.chunkSize);
    return chunk;
  }
  override drop(): void {
    this.done = true;
    this.opening?.drop();
    this.opening = null;
    this.file?.drop();
  }
}

/** 57 input bytes make one 76-character base64 line (RFC 2045 6.8). */
const LINE_BYTES = 57;

/** The length in octets of `n` bytes in base64 lines of 76 characters joined by CRLF. */
export function base64LinesLength(n: number): number {
  if (n === 0) return 0;
  const chars = 4 * Math.ceil(n / 3);
  return chars + 2 * (Math.ceil(chars / 76) - 1);
}

/**
 * `source` in base64, lines of 76 characters joined by CRLF (no CRLF after the last), chunk by
 * chunk: bytes that do not fill a line wait for the next chunk.
 */
export class Base64Lines extends Stream<Uint8Array> {
  private carry = new Uint8Array(0);
  private started = false;
  private done = false;
  constructor(private readonly source: Stream<Uint8Array>) {
    super();
  }
  pollNext(cx: Context): Poll<Uint8Array | typeof Done> {
    for (;;) {
      if (this.done) return Done;
      const r = this.source.pollNext(cx);
      if (r === Pending) return Pending;
      if (r === Done) {
        this.done = true;
        if (this.carry.length === 0) return Done;
        return this.lines(this.carry);
      }
      let bytes: Uint8Array = r;
      if (this.carry.length > 0) {
        bytes = new Uint8Array(this.carry.length + r.length);
        bytes.set(this.carry);
        bytes.set(r, this.carry.length);
      }
      const whole = bytes.length - (bytes.length % LINE_BYTES);
      this.carry = bytes.slice(whole);
      if (whole > 0) return this.lines(bytes.subarray(0, whole));
    }
  }
  private lines(bytes: Uint8Array): Uint8Array {
    const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64");
    let out = this.started ? "\r\n" : "";
    this.started = true;
    for (let i = 0; i < text.length; i += 76) {
      out += (i > 0 ? "\r\n" : "") + text.slice(i, i + 76);
    }
    return Buffer.from(out, "latin1");
  }
  override drop(): void {
    this.done = true;
    this.source.drop();
  }
}

/** A part of a concatenated body: bytes, or a function opening a stream. */
export type BodyPart = Uint8Array | (() => Stream<Uint8Array>);

/** The parts one after another, each stream opened only when its turn comes. */
export class ConcatChunks extends Stream<Uint8Array> {
  private index = 0;
  private current: Stream<Uint8Array> | null = null;
  constructor(private readonly parts: readonly BodyPart[]) {
    super();
  }
  pollNext(cx: Context): Poll<Uint8Array | typeof Done> {
    for (;;) {
      if (this.current !== null) {
        const r = this.current.pollNext(cx);
        if (r !== Done) return r;
        this.current = null;
      }
      const part = this.parts[this.index++];
      if (part === undefined) {
        this.index = this.parts.length;
        return Done;
      }
      if (part instanceof Uint8Array) {
        if (part.length > 0) return part;
        continue;
      }
      this.current = part();
    }
  }
  override drop(): void {
    this.current?.drop();
    this.current = null;
    this.index = this.parts.length;
  }
}
