/**
 * Test harness for SMTP dialogues: an in-memory transport that records every write (and can cap
 * each read to split replies), a scripted server task, and `dialogue()` that runs both.
 */
import assert from "node:assert/strict";
import {
  BrokenPipe,
  BufReader,
  type Context,
  type DuplexStream,
  duplex,
  type Future,
  future,
  Pending,
  type Poll,
  Runtime,
  shutdown,
  spawn,
  writeAll,
} from "../../src/index.js";
import {
  SmtpClient,
  SmtpError,
  type SmtpOptions,
  type SmtpTransport,
} from "../../src/smtp/index.js";

export const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
// ---------------------------------------------------------------------------------------------
// Harness: an in-memory transport that records every write, and a scripted server task.

/** One event on the wire, in the order it happened. */
export interface WireEvent {
  readonly from: "client" | "server";
  /** The bytes as latin1 text (one entry per accepted `pollWrite` of the client). */
  readonly text: string;
}

/** The client's end: a duplex end that logs each accepted write and can cap each read's size. */
export class RecordingTransport implements SmtpTransport {
  dropped = false;
  readonly bytes: number[] = [];
  private readCount = 0;
  private readTotal = 0;
  private writeCount = 0;
  constructor(
    private readonly inner: DuplexStream,
    private readonly log: WireEvent[],
    /**
     * Caps the size of the i-th read, given the bytes read so far (to split replies at chosen
     * byte boundaries).
     */
    private readonly readSize?: (i: number, offset: number) => number,
    /** Caps how much of the i-th write is accepted (partial writes). */
    private readonly writeSize?: (i: number) => number,
  ) {}
  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    if (this.readSize === undefined || buf.length === 0) return this.inner.pollRead(cx, buf);
    const n = Math.max(1, Math.min(buf.length, this.readSize(this.readCount, this.readTotal)));
    const r = this.inner.pollRead(cx, buf.subarray(0, n));
    if (r !== Pending) {
      this.readCount++;
      this.readTotal += r;
    }
    return r;
  }
  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    let offered = data;
    if (this.writeSize !== undefined && data.length > 0) {
      const n = Math.max(1, Math.min(data.length, this.writeSize(this.writeCount)));
      offered = data.subarray(0, n);
    }
    const r = this.inner.pollWrite(cx, offered);
    if (r !== Pending && r > 0) {
      this.writeCount++;
      const written = data.subarray(0, r);
      this.log.push({ from: "client", text: latin1(written) });
      for (const b of written) this.bytes.push(b);
    }
    return r;
  }
  pollFlush(cx: Context): Poll<void> {
    return this.inner.pollFlush(cx);
  }
  pollShutdown(cx: Context): Poll<void> {
    return this.inner.pollShutdown(cx);
  }
  drop(): void {
    this.dropped = true;
    this.inner.drop();
  }
  /** Everything the client wrote, as latin1 text. */
  get written(): string {
    return latin1(Uint8Array.from(this.bytes));
  }
}

export type Reply = string | readonly string[];

/** The server's side of a dialogue, for scripts. */
export class ScriptedServer {
  readonly reader: BufReader;
  /** Every line the server read, in order. */
  readonly lines: string[] = [];
  constructor(
    readonly io: DuplexStream,
    readonly log: WireEvent[],
  ) {
    this.reader = new BufReader(io);
  }

  /** Sends reply lines (each gets CRLF). */
  send(reply: Reply): Future<void> {
    const text = (typeof reply === "string" ? [reply] : reply).map((l) => `${l}\r\n`).join("");
    return this.sendRaw(text);
  }

  /** Sends raw text (latin1 bytes), all in one write. */
  sendRaw(text: string): Future<void> {
    const server = this;
    return future(function* () {
      yield* writeAll(server.io, Buffer.from(text, "latin1"));
      server.log.push({ from: "server", text });
    });
  }

  /** Reads one line (undefined at end of stream). */
  line(): Future<string | undefined> {
    const server = this;
    return future(function* () {
      const l = yield* server.reader.readLine();
      if (l !== undefined) server.lines.push(l);
      return l;
    });
  }

  /** Reads one line, checks it, and sends `reply` (if any). */
  expect(what: string | RegExp, reply?: Reply): Future<string> {
    const server = this;
    return future(function* () {
      const l = yield* server.line();
      if (l === undefined)
        throw new assert.AssertionError({ message: `expected ${what}, got EOF` });
      if (typeof what === "string") assert.equal(l, what);
      else assert.match(l, what);
      if (reply !== undefined) yield* server.send(reply);
      return l;
    });
  }

  /** Reads the DATA payload up to and including the "." line; returns its raw lines. */
  data(reply?: Reply): Future<string[]> {
    const server = this;
    return future(function* () {
      const out: string[] = [];
      for (;;) {
        const l = yield* server.line();
        if (l === undefined) throw new assert.AssertionError({ message: "EOF inside DATA" });
        if (l === ".") break;
        out.push(l);
      }
      if (reply !== undefined) yield* server.send(reply);
      return out;
    });
  }

  /** Greets and answers EHLO with `extensions`. */
  hello(extensions: readonly string[] = []): Future<void> {
    const server = this;
    return future(function* () {
      yield* server.send("220 mx.test ESMTP ready");
      const lines = ["mx.test greets you", ...extensions];
      yield* server.expect(
        /^EHLO /,
        lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}`),
      );
    });
  }

  /** Half-closes: the client reads end of stream. */
  hangUp(): Future<void> {
    return shutdown(this.io);
  }

  /** Reads until the client goes away. */
  drain(): Future<void> {
    const server = this;
    return future(function* () {
      while ((yield* server.line()) !== undefined) {}
    });
  }
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export interface DialogueResult<T> {
  outcome: Outcome<T>;
  log: WireEvent[];
  io: RecordingTransport;
  server: ScriptedServer;
  rt: Runtime;
}

export interface DialogueOptions {
  rt?: Runtime;
  capacity?: number;
  readSize?: (i: number, offset: number) => number;
  writeSize?: (i: number) => number;
}

/**
 * Runs `script` as the server task and `client` as the root; when the client part ends, drops the
 * client's end (so the server reads EOF) and waits for the server, whose failures are rethrown.
 */
export async function dialogue<T>(
  script: (s: ScriptedServer) => Future<void>,
  client: (io: RecordingTransport, rt: Runtime) => Future<T>,
  options: DialogueOptions = {},
): Promise<DialogueResult<T>> {
  const rt = options.rt ?? new Runtime();
  const [clientEnd, serverEnd] = duplex(options.capacity ?? 64 * 1024);
  const log: WireEvent[] = [];
  const io = new RecordingTransport(clientEnd, log, options.readSize, options.writeSize);
  const server = new ScriptedServer(serverEnd, log);
  const outcome = await rt.run(
    future(function* () {
      const serverTask = rt.spawn(
        future(function* () {
          try {
            yield* script(server);
            yield* server.drain();
          } catch (e) {
            // Never leave the client hanging on a failed script.
            serverEnd.drop();
            throw e;
          }
        }),
      );
      const outcome: Outcome<T> = yield* client(io, rt)
        .map((value): Outcome<T> => ({ ok: true, value }))
        .catch((error: unknown): Outcome<T> => ({ ok: false, error }));
      clientEnd.drop();
      yield* serverTask;
      return outcome;
    }),
  );
  return { outcome, log, io, server, rt };
}

export function failed<T>(outcome: Outcome<T>): unknown {
  if (outcome.ok) assert.fail(`expected an error, got ${String(outcome.value)}`);
  return outcome.error;
}

export function succeeded<T>(outcome: Outcome<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export function assertSmtpError(
  error: unknown,
  code: SmtpError["code"],
  replyCode?: number,
): asserts error is SmtpError {
  assert.ok(error instanceof SmtpError, `expected SmtpError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  if (replyCode !== undefined) assert.equal(error.replyCode, replyCode);
}

/** Lines the client wrote, in order. */
export function clientLines(log: readonly WireEvent[]): string[] {
  return log
    .filter((e) => e.from === "client")
    .map((e) => e.text)
    .join("")
    .split("\r\n")
    .filter((l) => l !== "");
}

/** The log as a compact trace: "C:MAIL FROM:<a@x>" for each client write, "S:250" per reply. */
export function trace(log: readonly WireEvent[]): string[] {
  return log.map((e) =>
    e.from === "client"
      ? `C:${e.text.replace(/\r\n$/, "").replaceAll("\r\n", "|")}`
      : `S:${e.text.slice(0, 3)}`,
  );
}

/** Handshake then `body(client)`. */
export function withClient<T>(
  body: (client: SmtpClient) => Future<T>,
  options: SmtpOptions = {},
): (io: RecordingTransport) => Future<{ client: SmtpClient; value: T }> {
  return (io) =>
    future(function* () {
      const client = yield* SmtpClient.handshake(io, options);
      const value = yield* body(client);
      return { client, value };
    });
}

/** Handshake, then one `send`; the error (if any) and the client are both returned. */
export function sendOnce(
  envelope: Parameters<SmtpClient["send"]>[0],
  options: SmtpOptions = {},
): (io: RecordingTransport) => Future<{ client: SmtpClient; result: Outcome<unknown> }> {
  return (io) =>
    future(function* () {
      const client = yield* SmtpClient.handshake(io, options);
      const result = yield* client
        .send(envelope)
        .map((value): Outcome<unknown> => ({ ok: true, value }))
        .catch((error: unknown): Outcome<unknown> => ({ ok: false, error }));
      return { client, result };
    });
}

export const MSG = {
  from: "alice@example.com",
  to: ["bob@example.com"],
  data: "Subject: hi\r\n\r\nhello\r\n",
};

// ---------------------------------------------------------------------------------------------
// A small in-memory SMTP server for pool and multi-transaction tests.

/** One message the in-memory server accepted (data unstuffed, lines joined with CRLF). */
export interface Received {
  readonly mail: string;
  readonly to: readonly string[];
  readonly data: string;
  readonly connection: number;
}

export interface MemoryServerOptions {
  /** EHLO keywords (default PIPELINING, 8BITMIME, SIZE 10000000). */
  readonly extensions?: readonly string[];
  /** At most this many RCPTs per transaction; the next ones get 452 4.5.3. */
  readonly maxRecipients?: number;
  /** A reply line for a RCPT (undefined: "250 ok"). */
  readonly rcpt?: (address: string) => string | undefined;
  /**
   * Called at each command; return "drop" to close the connection without a reply, "silent" to
   * never answer it, or a reply line to send instead of the normal one.
   */
  readonly fault?: (command: string, connection: number) => "drop" | "silent" | string | undefined;
  /** Duplex capacity per direction (default 64 KiB). */
  readonly capacity?: number;
}

/**
 * An SMTP server speaking over in-memory duplexes: `connect` plugs into `SmtpOptions.connect`;
 * every connection runs as a task on the runtime polling the client.
 */
export class MemoryServer {
  readonly received: Received[] = [];
  /** Every command line seen, per connection. */
  readonly commands: string[][] = [];
  /** Server ends of connections still open. */
  open = 0;

  constructor(private readonly options: MemoryServerOptions = {}) {}

  get connections(): number {
    return this.commands.length;
  }

  readonly connect = (
    _addr: { readonly host: string; readonly port: number },
    _options: { readonly timeout: number },
  ): Future<SmtpTransport> => {
    const server = this;
    return future(function* () {
      const [clientEnd, serverEnd] = duplex(server.options.capacity ?? 64 * 1024);
      const id = server.commands.length;
      server.commands.push([]);
      server.open++;
      spawn(
        session(server, server.options, serverEnd, id).finally(() => {
          server.open--;
          serverEnd.drop();
        }),
        { name: `memory smtp session ${id}` },
      );
      return clientEnd;
    });
  };
}

function unstuff(lines: readonly string[]): string {
  return lines.map((l) => (l.startsWith(".") ? l.slice(1) : l)).join("\r\n");
}

const session = (
  server: MemoryServer,
  options: MemoryServerOptions,
  io: DuplexStream,
  id: number,
): Future<void> =>
  future(function* () {
    const reader = new BufReader(io);
    const say = (line: string | readonly string[]) =>
      writeAll(
        io,
        Buffer.from(
          (typeof line === "string" ? [line] : line).map((l) => `${l}\r\n`).join(""),
          "latin1",
        ),
      );
    const extensions = options.extensions ?? ["PIPELINING", "8BITMIME", "SIZE 10000000"];
    let mail: string | null = null;
    let to: string[] = [];
    try {
      yield* say("220 memory.test ESMTP");
      for (;;) {
        const line = yield* reader.readLine();
        if (line === undefined) return;
        server.commands[id]!.push(line);
        const verb = line.slice(0, 4).toUpperCase();
        const fault = options.fault?.(line, id);
        if (fault === "drop") return;
        if (fault === "silent") continue;
        if (fault !== undefined) {
          yield* say(fault);
          if (fault.startsWith("421")) return;
          continue;
        }
        if (verb === "EHLO") {
          const lines = ["memory.test", ...extensions];
          yield* say(lines.map((l, i) => `250${i === lines.length - 1 ? " " : "-"}${l}`));
        } else if (verb === "HELO" || verb === "NOOP") yield* say("250 ok");
        else if (verb === "MAIL") {
          mail = line;
          to = [];
          yield* say("250 2.1.0 ok");
        } else if (verb === "RCPT") {
          const address = /<([^>]*)>/.exec(line)?.[1] ?? "";
          if (mail === null) yield* say("503 5.5.1 MAIL first");
          else if (options.maxRecipients !== undefined && to.length >= options.maxRecipients) {
            yield* say("452 4.5.3 Too many recipients");
          } else {
            const reply = options.rcpt?.(address) ?? "250 2.1.5 ok";
            if (reply.startsWith("2")) to.push(address);
            yield* say(reply);
          }
        } else if (verb === "DATA") {
          if (mail === null || to.length === 0) {
            yield* say("503 5.5.1 no valid recipients");
            continue;
          }
          yield* say("354 go ahead");
          const lines: string[] = [];
          for (;;) {
            const l = yield* reader.readLine();
            if (l === undefined) return;
            if (l === ".") break;
            lines.push(l);
          }
          const end = options.fault?.(".", id);
          if (end === "drop") return;
          if (end !== undefined) {
            yield* say(end);
            if (end.startsWith("421")) return;
          } else {
            server.received.push({ mail, to, data: unstuff(lines), connection: id });
            yield* say("250 2.0.0 queued");
          }
          mail = null;
          to = [];
        } else if (verb === "RSET") {
          mail = null;
          to = [];
          yield* say("250 2.0.0 reset");
        } else if (verb === "QUIT") {
          yield* say("221 2.0.0 bye");
          return;
        } else yield* say("502 5.5.2 unknown command");
      }
    } catch (error) {
      // The client went away mid-write: the session is over.
      if (!(error instanceof BrokenPipe)) throw error;
    }
  });
