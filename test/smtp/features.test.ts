import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { type Context, type Future, future, type Poll, Runtime, Stream } from "../../src/index.js";
import {
  BodyConsumedError,
  buildMessage,
  DataEncoder,
  dataPayload,
  fileChunks,
  type MessageBody,
  messageBody,
  SmtpCapabilityError,
  SmtpClient,
  SmtpError,
  type SmtpOptions,
  SmtpPool,
  type SmtpTransport,
} from "../../src/smtp/index.js";
import { MemoryServer, type MemoryServerOptions } from "./scripted.js";

const enc = new TextEncoder();
const latin1 = (b: Uint8Array) => Buffer.from(b).toString("latin1");

/** Connects to a fresh in-memory server, runs `body`, says QUIT. */
async function session<T>(
  serverOptions: MemoryServerOptions,
  body: (client: SmtpClient) => Future<T>,
  options: SmtpOptions = {},
): Promise<{ value: T; server: MemoryServer; client: SmtpClient }> {
  const server = new MemoryServer(serverOptions);
  let client: SmtpClient | undefined;
  const value = await new Runtime().run(
    future(function* () {
      client = yield* SmtpClient.connect({ connect: server.connect, ...options });
      const v = yield* body(client);
      yield* client.quit();
      return v;
    }),
  );
  return { value, server, client: client! };
}

const attempt = <T>(f: Future<T>): Future<{ ok: true; value: T } | { ok: false; error: unknown }> =>
  f
    .map((value) => ({ ok: true as const, value }))
    .catch((error: unknown) => ({ ok: false as const, error }));

const recipients = (n: number) => Array.from({ length: n }, (_, i) => `r${i}@y.test`);
const MSG = "Subject: hi\r\n\r\nhello\r\n";

// ---------------------------------------------------------------------------------------------
// 452: too many recipients splits the batch

for (const pipelining of [true, false]) {
  test(`452 too many recipients (${pipelining ? "pipelined" : "one by one"}): the rest go in further transactions on the same connection`, async () => {
    const { value, server } = await session(
      { maxRecipients: 2, extensions: pipelining ? ["PIPELINING"] : [] },
      (c) => c.send({ from: "a@x.test", to: recipients(5), data: MSG }),
    );
    assert.deepEqual(value.accepted, recipients(5));
    assert.deepEqual(value.rejected, []);
    assert.deepEqual(value.unknown, []);
    assert.equal(value.replies.length, 3);
    assert.equal(server.connections, 1);
    assert.deepEqual(
      server.received.map((m) => m.to),
      [recipients(5).slice(0, 2), recipients(5).slice(2, 4), recipients(5).slice(4)],
    );
    for (const m of server.received) assert.equal(m.data, "Subject: hi\r\n\r\nhello");
    if (!pipelining) {
      // One by one, the client stops at the first 452 instead of trying the rest.
      const rcpts = server.commands[0]!.filter((l) => l.startsWith("RCPT"));
      assert.equal(rcpts.length, 5 + 2, "two RCPTs got a 452 and were sent again");
    }
  });
}

test("452 with refused and accepted recipients: partial acceptance is success for the accepted ones", async () => {
  const { value, server } = await session(
    { maxRecipients: 2, rcpt: (a) => (a === "r1@y.test" ? "550 5.1.1 no such user" : undefined) },
    (c) => c.send({ from: "a@x.test", to: recipients(4), data: MSG }),
  );
  assert.deepEqual(value.accepted, ["r0@y.test", "r2@y.test", "r3@y.test"]);
  assert.deepEqual(
    value.rejected.map((r) => [r.recipient, r.error.replyCode]),
    [["r1@y.test", 550]],
  );
  assert.deepEqual(
    server.received.map((m) => m.to),
    [["r0@y.test", "r2@y.test"], ["r3@y.test"]],
  );
});

test("452 for every recipient: a transient SmtpError, RSET, nothing sent", async () => {
  const { value, server } = await session({ maxRecipients: 0 }, (c) =>
    attempt(c.send({ from: "a@x.test", to: recipients(2), data: MSG })),
  );
  assert.ok(!value.ok);
  assert.ok(value.error instanceof SmtpError);
  assert.equal(value.error.replyCode, 452);
  assert.equal(value.error.transient, true);
  assert.equal(server.received.length, 0);
  assert.ok(server.commands[0]!.includes("RSET"));
});

test("a 452 with another enhanced code (4.2.2 mailbox full) refuses only that recipient", async () => {
  const { value, server } = await session(
    { rcpt: (a) => (a === "r0@y.test" ? "452 4.2.2 mailbox full" : undefined) },
    (c) => c.send({ from: "a@x.test", to: recipients(3), data: MSG }),
  );
  assert.deepEqual(value.accepted, ["r1@y.test", "r2@y.test"]);
  assert.deepEqual(
    value.rejected.map((r) => [r.recipient, r.error.enhancedCode]),
    [["r0@y.test", "4.2.2"]],
  );
  assert.equal(server.received.length, 1);
});

test("a further transaction refused at DATA: the send still succeeds for the first batch", async () => {
  let datas = 0;
  const { value, client } = await session(
    {
      maxRecipients: 2,
      fault: (line) => (line === "DATA" && ++datas === 2 ? "554 5.3.0 no" : undefined),
    },
    (c) => c.send({ from: "a@x.test", to: recipients(3), data: MSG }),
  );
  assert.deepEqual(value.accepted, recipients(2));
  assert.deepEqual(
    value.rejected.map((r) => [r.recipient, r.error.replyCode, r.error.command]),
    [["r2@y.test", 554, "DATA"]],
  );
  assert.equal(client.isClosed, true, "quit at the end");
});

for (const pipelining of [true, false]) {
  test(`a further transaction refused at MAIL (${pipelining ? "pipelined" : "one by one"}): the send succeeds for the first batch, the rest rejected with the MAIL reply, RSET, session usable`, async () => {
    let mails = 0;
    const { value, server } = await session(
      {
        maxRecipients: 2,
        extensions: pipelining ? ["PIPELINING"] : [],
        fault: (line) => (line.startsWith("MAIL") && ++mails === 2 ? "451 4.3.2 busy" : undefined),
      },
      (c) =>
        future(function* () {
          const first = yield* c.send({ from: "a@x.test", to: recipients(4), data: MSG });
          const closed = c.isClosed;
          const again = yield* c.send({ from: "a@x.test", to: ["z@y.test"], data: MSG });
          return { first, closed, again };
        }),
    );
    assert.deepEqual(value.first.accepted, recipients(2));
    assert.deepEqual(
      value.first.rejected.map((r) => [r.recipient, r.error.replyCode, r.error.command]),
      [
        ["r2@y.test", 451, "MAIL FROM:<a@x.test>"],
        ["r3@y.test", 451, "MAIL FROM:<a@x.test>"],
      ],
    );
    assert.equal(value.first.rejected[0]!.error.transient, true);
    assert.deepEqual(value.first.unknown, []);
    assert.equal(value.first.replies.length, 1);
    assert.equal(value.closed, false, "a refusal leaves the session usable");
    assert.ok(server.commands[0]!.includes("RSET"), "the refused transaction is reset");
    assert.deepEqual(value.again.accepted, ["z@y.test"]);
    assert.deepEqual(
      server.received.map((m) => m.to),
      [recipients(2), ["z@y.test"]],
    );
  });

  test(`a further transaction where every recipient is refused (${pipelining ? "pipelined" : "one by one"}): the first batch accepted, the others rejected with their own replies, RSET`, async () => {
    let r1 = 0;
    const { value, server } = await session(
      {
        extensions: pipelining ? ["PIPELINING"] : [],
        // First transaction: r0 accepted, r1 gets 452 (so r1..r3 go on); second: r1 is refused
        // for good, r2 gets 452 again (so r3 is not even tried one by one).
        fault: (line) => {
          if (!line.startsWith("RCPT") || line === "RCPT TO:<r0@y.test>") return undefined;
          if (line === "RCPT TO:<r1@y.test>" && ++r1 === 2) return "550 5.1.1 no such user";
          return "452 4.5.3 too many recipients";
        },
      },
      (c) =>
        future(function* () {
          const r = yield* c.send({ from: "a@x.test", to: recipients(4), data: MSG });
          return { r, closed: c.isClosed };
        }),
    );
    assert.deepEqual(value.r.accepted, ["r0@y.test"]);
    assert.deepEqual(
      value.r.rejected.map((r) => [r.recipient, r.error.replyCode]),
      [
        ["r1@y.test", 550],
        ["r2@y.test", 452],
        ["r3@y.test", 452],
      ],
    );
    assert.equal(value.r.rejected[1]!.error.command, "RCPT TO:<r2@y.test>");
    assert.equal(value.closed, false, "refusals leave the session usable");
    const txs = server.commands[0]!.filter((l) => l.startsWith("MAIL")).length;
    assert.equal(txs, 2, "no third transaction once nobody was accepted");
    assert.equal(
      server.commands[0]!.filter((l) => l === "DATA").length,
      1,
      "no DATA without recipients",
    );
    assert.equal(server.commands[0]!.at(-2), "RSET");
    assert.equal(server.received.length, 1);
  });
}

test("a further transaction lost after its final dot: those recipients are `unknown`, the first batch accepted", async () => {
  let dots = 0;
  const { value, client, server } = await session(
    { maxRecipients: 2, fault: (line) => (line === "." && ++dots === 2 ? "drop" : undefined) },
    (c) =>
      future(function* () {
        const r = yield* c.send({ from: "a@x.test", to: recipients(4), data: MSG });
        return { r, closed: c.isClosed };
      }),
  );
  assert.deepEqual(value.r.accepted, recipients(2));
  assert.deepEqual(value.r.unknown, recipients(4).slice(2));
  assert.deepEqual(value.r.rejected, []);
  assert.equal(value.closed, true, "the lost connection is closed");
  assert.equal(client.awaitingFinalReply, false);
  assert.equal(server.received.length, 1);
});

test("a further transaction lost before its final dot: those recipients are rejected (SmtpError with a cause)", async () => {
  let mails = 0;
  const { value } = await session(
    {
      maxRecipients: 1,
      fault: (line) => (line.startsWith("MAIL") && ++mails === 2 ? "drop" : undefined),
    },
    (c) => c.send({ from: "a@x.test", to: recipients(2), data: MSG }),
  );
  assert.deepEqual(value.accepted, ["r0@y.test"]);
  assert.deepEqual(
    value.rejected.map((r) => r.recipient),
    ["r1@y.test"],
  );
  assert.ok(value.rejected[0]!.error instanceof SmtpError);
});

// ---------------------------------------------------------------------------------------------
// SMTPUTF8, SIZE, 8BITMIME

test("SMTPUTF8: a non-ASCII address needs the extension; MAIL carries SMTPUTF8", async () => {
  const utf8 = {
    from: "jörg@bücher.test",
    to: ["андрей@почта.test"],
    data: "Subject: x\r\n\r\nhi\r\n",
  };
  const withExt = await session({ extensions: ["SMTPUTF8", "8BITMIME"] }, (c) => c.send(utf8));
  assert.deepEqual(withExt.value.accepted, ["андрей@почта.test"]);
  assert.equal(withExt.server.received[0]!.mail, "MAIL FROM:<jörg@bücher.test> SMTPUTF8");
  const without = await session({ extensions: ["8BITMIME"] }, (c) =>
    future(function* () {
      const r = yield* attempt(c.send(utf8));
      // The session is still usable: nothing was sent.
      const after = yield* c.send({ from: "a@x.test", to: ["b@y.test"], data: MSG });
      return { r, after };
    }),
  );
  assert.ok(!without.value.r.ok);
  assert.ok(without.value.r.error instanceof SmtpCapabilityError);
  assert.equal(without.value.r.error.requirement, "SMTPUTF8");
  assert.deepEqual(without.value.after.accepted, ["b@y.test"]);
  assert.ok(!without.server.commands[0]!.some((l) => l.includes("jörg") || l.includes("bcher")));
});

test("SIZE: SIZE=n declared; a message over the server's limit is refused before MAIL", async () => {
  const big = `Subject: big\r\n\r\n${"x".repeat(200)}\r\n`;
  const { value, server } = await session({ extensions: ["SIZE 100", "PIPELINING"] }, (c) =>
    future(function* () {
      const r = yield* attempt(c.send({ from: "a@x.test", to: ["b@y.test"], data: big }));
      const ok = yield* c.send({ from: "a@x.test", to: ["b@y.test"], data: MSG });
      return { r, ok };
    }),
  );
  assert.ok(!value.r.ok);
  assert.ok(value.r.error instanceof SmtpCapabilityError);
  assert.equal(value.r.error.requirement, "SIZE");
  assert.match(value.r.error.message, new RegExp(`${big.length} octets.*at most 100`));
  const mails = server.commands[0]!.filter((l) => l.startsWith("MAIL"));
  assert.deepEqual(mails, [`MAIL FROM:<a@x.test> SIZE=${MSG.length}`]);
  assert.deepEqual(value.ok.accepted, ["b@y.test"]);
});

test("8BITMIME: a streamed body of unknown content with 8-bit bytes and no 8BITMIME: typed error, connection closed mid-DATA", async () => {
  const body = messageBody(() =>
    Stream.from([enc.encode("Subject: x\r\n\r\nascii\r\n"), enc.encode("ü\r\n")]),
  );
  const { value, server } = await session({ extensions: [] }, (c) =>
    future(function* () {
      const r = yield* attempt(c.send({ from: "a@x.test", to: ["b@y.test"], data: body }));
      return { r, closed: c.isClosed };
    }),
  );
  assert.ok(!value.r.ok);
  assert.ok(value.r.error instanceof SmtpCapabilityError);
  assert.equal(value.r.error.requirement, "8BITMIME");
  assert.equal(value.closed, true);
  assert.equal(server.received.length, 0, "the server never saw a final dot");
});

test("the pool reports a capability error as failed after one attempt (never retried)", async () => {
  const server = new MemoryServer({ extensions: ["SIZE 10"] });
  const pool = new SmtpPool({ connect: server.connect, retryDelay: 0 });
  const outcome = await new Runtime().run(
    future(function* () {
      const o = yield* pool.send({ from: "a@x.test", to: ["b@y.test"], data: MSG });
      yield* pool.close();
      return o;
    }),
  );
  assert.equal(outcome.status, "failed");
  assert.equal(outcome.attempts, 1);
  assert.ok(outcome.status === "failed" && outcome.error instanceof SmtpCapabilityError);
});

// ---------------------------------------------------------------------------------------------
// Streaming: DataEncoder across chunk boundaries, base64 attachments from files and streams

/** Splits `data` at the given cut points (sorted, deduplicated, inside the array). */
function split(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) {
    out.push(data.subarray(at, p));
    at = p;
  }
  out.push(data.subarray(at));
  return out;
}

test("DataEncoder: any split of the input into chunks encodes exactly like the whole (fast-check)", () => {
  const piece = fc.constantFrom("a", ".", "..", "\r", "\n", "\r\n", "\r\n.\r\n", "ü", " ");
  fc.assert(
    fc.property(
      fc.array(piece, { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 12 }),
      (parts, cuts) => {
        const data = enc.encode(parts.join(""));
        const e = new DataEncoder();
        const out = [...split(data, cuts).map((c) => latin1(e.push(c))), latin1(e.end())].join("");
        assert.equal(out, latin1(dataPayload(data)));
      },
    ),
    { numRuns: 300 },
  );
  // Every byte boundary of one tricky input.
  const tricky = enc.encode("a\r\n.b\r\r\n..\n.\r\n.");
  for (let i = 0; i <= tricky.length; i++) {
    const e = new DataEncoder();
    const out =
      latin1(e.push(tricky.subarray(0, i))) + latin1(e.push(tricky.subarray(i))) + latin1(e.end());
    assert.equal(out, latin1(dataPayload(tricky)), `split at ${i}`);
  }
});

/** The decoded bytes of the base64 attachment named `name` in a received message. */
function attachmentBytes(data: string, name: string): Buffer {
  const start = data.indexOf(`filename="${name}"`);
  assert.ok(start >= 0, `attachment ${name} present`);
  const body = data.slice(data.indexOf("\r\n\r\n", start) + 4);
  const end = body.indexOf("\r\n--");
  const lines = body.slice(0, end).split("\r\n");
  for (const l of lines) assert.ok(l.length <= 76, `base64 line of ${l.length} characters`);
  return Buffer.from(lines.join(""), "base64");
}

/** A transport wrapper recording the largest single write. */
class WriteSizes implements SmtpTransport {
  largest = 0;
  total = 0;
  constructor(private readonly inner: SmtpTransport) {}
  pollRead(cx: Context, buf: Uint8Array): Poll<number> {
    return this.inner.pollRead(cx, buf);
  }
  pollWrite(cx: Context, data: Uint8Array): Poll<number> {
    this.largest = Math.max(this.largest, data.length);
    this.total += data.length;
    return this.inner.pollWrite(cx, data);
  }
  pollFlush(cx: Context): Poll<void> {
    return this.inner.pollFlush(cx);
  }
  pollShutdown(cx: Context): Poll<void> {
    return this.inner.pollShutdown(cx);
  }
  drop(): void {
    this.inner.drop?.();
  }
}

test("a file attachment is streamed: never written whole, backpressure from a small pipe, bytes intact", async () => {
  const dir = mkdtempSync(join(tmpdir(), "waker-smtp-"));
  try {
    const path = join(dir, "big.bin");
    const content = randomBytes(1_000_003);
    writeFileSync(path, content);
    const message = buildMessage({
      from: "a@x.test",
      to: ["b@y.test"],
      subject: "a big file",
      text: "see attached\n.dot line",
      attachments: [{ filename: "big.bin", path, size: content.length }],
    });
    const body = message.data as MessageBody;
    assert.equal(typeof body.open, "function", "a streamed message");
    assert.equal(body.eightBit, false);
    let sizes: WriteSizes | undefined;
    const server = new MemoryServer({ capacity: 4096, extensions: ["SIZE 5000000", "PIPELINING"] });
    const result = await new Runtime().run(
      future(function* () {
        const client = yield* SmtpClient.connect({
          connect: (addr, o) =>
            server.connect(addr, o).map((io) => {
              sizes = new WriteSizes(io);
              return sizes;
            }),
        });
        const r = yield* client.send(message);
        yield* client.quit();
        return r;
      }),
    );
    assert.deepEqual(result.accepted, ["b@y.test"]);
    const received = server.received[0]!;
    assert.ok(attachmentBytes(received.data, "big.bin").equals(content), "the file arrives intact");
    assert.match(received.data, /\r\n\.dot line|=2Edot line|\.dot line/);
    const mail = received.mail;
    assert.equal(mail, `MAIL FROM:<a@x.test> SIZE=${body.size}`);
    assert.ok(body.size! > content.length, "SIZE counts the encoded message");
    // The wire: the whole message went out, but never more than one chunk (64 KiB of file,
    // ~88 KiB encoded, doubled at most by dot-stuffing) in one write.
    assert.ok(sizes!.total > 1_300_000, `${sizes!.total} bytes written`);
    assert.ok(sizes!.largest < 200_000, `largest write ${sizes!.largest}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Stream attachments: chunk sizes do not matter; a one-shot Stream cannot be sent twice, an opener can", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uint8Array({ maxLength: 600 }),
      fc.array(fc.nat(), { maxLength: 8 }),
      async (bytes, cuts) => {
        const message = buildMessage({
          from: "a@x.test",
          to: ["b@y.test"],
          text: "hi",
          attachments: [{ filename: "s.bin", content: Stream.from(split(bytes, cuts)) }],
        });
        const { server } = await session({}, (c) => c.send(message));
        assert.ok(attachmentBytes(server.received[0]!.data, "s.bin").equals(Buffer.from(bytes)));
      },
    ),
    { numRuns: 40 },
  );
  const bytes = randomBytes(1000);
  const chunks = () => Stream.from(split(bytes, [10, 300, 301, 999]));
  const twice = (content: Stream<Uint8Array> | (() => Stream<Uint8Array>)) =>
    session({ maxRecipients: 1 }, (c) =>
      c.send(
        buildMessage({
          from: "a@x.test",
          to: ["b@y.test", "c@y.test"],
          attachments: [{ filename: "s.bin", content }],
        }),
      ),
    );
  const once = await twice(chunks());
  assert.deepEqual(once.value.accepted, ["b@y.test"]);
  assert.equal(once.value.rejected[0]!.recipient, "c@y.test");
  assert.ok(once.value.rejected[0]!.error.cause instanceof BodyConsumedError);
  const reopened = await twice(chunks);
  assert.deepEqual(reopened.value.accepted, ["b@y.test", "c@y.test"]);
  for (const m of reopened.server.received)
    assert.ok(attachmentBytes(m.data, "s.bin").equals(bytes));
});

test("fileChunks reads a file in bounded chunks; a missing file is an IoError when sent", async () => {
  const dir = mkdtempSync(join(tmpdir(), "waker-smtp-"));
  try {
    const path = join(dir, "f.txt");
    writeFileSync(path, "x".repeat(10_000));
    const sizes = await new Runtime().run(
      fileChunks(path, 4096)
        .map((c) => c.length)
        .collect(),
    );
    assert.deepEqual(sizes, [4096, 4096, 1808]);
    const { value } = await session({}, (c) =>
      future(function* () {
        const r = yield* attempt(
          c.send(
            buildMessage({
              from: "a@x.test",
              to: ["b@y.test"],
              attachments: [{ filename: "gone", path: join(dir, "missing") }],
            }),
          ),
        );
        return { r, closed: c.isClosed };
      }),
    );
    assert.ok(!value.r.ok);
    assert.equal((value.r.error as { code?: string }).code, "ENOENT");
    assert.equal(value.closed, true, "mid-DATA: the connection is closed, the server discards it");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("buildMessage: exactly one of content and path; bad sizes are typed errors", () => {
  const base = { from: "a@x.test", to: ["b@y.test"] };
  assert.throws(
    () => buildMessage({ ...base, attachments: [{ filename: "a" }] }),
    /give exactly one of content and path/,
  );
  assert.throws(
    () => buildMessage({ ...base, attachments: [{ filename: "a", path: "/x", content: "y" }] }),
    /give exactly one of content and path/,
  );
  assert.throws(
    () => buildMessage({ ...base, attachments: [{ filename: "a", path: "/x", size: -1 }] }),
    /size must be an integer >= 0/,
  );
  assert.throws(() => messageBody(42 as never), /expected a function/);
});

test("a refusal followed by a lost RSET: the refusal is reported (not the RSET's 421), the connection closed", async () => {
  for (const refused of ["MAIL", "RCPT", "DATA"]) {
    const { value } = await session(
      {
        extensions: [],
        fault: (line) =>
          line.startsWith(refused) ? "550 5.7.1 refused" : line === "RSET" ? "drop" : undefined,
      },
      (c) =>
        future(function* () {
          const r = yield* attempt(c.send({ from: "a@x.test", to: ["b@y.test"], data: MSG }));
          return { r, closed: c.isClosed };
        }),
    );
    assert.ok(!value.r.ok);
    assert.ok(value.r.error instanceof SmtpError);
    assert.equal(value.r.error.replyCode, 550, refused);
    assert.ok(value.r.error.command.startsWith(refused), value.r.error.command);
    assert.equal(value.closed, true);
  }
});

test("PIPELINING: a batch larger than the pipe, against a server answering each command at once, does not deadlock", async () => {
  // 16-byte pipes: the server's replies fill its direction long before the batch is written, so
  // the client must read replies while it writes (RFC 2920 section 3.1).
  const to = recipients(50);
  const { value, server } = await session({ capacity: 16, extensions: ["PIPELINING"] }, (c) =>
    c.send({ from: "a@x.test", to, data: MSG }),
  );
  assert.deepEqual(value.accepted, to);
  assert.equal(server.received.length, 1);
  assert.equal(server.commands[0]!.filter((l) => l.startsWith("RCPT")).length, 50);
});
