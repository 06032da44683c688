import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  BrokenPipe,
  Cancelled,
  duplex,
  type Future,
  future,
  LineTooLong,
  Runtime,
  sleep,
  TimeoutError,
  timeout,
} from "../../src/index.js";
import {
  DEFAULT_SMTP_TIMEOUTS,
  InvalidAddressError,
  SmtpCapabilityError,
  SmtpClient,
  SmtpError,
} from "../../src/smtp/index.js";
import { assertPending, MockTask } from "../../src/testing/index.js";
import {
  assertSmtpError,
  clientLines,
  dialogue,
  failed,
  MSG,
  RecordingTransport,
  ScriptedServer,
  sendOnce,
  succeeded,
  trace,
  type WireEvent,
  withClient,
} from "./scripted.js";

const enc = new TextEncoder();

// ---------------------------------------------------------------------------------------------
// Greeting and EHLO

test("greeting 554: permanent SmtpError, the client is closed, nothing is sent", async () => {
  let client: SmtpClient | undefined;
  const { outcome, log, io } = await dialogue(
    (s) => s.send("554 5.7.1 go away"),
    (io) => {
      const fut = SmtpClient.handshake(io);
      return fut.map((c) => (client = c));
    },
  );
  const e = failed(outcome);
  assertSmtpError(e, "SMTP_PERMANENT", 554);
  assert.equal(e.permanent, true);
  assert.equal(e.command, "greeting");
  assert.equal(e.enhancedCode, "5.7.1");
  assert.equal(client, undefined);
  assert.equal(io.dropped, true, "the transport was dropped (client closed)");
  assert.deepEqual(clientLines(log), []);
});

test("greeting 421: transient SmtpError, the client is closed", async () => {
  const { outcome, io, log } = await dialogue(
    (s) => s.send("421 4.3.2 busy, try later"),
    (io) => SmtpClient.handshake(io),
  );
  const e = failed(outcome);
  assertSmtpError(e, "SMTP_TRANSIENT", 421);
  assert.equal(e.transient, true);
  assert.equal(io.dropped, true);
  assert.deepEqual(clientLines(log), []);
});

test("EHLO 502: falls back to HELO; extensions are empty", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.send("220 old.test SMTP");
        yield* s.expect("EHLO client.test", "502 5.5.1 command not implemented");
        yield* s.expect("HELO client.test", "250 old.test");
      }),
    withClient(
      (c) =>
        future(function* () {
          return c.extensions.size;
        }),
      { name: "client.test" },
    ),
  );
  const { client, value } = succeeded(outcome);
  assert.equal(value, 0);
  assert.equal(client.extensions.size, 0);
  assert.deepEqual(client.greeting, ["old.test SMTP"]);
  assert.equal(client.isClosed, false);
  assert.deepEqual(clientLines(log), ["EHLO client.test", "HELO client.test"]);
});

test("EHLO 500 also falls back to HELO; a refused HELO is an SmtpError", async () => {
  const { outcome } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.send("220 old.test SMTP");
        yield* s.expect(/^EHLO/, "500 what?");
        yield* s.expect(/^HELO/, "550 no");
      }),
    (io) => SmtpClient.handshake(io),
  );
  const e = failed(outcome);
  assertSmtpError(e, "SMTP_PERMANENT", 550);
  assert.equal(e.command, "HELO localhost");
});

test('EHLO multi-line reply ending with "250 " (no text), and with a bare "250"', async () => {
  for (const last of ["250 ", "250"]) {
    const { outcome } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.send(["220-mx.test", "220 ESMTP"]);
          yield* s.expect(/^EHLO /, [
            "250-mx.test hello",
            "250-PIPELINING",
            "250-size 35882577",
            "250-8BITMIME",
            "250-AUTH PLAIN LOGIN",
            last,
          ]);
        }),
      withClient((c) =>
        future(function* () {
          return Object.fromEntries(c.extensions);
        }),
      ),
    );
    const { client, value } = succeeded(outcome);
    assert.deepEqual(value, {
      PIPELINING: "",
      SIZE: "35882577",
      "8BITMIME": "",
      AUTH: "PLAIN LOGIN",
    });
    assert.deepEqual(client.greeting, ["mx.test", "ESMTP"]);
  }
});

// ---------------------------------------------------------------------------------------------
// Envelope: round trips and PIPELINING

test("without PIPELINING: one command per round trip, in order", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["SIZE 1000000"]);
        yield* s.expect("MAIL FROM:<alice@example.com> SIZE=5", "250 2.1.0 ok");
        yield* s.expect("RCPT TO:<bob@example.com>", "250 2.1.5 ok");
        yield* s.expect("RCPT TO:<carol@example.com>", "550 5.1.1 unknown");
        yield* s.expect("RCPT TO:<dave@example.com>", "251 2.1.5 forwarded");
        yield* s.expect("DATA", "354 go ahead");
        yield* s.data("250 2.0.0 queued as X");
      }),
    sendOnce({
      from: "alice@example.com",
      to: ["bob@example.com", "carol@example.com", "dave@example.com"],
      data: "hello",
    }),
  );
  const { result } = succeeded(outcome);
  const r = succeeded(result) as {
    accepted: string[];
    rejected: { recipient: string; error: SmtpError }[];
    reply: { code: number; enhancedCode: string };
  };
  assert.deepEqual(r.accepted, ["bob@example.com", "dave@example.com"]);
  assert.equal(r.rejected.length, 1);
  assert.equal(r.rejected[0]!.recipient, "carol@example.com");
  assert.equal(r.rejected[0]!.error.enhancedCode, "5.1.1");
  assert.equal(r.reply.code, 250);
  assert.equal(r.reply.enhancedCode, "2.0.0");
  assert.deepEqual(trace(log).slice(3), [
    "C:MAIL FROM:<alice@example.com> SIZE=5",
    "S:250",
    "C:RCPT TO:<bob@example.com>",
    "S:250",
    "C:RCPT TO:<carol@example.com>",
    "S:550",
    "C:RCPT TO:<dave@example.com>",
    "S:251",
    "C:DATA",
    "S:354",
    "C:hello|.",
    "S:250",
  ]);
});

test("with PIPELINING: MAIL and every RCPT in one write before any reply; replies matched FIFO", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["PIPELINING"]);
        // Read the whole batch before answering anything.
        yield* s.expect("MAIL FROM:<alice@example.com>");
        yield* s.expect("RCPT TO:<r1@example.com>");
        yield* s.expect("RCPT TO:<r2@example.com>");
        yield* s.expect("RCPT TO:<r3@example.com>");
        // Answers in order, some in one write, one split over two.
        yield* s.send(["250 sender ok", "550 5.1.1 r1 unknown"]);
        yield* s.sendRaw("250 r2 ");
        yield* s.sendRaw("ok\r\n452 4.2.2 r3 mailbox full\r\n");
        yield* s.expect("DATA", "354 go");
        yield* s.data("250 queued");
      }),
    sendOnce({
      from: "alice@example.com",
      to: ["r1@example.com", "r2@example.com", "r3@example.com"],
      data: "x\r\n",
    }),
  );
  const { result } = succeeded(outcome);
  const r = succeeded(result) as {
    accepted: string[];
    rejected: { recipient: string; error: SmtpError }[];
  };
  assert.deepEqual(r.accepted, ["r2@example.com"]);
  assert.deepEqual(
    r.rejected.map((x) => [x.recipient, x.error.replyCode, x.error.code, x.error.command]),
    [
      ["r1@example.com", 550, "SMTP_PERMANENT", "RCPT TO:<r1@example.com>"],
      ["r3@example.com", 452, "SMTP_TRANSIENT", "RCPT TO:<r3@example.com>"],
    ],
  );
  const t = trace(log).slice(3);
  assert.equal(
    t[0],
    "C:MAIL FROM:<alice@example.com>|RCPT TO:<r1@example.com>|RCPT TO:<r2@example.com>|RCPT TO:<r3@example.com>",
    "the whole envelope in a single write",
  );
  assert.ok(t[1]?.startsWith("S:"), "the first reply comes after the batch");
  assert.deepEqual(t.slice(4), ["C:DATA", "S:354", "C:x|.", "S:250"]);
});

test("with PIPELINING, MAIL refused: all RCPT replies are consumed, then RSET; session usable", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["PIPELINING"]);
        yield* s.expect(/^MAIL/);
        yield* s.expect(/^RCPT/);
        yield* s.expect(/^RCPT/);
        yield* s.send(["451 4.3.0 try later", "503 need MAIL", "503 need MAIL"]);
        yield* s.expect("RSET", "250 reset");
        yield* s.expect("RSET", "250 reset again");
      }),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io);
        const e = yield* client
          .send({ ...MSG, to: ["a@x", "b@x"] })
          .catch((error: unknown) => error);
        yield* client.reset();
        return { client, e };
      }),
  );
  const { client, e } = succeeded(outcome);
  assertSmtpError(e, "SMTP_TRANSIENT", 451);
  assert.match(e.command, /^MAIL FROM:<alice@example.com>/);
  assert.equal(client.isClosed, false);
  assert.deepEqual(clientLines(log).slice(-3), ["RCPT TO:<b@x>", "RSET", "RSET"]);
});

// ---------------------------------------------------------------------------------------------
// Refusals

test("MAIL refused: RSET is sent, SmtpError thrown, the session stays usable", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL FROM:/, "550 5.7.1 sender rejected");
        yield* s.expect("RSET", "250 ok");
        yield* s.expect(/^MAIL FROM:/, "250 ok");
        yield* s.expect(/^RCPT TO:/, "250 ok");
        yield* s.expect("DATA", "354 go");
        yield* s.data("250 ok");
      }),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io);
        const e = yield* client.send(MSG).catch((error: unknown) => error);
        const closedAfterError = client.isClosed;
        const second = yield* client.send(MSG);
        return { e, closedAfterError, second };
      }),
  );
  const { e, closedAfterError, second } = succeeded(outcome);
  assertSmtpError(e, "SMTP_PERMANENT", 550);
  assert.equal(e.enhancedCode, "5.7.1");
  assert.equal(e.command, "MAIL FROM:<alice@example.com>");
  assert.equal(closedAfterError, false);
  assert.equal(second.reply.code, 250);
  const lines = clientLines(log);
  assert.deepEqual(lines.slice(1, 3), ["MAIL FROM:<alice@example.com>", "RSET"]);
  assert.ok(!lines.slice(1, 3).some((l) => l.startsWith("RCPT")), "no RCPT after a refused MAIL");
});

test("every RCPT refused: RSET, the first refusal is thrown, DATA never sent", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect("RCPT TO:<a@x>", "550 5.1.1 no a");
        yield* s.expect("RCPT TO:<b@x>", "450 4.2.1 later b");
        yield* s.expect("RSET", "250 ok");
      }),
    sendOnce({ ...MSG, to: ["a@x", "b@x"] }),
  );
  const { client, result } = succeeded(outcome);
  const e = failed(result);
  assertSmtpError(e, "SMTP_PERMANENT", 550);
  assert.equal(e.command, "RCPT TO:<a@x>");
  assert.equal(client.isClosed, false);
  assert.ok(!clientLines(log).includes("DATA"));
});

test("DATA refused: RSET is sent and the SmtpError thrown; no payload written", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "554 5.3.4 no data for you");
        yield* s.expect("RSET", "250 ok");
      }),
    sendOnce(MSG),
  );
  const { client, result } = succeeded(outcome);
  const e = failed(result);
  assertSmtpError(e, "SMTP_PERMANENT", 554);
  assert.equal(e.command, "DATA");
  assert.equal(client.isClosed, false);
  assert.deepEqual(clientLines(log).slice(-2), ["DATA", "RSET"]);
  assert.ok(!log.some((ev) => ev.from === "client" && ev.text.includes("hello")));
});

test("final dot refused: SmtpError for 'end of data'; no RSET needed, session usable", async () => {
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "354 go");
        yield* s.data("552 5.3.4 message too big");
      }),
    sendOnce(MSG),
  );
  const { client, result } = succeeded(outcome);
  const e = failed(result);
  assertSmtpError(e, "SMTP_PERMANENT", 552);
  assert.equal(e.command, "end of data");
  assert.equal(e.enhancedCode, "5.3.4");
  assert.equal(client.isClosed, false);
  assert.equal(clientLines(log).at(-1), ".");
});

// ---------------------------------------------------------------------------------------------
// 421 and a vanishing server

for (const [where, script] of [
  [
    "after MAIL",
    (s: ScriptedServer) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "421 4.3.2 shutting down");
      }),
  ],
  [
    "after RCPT",
    (s: ScriptedServer) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "421 4.3.2 shutting down");
      }),
  ],
  [
    "after DATA",
    (s: ScriptedServer) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "421 4.3.2 shutting down");
      }),
  ],
  [
    "after the final dot",
    (s: ScriptedServer) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "354 go");
        yield* s.data("421 4.3.2 shutting down");
      }),
  ],
] as const) {
  test(`421 ${where}: transient SmtpError, the client is closed, no RSET`, async () => {
    const { outcome, log, io } = await dialogue(script, sendOnce(MSG));
    const { client, result } = succeeded(outcome);
    const e = failed(result);
    assertSmtpError(e, "SMTP_TRANSIENT", 421);
    assert.equal(e.enhancedCode, "4.3.2");
    assert.equal(client.isClosed, true);
    assert.equal(io.dropped, true);
    assert.ok(!clientLines(log).includes("RSET"), "nothing more is said to a closing server");
  });
}

test("the server hangs up while a reply is awaited: transient SmtpError, closed, no hang", async () => {
  for (const stage of ["MAIL", "RCPT", "DATA", "dot"] as const) {
    const { outcome, io } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.hello();
          yield* s.expect(/^MAIL/, stage === "MAIL" ? undefined : "250 ok");
          if (stage !== "MAIL") yield* s.expect(/^RCPT/, stage === "RCPT" ? undefined : "250 ok");
          if (stage === "DATA" || stage === "dot")
            yield* s.expect("DATA", stage === "DATA" ? undefined : "354 go");
          if (stage === "dot") yield* s.data();
          yield* s.hangUp();
        }),
      sendOnce(MSG),
    );
    const { client, result } = succeeded(outcome);
    const e = failed(result);
    assertSmtpError(e, "SMTP_TRANSIENT");
    assert.match(e.message, /closed the connection/, stage);
    assert.equal(client.isClosed, true, stage);
    assert.equal(io.dropped, true, stage);
  }
});

test("the server hangs up in the middle of a multi-line reply: SmtpError, not a hang", async () => {
  const { outcome } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.send("220 mx");
        yield* s.expect(/^EHLO/);
        yield* s.sendRaw("250-mx\r\n250-PIPELINING\r\n250-SI");
        yield* s.hangUp();
      }),
    (io) => SmtpClient.handshake(io),
  );
  const e = failed(outcome);
  assert.ok(e instanceof SmtpError, String(e));
  // A truncated last line "250-SI" arrives, then EOF.
  assert.equal(e.code, "SMTP_TRANSIENT");
});

test("the server drops the connection entirely (both directions) mid-dialogue: a typed error, closed", async () => {
  // The server reads RCPT, answers, and drops: the client's next write (DATA) hits a dead pipe.
  const { outcome } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        s.io.drop();
      }),
    sendOnce(MSG),
  );
  const { client, result } = succeeded(outcome);
  const e = failed(result);
  // Reported: this surfaces as the transport's BrokenPipe, not as an SmtpError.
  assert.ok(e instanceof SmtpError || e instanceof BrokenPipe, String(e));
  assert.equal(client.isClosed, true);
});

// ---------------------------------------------------------------------------------------------
// Replies split at arbitrary byte boundaries

function fullDialogueScript(s: ScriptedServer): Future<void> {
  return future(function* () {
    yield* s.send(["220-mx.test first", "220 second"]);
    yield* s.expect(/^EHLO/, [
      "250-mx.test",
      "250-PIPELINING",
      "250-SIZE 100",
      "250-8BITMIME",
      "250 ENHANCEDSTATUSCODES",
    ]);
    yield* s.expect(/^MAIL/);
    yield* s.expect(/^RCPT/);
    yield* s.expect(/^RCPT/);
    yield* s.send(["250 2.1.0 ok", "550-5.1.1 no such", "550 5.1.1 user", "250 2.1.5 ok"]);
    yield* s.expect("DATA", "354 go");
    yield* s.data(["250-2.0.0 queued", "250 2.0.0 as ABC"]);
    yield* s.expect("QUIT", "221 2.0.0 bye");
  });
}

function fullDialogueClient(io: RecordingTransport): Future<unknown> {
  return future(function* () {
    const client = yield* SmtpClient.handshake(io);
    const r = yield* client.send({ from: "a@x", to: ["nobody@x", "b@x"], data: "hi\r\n" });
    yield* client.quit();
    return {
      greeting: client.greeting,
      ext: [...client.extensions.keys()],
      accepted: r.accepted,
      rejected: r.rejected.map((x) => [x.recipient, x.error.lines]),
      reply: r.reply,
      closed: client.isClosed,
    };
  });
}

const EXPECTED_FULL = {
  greeting: ["mx.test first", "second"],
  ext: ["PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES"],
  accepted: ["b@x"],
  rejected: [["nobody@x", ["5.1.1 no such", "5.1.1 user"]]],
  reply: { code: 250, enhancedCode: "2.0.0", lines: ["2.0.0 queued", "2.0.0 as ABC"] },
  closed: true,
};

test("replies delivered one byte at a time still parse", async () => {
  const { outcome } = await dialogue(fullDialogueScript, fullDialogueClient, { readSize: () => 1 });
  assert.deepEqual(succeeded(outcome), EXPECTED_FULL);
});

test("replies through a 1-byte duplex (both directions byte by byte) still parse", async () => {
  const { outcome } = await dialogue(fullDialogueScript, fullDialogueClient, { capacity: 1 });
  assert.deepEqual(succeeded(outcome), EXPECTED_FULL);
});

test("replies split at random chunk sizes (fast-check) still parse", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 }),
      async (sizes) => {
        const { outcome } = await dialogue(fullDialogueScript, fullDialogueClient, {
          readSize: (i) => sizes[i % sizes.length]!,
        });
        assert.deepEqual(succeeded(outcome), EXPECTED_FULL);
      },
    ),
    { numRuns: 60 },
  );
});

// ---------------------------------------------------------------------------------------------
// The DATA payload on the wire

/** Runs a full send of `data` and returns the raw bytes the client wrote after "DATA\r\n". */
async function payloadOnWire(
  data: string | Uint8Array,
  extensions: readonly string[] = [],
): Promise<{ payload: string; mail: string; raw: string }> {
  const { outcome, io, server } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(extensions);
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "354 go");
        yield* s.data("250 ok");
      }),
    sendOnce({ from: "a@x", to: ["b@x"], data }),
  );
  succeeded(succeeded(outcome).result);
  const raw = io.written;
  const start = raw.indexOf("DATA\r\n") + "DATA\r\n".length;
  return { payload: raw.slice(start), mail: server.lines.find((l) => l.startsWith("MAIL"))!, raw };
}

const BARE = /\r(?!\n)|(?<!\r)\n/;

test("DATA: CRLF normalisation and dot-stuffing on the wire", async () => {
  const { payload, raw } = await payloadOnWire(
    "Subject: x\n.hidden\r\n..two\rbare cr\r\n.\n\n.\r\nend",
  );
  assert.equal(
    payload,
    "Subject: x\r\n..hidden\r\n...two\r\nbare cr\r\n..\r\n\r\n..\r\nend\r\n.\r\n",
  );
  assert.ok(!BARE.test(raw), "no bare CR or LF anywhere on the wire");
});

test("DATA: a payload already ending in CRLF gets no extra blank line; an empty one is just '.'", async () => {
  assert.equal((await payloadOnWire("a\r\n")).payload, "a\r\n.\r\n");
  assert.equal((await payloadOnWire("a\r\n\r\n")).payload, "a\r\n\r\n.\r\n");
  assert.equal((await payloadOnWire("")).payload, ".\r\n");
  assert.equal((await payloadOnWire(".")).payload, "..\r\n.\r\n");
  assert.equal((await payloadOnWire("\r")).payload, "\r\n.\r\n");
});

test("DATA fuzz: no bare CR/LF is sent, the payload ends with CRLF.CRLF and unstuffs to the input", async () => {
  const chunk = fc.constantFrom("a", "b", ".", "..", "\r", "\n", "\r\n", " ", "é", "\r\n.\r\n");
  await fc.assert(
    fc.asyncProperty(fc.array(chunk, { maxLength: 30 }), async (parts) => {
      const data = parts.join("");
      const { payload, raw } = await payloadOnWire(data, ["8BITMIME"]);
      assert.ok(!BARE.test(raw), JSON.stringify(raw));
      assert.ok(`\r\n${payload}`.endsWith("\r\n.\r\n"));
      // Unstuff (RFC 5321 4.5.2) and compare with the input, line endings normalised.
      const body = payload.slice(0, -3); // drop ".\r\n"
      const lines = body === "" ? [] : body.slice(0, -2).split("\r\n");
      assert.ok(body === "" || body.endsWith("\r\n"));
      for (const l of lines) assert.ok(!l.startsWith(".") || l.startsWith(".."), l);
      const unstuffed = lines.map((l) => (l.startsWith(".") ? l.slice(1) : l));
      const normalised = Buffer.from(data, "utf8")
        .toString("latin1")
        .replace(/\r\n|\r|\n/g, "\r\n");
      const expected = normalised === "" ? [] : normalised.replace(/\r\n$/, "").split("\r\n");
      assert.deepEqual(unstuffed, expected);
    }),
    { numRuns: 80 },
  );
});

// ---------------------------------------------------------------------------------------------
// MAIL parameters

test("8-bit data: BODY=8BITMIME when advertised; without it, SmtpCapabilityError before MAIL", async () => {
  const eight = "Subject: ü\r\n\r\nünïcödé\r\n";
  assert.equal((await payloadOnWire(eight, ["8BITMIME"])).mail, "MAIL FROM:<a@x> BODY=8BITMIME");
  const { outcome, log } = await dialogue(
    (s) => s.hello(["SIZE 1000"]),
    sendOnce({ from: "a@x", to: ["b@x"], data: eight }),
  );
  const { client, result } = succeeded(outcome);
  const e = failed(result);
  assert.ok(e instanceof SmtpCapabilityError, String(e));
  assert.equal(e.code, "SMTP_CAPABILITY");
  assert.equal(e.requirement, "8BITMIME");
  assert.equal(client.isClosed, false, "nothing was sent: the session stays usable");
  assert.deepEqual(clientLines(log).slice(1), [], "nothing after EHLO");
  assert.equal((await payloadOnWire("ascii\r\n", ["8BITMIME"])).mail, "MAIL FROM:<a@x>");
  assert.equal(
    (await payloadOnWire(Uint8Array.of(0x41, 0xff, 0x0d, 0x0a), ["8BITMIME"])).mail,
    "MAIL FROM:<a@x> BODY=8BITMIME",
  );
});

test("SIZE=n only when advertised (n = the message's byte length)", async () => {
  const data = "Subject: ü\r\n\r\nbody\r\n";
  const n = enc.encode(data).length;
  const eight = ["8BITMIME"];
  assert.equal(
    (await payloadOnWire(data, ["SIZE 1000", ...eight])).mail,
    `MAIL FROM:<a@x> SIZE=${n} BODY=8BITMIME`,
  );
  assert.equal(
    (await payloadOnWire(data, ["SIZE", ...eight])).mail,
    `MAIL FROM:<a@x> SIZE=${n} BODY=8BITMIME`,
  );
  assert.equal((await payloadOnWire(data, eight)).mail, "MAIL FROM:<a@x> BODY=8BITMIME");
  assert.equal(
    (await payloadOnWire(data, ["SIZE 1000", "8BITMIME"])).mail,
    `MAIL FROM:<a@x> SIZE=${n} BODY=8BITMIME`,
  );
});

test("null reverse-path: MAIL FROM:<>", async () => {
  const { outcome, server } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect("MAIL FROM:<>", "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "354 go");
        yield* s.data("250 ok");
      }),
    sendOnce({ ...MSG, from: "" }),
  );
  succeeded(succeeded(outcome).result);
  assert.ok(server.lines.includes("MAIL FROM:<>"));
});

// ---------------------------------------------------------------------------------------------
// Address validation

test("addresses with CR, LF, '<' or '>' throw InvalidAddressError before anything is written", async () => {
  const bad = ["a@x\r\nRCPT TO:<evil@y>", "a@x\rb", "a@x\nb", "<a@x>", "a@x> SIZE=1", "a<b@x"];
  const { outcome } = await dialogue(
    (s) => s.hello(["PIPELINING"]),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io);
        const writesBefore = io.bytes.length;
        const errors: unknown[] = [];
        for (const b of bad) {
          for (const env of [
            { ...MSG, from: b },
            { ...MSG, to: [b] },
            { ...MSG, to: ["ok@x", b] },
          ]) {
            try {
              // Thrown synchronously by send(), not by the future.
              client.send(env);
              errors.push(undefined);
            } catch (e) {
              errors.push(e);
            }
          }
        }
        const writesAfter = io.bytes.length;
        return { client, errors, writesBefore, writesAfter };
      }),
  );
  const { client, errors, writesBefore, writesAfter } = succeeded(outcome);
  assert.equal(errors.length, bad.length * 3);
  for (const e of errors) {
    assert.ok(e instanceof InvalidAddressError, String(e));
    assert.equal(e.code, "SMTP_INVALID_ADDRESS");
  }
  assert.equal(writesAfter, writesBefore, "nothing written");
  assert.equal(client.isClosed, false, "the session is untouched");
});

// ---------------------------------------------------------------------------------------------
// Overlong reply lines

test("an overlong reply line: a typed protocol error (SmtpError or LineTooLong), client closed", async () => {
  const kinds: string[] = [];
  for (const [label, readSize] of [
    ["one read", undefined],
    ["byte by byte", () => 1],
    ["64-byte reads", () => 64],
  ] as const) {
    const { outcome } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.hello();
          yield* s.expect(/^MAIL/, `250 ${"x".repeat(600)}`);
        }),
      sendOnce(MSG),
      readSize === undefined ? {} : { readSize },
    );
    const { client, result } = succeeded(outcome);
    const e = failed(result);
    assert.ok(
      (e instanceof SmtpError && e.code === "SMTP_PROTOCOL") || e instanceof LineTooLong,
      `${label}: ${String(e)}`,
    );
    kinds.push(`${label}: ${e instanceof SmtpError ? e.code : (e as Error).name}`);
    assert.equal(client.isClosed, true, label);
  }
  console.log(`overlong reply line -> ${kinds.join("; ")}`);
});

test("an overlong reply line is reported as SmtpError SMTP_PROTOCOL however it is split", async () => {
  // The parser's contract (reply.ts): "a line longer than 512 octets ... is a protocol error".
  for (const readSize of [undefined, () => 1, () => 100] as const) {
    const { outcome } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.send(`220 ${"x".repeat(600)}`);
        }),
      (io) => SmtpClient.handshake(io),
      readSize === undefined ? {} : { readSize },
    );
    const e = failed(outcome);
    assertSmtpError(e, "SMTP_PROTOCOL");
  }
});

test("an endless multi-line reply (hostile server) ends in SMTP_PROTOCOL, not a hang", async () => {
  const { outcome } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.send("220 mx");
        yield* s.expect(/^EHLO/);
        yield* s.send(Array.from({ length: 500 }, (_, i) => `250-EXT${i}`));
      }),
    (io) => SmtpClient.handshake(io),
  );
  assertSmtpError(failed(outcome), "SMTP_PROTOCOL", 0);
});

test("garbage instead of a reply: SMTP_PROTOCOL; mixed codes: SMTP_PROTOCOL; send closes the client", async () => {
  for (const reply of [["HTTP/1.1 400 Bad Request"], ["250-ok", "550 mixed"]]) {
    const { outcome } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.hello();
          yield* s.expect(/^MAIL/, reply);
        }),
      sendOnce(MSG),
    );
    const { client, result } = succeeded(outcome);
    assertSmtpError(failed(result), "SMTP_PROTOCOL", 0);
    assert.equal(client.isClosed, true);
  }
});

// ---------------------------------------------------------------------------------------------
// Timeouts on a virtual clock

test("a server that never greets: TimeoutError after DEFAULT_SMTP_TIMEOUTS.greeting", async () => {
  const rt = new Runtime({ clock: "virtual" });
  let t0 = -1;
  const { outcome } = await dialogue(
    () => future(function* () {}),
    (io, rt) => {
      t0 = rt.time.now();
      return SmtpClient.handshake(io).map((c) => ({ c, at: rt.time.now() }));
    },
    { rt },
  );
  const e = failed(outcome);
  assert.ok(e instanceof TimeoutError, String(e));
  assert.equal(e.ms, DEFAULT_SMTP_TIMEOUTS.greeting);
  assert.equal(t0, 0);
  assert.equal(rt.time.now(), DEFAULT_SMTP_TIMEOUTS.greeting);
});

test("the greeting timeout is configurable", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const { outcome } = await dialogue(
    () => future(function* () {}),
    (io) => SmtpClient.handshake(io, { timeouts: { greeting: 1234 } }),
    { rt },
  );
  assert.ok(failed(outcome) instanceof TimeoutError);
  assert.equal(rt.time.now(), 1234);
});

test("per-command timeouts: each stage times out after its own (configured) limit, closing the client", async () => {
  const limits = { mail: 1000, rcpt: 2000, data: 3000, dataEnd: 4000, command: 500 };
  for (const stage of ["EHLO", "MAIL", "RCPT", "DATA", "dot"] as const) {
    const rt = new Runtime({ clock: "virtual" });
    let sentAt = -1;
    const { outcome } = await dialogue(
      (s) =>
        future(function* () {
          yield* s.send("220 mx");
          if (stage === "EHLO") {
            yield* s.expect(/^EHLO/);
            return;
          }
          yield* s.expect(/^EHLO/, "250 mx");
          // Five virtual seconds pass before the envelope: limits run per command.
          yield* s.expect(/^MAIL/, stage === "MAIL" ? undefined : "250 ok");
          if (stage === "MAIL") return;
          yield* s.expect(/^RCPT/, stage === "RCPT" ? undefined : "250 ok");
          if (stage === "RCPT") return;
          yield* s.expect("DATA", stage === "DATA" ? undefined : "354 go");
          if (stage === "DATA") return;
          yield* s.data();
        }),
      (io, rt) =>
        future(function* () {
          const hs = SmtpClient.handshake(io, { timeouts: limits });
          const client = yield* hs;
          yield* sleep(5000);
          sentAt = rt.time.now();
          const e = yield* client.send(MSG).catch((error: unknown) => error);
          return { e, client };
        }),
      { rt },
    );
    if (stage === "EHLO") {
      const e = failed(outcome);
      assert.ok(e instanceof TimeoutError, `${stage}: ${String(e)}`);
      assert.equal(e.ms, limits.command);
      assert.equal(rt.time.now(), limits.command);
      continue;
    }
    const { e, client } = succeeded(outcome);
    const expected = {
      MAIL: limits.mail,
      RCPT: limits.rcpt,
      DATA: limits.data,
      dot: limits.dataEnd,
    }[stage];
    assert.ok(e instanceof TimeoutError, `${stage}: ${String(e)}`);
    assert.equal(e.ms, expected, stage);
    assert.equal(sentAt, 5000);
    assert.equal(rt.time.now() - sentAt, expected, stage);
    assert.equal(client.isClosed, true, `${stage}: a timed-out session is closed`);
  }
});

test("a server that stops reading: a pipelined envelope write is bounded by the MAIL limit", async () => {
  // The server greets, answers EHLO, then never reads again; the 64-byte pipe fills up while
  // the client writes its (pipelined) envelope. RFC 5321 4.5.3.2 gives MAIL 5 minutes: the client
  // should give up by then instead of waiting forever. Bounded here by an outer one-hour limit.
  const rt = new Runtime({ clock: "virtual" });
  const HOUR = 60 * 60 * 1000;
  const { outcome } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["PIPELINING"]);
        yield* sleep(2 * HOUR);
      }),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io, { timeouts: { mail: 1000, rcpt: 1000 } });
        const to = Array.from({ length: 20 }, (_, i) => `recipient${i}@example.com`);
        const e = yield* timeout(client.send({ ...MSG, to }), HOUR).catch(
          (error: unknown) => error,
        );
        return { e, at: rt.time.now(), client };
      }),
    { rt, capacity: 64 },
  );
  const { e, at, client } = succeeded(outcome);
  assert.ok(e instanceof TimeoutError, String(e));
  assert.equal(client.isClosed, true);
  assert.equal(at, 1000, `gave up after ${at} ms (limit: the MAIL timeout, 1000 ms)`);
});

// ---------------------------------------------------------------------------------------------
// Cancellation

test("aborting the task running send mid-dialogue closes the client and leaves no task waiting", async () => {
  const rt = new Runtime();
  let client: SmtpClient | undefined;
  let handle: { abort(): void } | undefined;
  const { outcome, io } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        yield* s.expect(/^MAIL/);
        // The client now waits for the MAIL reply: cancel it.
        handle!.abort();
      }),
    (io, rt) =>
      future(function* () {
        client = yield* SmtpClient.handshake(io);
        const c = client;
        const h = rt.spawn(c.send(MSG), { name: "send" });
        handle = h;
        const e = yield* h.catch((error: unknown) => error);
        return {
          e,
          dump: rt.dump().tasks.map((t) => ({ name: t.name, awaiting: t.awaiting })),
        };
      }),
    { rt },
  );
  const { e, dump } = succeeded(outcome);
  assert.ok(e instanceof Cancelled, String(e));
  assert.equal(client!.isClosed, true);
  assert.equal(io.dropped, true);
  assert.ok(!dump.some((t) => t.name === "send"), JSON.stringify(dump));
  assert.equal(rt.dump().tasks.length, 0, rt.dump().toString());
});

test("a timeout that drops send mid-dialogue closes the client (virtual clock)", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const { outcome, log } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["PIPELINING"]);
        yield* s.expect(/^MAIL/, "250 ok");
        yield* s.expect(/^RCPT/, "250 ok");
        yield* s.expect("DATA", "354 go");
        // Never answers the dot.
      }),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io);
        const e = yield* timeout(client.send(MSG), 50).catch((error: unknown) => error);
        return { e, client };
      }),
    { rt },
  );
  const { e, client } = succeeded(outcome);
  assert.ok(e instanceof TimeoutError);
  assert.equal(rt.time.now(), 50);
  assert.equal(client.isClosed, true);
  assert.equal(clientLines(log).at(-1), ".");
});

/** Handshakes over a fresh duplex with the runtime, then hands the client back for hand-polling. */
async function handshaken(capacity: number, extensions: readonly string[] = []) {
  const rt = new Runtime();
  const [clientEnd, serverEnd] = duplex(capacity);
  const log: WireEvent[] = [];
  const io = new RecordingTransport(clientEnd, log);
  const server = new ScriptedServer(serverEnd, log);
  const client = await rt.run(
    future(function* () {
      const s = rt.spawn(server.hello(extensions));
      const c = yield* SmtpClient.handshake(io);
      yield* s;
      return c;
    }),
  );
  return { client, io, server, log, serverEnd };
}

test("dropping a hand-polled send waiting for a reply closes the client and releases the waker", async () => {
  const { client, io } = await handshaken(1024);
  const task = new MockTask(client.send(MSG));
  assertPending(task.poll(), "MAIL written, waiting for its reply");
  assert.ok(io.written.endsWith("MAIL FROM:<alice@example.com>\r\n"));
  assert.equal(task.wakerRefCount, 2, "the duplex and the reply timer hold the task's waker");
  task.drop();
  assert.equal(client.isClosed, true);
  assert.equal(io.dropped, true);
  assert.equal(task.wakerRefCount, 0, "the waker was released");
});

test("a send or reset dropped before its first poll leaves the client open", async () => {
  const { client, io } = await handshaken(1024);
  client.send(MSG).drop();
  client.reset().drop();
  assert.equal(client.isClosed, false, "nothing was said: the session is where it was");
  assert.equal(io.dropped, false);
  assert.equal(io.written.includes("MAIL"), false);
});

test("dropping a hand-polled send blocked on a full pipe (backpressure) releases the waker", async () => {
  // A 16-byte pipe: "MAIL FROM:<alice@example.com>\r\n" does not fit, the write waits for room.
  const { client, io } = await handshaken(16);
  const task = new MockTask(client.send(MSG));
  assertPending(task.poll(), "the write waits for room");
  assert.equal(
    task.wakerRefCount,
    2,
    "the pipe holds the writer's waker, the write's timer another",
  );
  task.drop();
  assert.equal(client.isClosed, true);
  assert.equal(io.dropped, true);
  assert.equal(task.wakerRefCount, 0, "the writer's waker was released");
});
