/**
 * Semantic edge cases of the SMTP client and pool, from an audit against RFC 5321 and the TSDoc:
 * - an empty chunk of a streamed body between a CR and its LF adds no line;
 * - a 421 reply to the final dot is a refusal, not an unknown delivery; the pool reports it (and a
 *   451 there) failed without a retry, as `retries` covers only failures before the final dot;
 * - a connection that a failed pooled send leaves at its message budget is retired, not left open;
 * - `quit()` dropped before its first poll closes the connection, as its cancel-safety note says;
 * - the data block limit bounds each write of a large in-memory message (RFC 5321 4.5.3.2.5), not
 *   the whole of it;
 * - STARTTLS discards what came with its 220 (RFC 3207).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { type Future, future, Runtime, Stream, sleep, TimeoutError } from "../../src/index.js";
import {
  DataEncoder,
  dataPayload,
  messageBody,
  SmtpClient,
  SmtpError,
  SmtpPool,
} from "../../src/smtp/index.js";
import {
  dialogue,
  MemoryServer,
  type MemoryServerOptions,
  succeeded,
  withClient,
} from "./scripted.js";

const enc = new TextEncoder();
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");
const concat = (parts: readonly Uint8Array[]) => latin1(Buffer.concat(parts));

// ---------------------------------------------------------------------------------------------
// DataEncoder: empty chunks

test("DataEncoder: an empty chunk between a CR and its LF adds no blank line", () => {
  const e = new DataEncoder();
  const out = [
    e.push(enc.encode("Subject: a\r")),
    e.push(new Uint8Array(0)),
    e.push(enc.encode("\nFrom: b\r\n\r\nbody")),
    e.end(),
  ];
  // A blank line here would end the headers early and turn "From: b" into body text.
  assert.equal(concat(out), "Subject: a\r\nFrom: b\r\n\r\nbody\r\n.\r\n");
});

test("DataEncoder: any split into chunks, empty ones included, encodes exactly like the whole (fast-check)", () => {
  const byte = fc.constantFrom(13, 10, 46, 65, 0xc3);
  fc.assert(
    fc.property(fc.array(fc.array(byte, { maxLength: 6 }), { maxLength: 12 }), (chunks) => {
      const e = new DataEncoder();
      const out = chunks.map((c) => e.push(Uint8Array.from(c)));
      out.push(e.end());
      assert.equal(concat(out), latin1(dataPayload(Uint8Array.from(chunks.flat()))));
    }),
  );
});

test("a streamed body yielding an empty chunk between CR and LF arrives with its headers intact", async () => {
  const body = messageBody(() =>
    Stream.from([
      enc.encode("Subject: a\r"),
      new Uint8Array(0),
      enc.encode("\nX-B: b\r\n\r\nhi\r\n"),
    ]),
  );
  const { value, server } = await session({}, (c) =>
    c.send({ from: "a@x.test", to: ["b@y.test"], data: body }),
  );
  assert.deepEqual(value.accepted, ["b@y.test"]);
  assert.equal(server.received[0]!.data, "Subject: a\r\nX-B: b\r\n\r\nhi");
});

// ---------------------------------------------------------------------------------------------
// 421 to the final dot

async function session<T>(
  serverOptions: MemoryServerOptions,
  body: (client: SmtpClient) => Future<T>,
): Promise<{ value: T; server: MemoryServer; client: SmtpClient }> {
  const server = new MemoryServer(serverOptions);
  let client: SmtpClient | undefined;
  const value = await new Runtime().run(
    future(function* () {
      client = yield* SmtpClient.connect({ connect: server.connect });
      const v = yield* body(client);
      yield* client.quit();
      return v;
    }),
  );
  return { value, server, client: client! };
}

test("a 421 reply to the final dot: a transient refusal, awaitingFinalReply is false", async () => {
  const { value, server, client } = await session(
    { fault: (line) => (line === "." ? "421 4.3.2 shutting down" : undefined) },
    (c) =>
      c
        .send({ from: "a@x.test", to: ["b@y.test"], data: "hi\r\n" })
        .map(() => assert.fail("the send should fail"))
        .catch((e: unknown) => e),
  );
  assert.ok(value instanceof SmtpError);
  assert.equal(value.replyCode, 421);
  assert.equal(value.command, "end of data");
  assert.equal(client.isClosed, true);
  assert.equal(client.awaitingFinalReply, false, "the server answered: the outcome is known");
  assert.equal(server.received.length, 0);
});

for (const reply of ["421 4.3.2 shutting down", "451 4.3.0 try again later"]) {
  test(`pool: a ${reply.slice(0, 3)} reply to the final dot is 'failed' (the server answered), not retried`, async () => {
    const server = new MemoryServer({ fault: (line) => (line === "." ? reply : undefined) });
    const pool = new SmtpPool({ connect: server.connect, retryDelay: 0 });
    const outcome = await new Runtime().run(
      future(function* () {
        const o = yield* pool.send({ from: "a@x.test", to: ["b@y.test"], data: "hi\r\n" });
        yield* pool.close();
        return o;
      }),
    );
    assert.equal(outcome.status, "failed", "not 'unknown': the server refused the message");
    assert.equal(outcome.attempts, 1, "`retries`: only failures before the final dot");
    assert.ok(outcome.status === "failed" && outcome.error instanceof SmtpError);
    assert.equal(outcome.error.replyCode, Number(reply.slice(0, 3)));
    assert.equal(outcome.error.command, "end of data");
    assert.equal(server.received.length, 0);
    assert.equal(server.connections, 1);
    assert.equal(server.open, 0, "no connection left open");
  });
}

test("a 421 to the final dot of a further transaction (452 split): those recipients are rejected, not unknown", async () => {
  let dots = 0;
  const { value } = await session(
    {
      maxRecipients: 1,
      fault: (line) => (line === "." && ++dots === 2 ? "421 4.3.2 shutting down" : undefined),
    },
    (c) => c.send({ from: "a@x.test", to: ["r0@y.test", "r1@y.test"], data: "hi\r\n" }),
  );
  assert.deepEqual(value.accepted, ["r0@y.test"]);
  assert.deepEqual(value.unknown, []);
  assert.deepEqual(
    value.rejected.map((r) => [r.recipient, r.error.replyCode]),
    [["r1@y.test", 421]],
  );
});

// ---------------------------------------------------------------------------------------------
// Pool: a failed send's connection at its budget

test("pool: a refused send on a connection at its message budget retires it (QUIT), none left open", async () => {
  const server = new MemoryServer({ rcpt: () => "550 5.1.1 no such user" });
  const pool = new SmtpPool({
    connect: server.connect,
    retryDelay: 0,
    maxMessagesPerConnection: 1,
  });
  const outcome = await new Runtime().run(
    future(function* () {
      const o = yield* pool.send({ from: "a@x.test", to: ["b@y.test"], data: "hi\r\n" });
      yield* pool.close();
      return o;
    }),
  );
  assert.equal(outcome.status, "failed");
  assert.equal(server.commands[0]!.at(-1), "QUIT");
  assert.equal(server.open, 0, "the connection was closed");
});

// ---------------------------------------------------------------------------------------------
// quit() dropped before its first poll

test("quit() dropped before its first poll closes the connection (its cancel-safety note)", async () => {
  const { outcome, io } = await dialogue(
    (s) => s.hello([]),
    withClient((c) =>
      future(function* () {
        c.quit().drop();
        return c.isClosed;
      }),
    ),
  );
  assert.equal(succeeded(outcome).value, true);
  assert.equal(io.dropped, true, "the transport was dropped");
});

test("quit() polled to the end still says QUIT before closing", async () => {
  const { outcome, server } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello([]);
        yield* s.expect("QUIT", "221 bye");
      }),
    withClient((c) =>
      future(function* () {
        yield* c.quit();
        return c.isClosed;
      }),
    ),
  );
  assert.equal(succeeded(outcome).value, true);
  assert.equal(server.lines.at(-1), "QUIT");
});

// ---------------------------------------------------------------------------------------------
// STARTTLS (RFC 3207): what arrived with the 220 is discarded

test("STARTTLS: replies injected after the 220 (before TLS) are discarded; the extensions come from the new EHLO", async () => {
  const { outcome, server } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["STARTTLS"]);
        yield* s.expect("STARTTLS");
        // A man in the middle appends a forged EHLO reply to the 220, in the same segment.
        yield* s.sendRaw("220 go ahead\r\n250-evil.test\r\n250 AUTH PLAIN\r\n");
        yield* s.expect(/^EHLO /, ["250-mx.test", "250 8BITMIME"]);
      }),
    withClient(
      (c) =>
        future(function* () {
          return { extensions: [...c.extensions.keys()], secure: c.secure };
        }),
      {
        upgrade: (io) =>
          future(function* () {
            return io;
          }),
      },
    ),
  );
  const { value } = succeeded(outcome);
  assert.deepEqual(value.extensions, ["8BITMIME"]);
  assert.equal(value.secure, true);
  assert.deepEqual(server.lines, ["EHLO localhost", "STARTTLS", "EHLO localhost"]);
});

// ---------------------------------------------------------------------------------------------
// The data block limit (RFC 5321 4.5.3.2.5: each TCP SEND, not the whole message)

/** A 256 KiB message in lines of 1000 characters. */
const BIG = `Subject: big\r\n\r\n${`${"x".repeat(998)}\r\n`.repeat(262)}`;

/** Greets, takes MAIL, RCPT and DATA, then reads the payload, pausing 50 ms every 8 lines. */
const slowReader =
  (stallAfter = Infinity) =>
  (s: import("./scripted.js").ScriptedServer) =>
    future(function* () {
      yield* s.hello([]);
      yield* s.expect(/^MAIL/, "250 ok");
      yield* s.expect(/^RCPT/, "250 ok");
      yield* s.expect("DATA", "354 go");
      for (let n = 1; ; n++) {
        const line = yield* s.line();
        if (line === undefined) return; // the client gave up
        if (line === ".") break;
        if (n >= stallAfter) yield* sleep(2 * 60 * 60 * 1000);
        if (n % 8 === 0) yield* sleep(50);
      }
      yield* s.send("250 queued");
    });

test("a large in-memory message that keeps moving over a slow link is not cut off by the data block limit", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const { outcome } = await dialogue(
    slowReader(),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io, { timeouts: { dataBlock: 1000 } });
        const start = rt.time.now();
        const result = yield* client.send({ ...MSG_TO, data: BIG });
        return { result, took: rt.time.now() - start };
      }),
    { rt, capacity: 4096 },
  );
  const { result, took } = succeeded(outcome);
  assert.deepEqual(result.accepted, ["b@y.test"]);
  assert.ok(took > 1000, `the transfer took ${took} ms, longer than one data block limit`);
});

test("a server that stops reading mid-message: the data block limit still ends the send", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const { outcome } = await dialogue(
    slowReader(20),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io, { timeouts: { dataBlock: 1000 } });
        const e = yield* client
          .send({ ...MSG_TO, data: BIG })
          .map(() => assert.fail("the send should time out"))
          .catch((error: unknown) => error);
        return { e, closed: client.isClosed, at: rt.time.now() };
      }),
    { rt, capacity: 4096 },
  );
  const { e, closed, at } = succeeded(outcome);
  assert.ok(e instanceof TimeoutError, String(e));
  assert.equal(e.ms, 1000);
  assert.equal(closed, true);
  assert.ok(at < 2 * 60 * 60 * 1000, `gave up at ${at} ms, before the server woke`);
});

const MSG_TO = { from: "a@x.test", to: ["b@y.test"] };
