import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  BrokenPipe,
  Cancelled,
  type Future,
  future,
  joinAll,
  Runtime,
  TimeoutError,
  timeout,
} from "../../src/index.js";
import { SmtpClient, SmtpError, SmtpPool, type SmtpSendOutcome } from "../../src/smtp/index.js";
import { assertPending, MockTask } from "../../src/testing/index.js";
import { dialogue, MemoryServer, type ScriptedServer, succeeded } from "./scripted.js";

// A full dialogue: multi-line greeting, EHLO with PIPELINING, a pipelined envelope with one
// refused recipient, a dot-stuffed payload, a multi-line final reply, QUIT.
const REPLIES: readonly (readonly string[])[] = [
  ["220-mx.test first", "220 second"],
  ["250-mx.test", "250-PIPELINING", "250-SIZE 1000", "250-8BITMIME", "250 ENHANCEDSTATUSCODES"],
  ["250 2.1.0 ok", "550-5.1.1 no such", "550 5.1.1 user", "250 2.1.5 ok"],
  ["354 go"],
  ["250-2.0.0 queued", "250 2.0.0 as ABC"],
  ["221 2.0.0 bye"],
];
const TRANSCRIPT = REPLIES.map((r) => r.map((l) => `${l}\r\n`).join(""));
const SERVER_BYTES = TRANSCRIPT.join("").length;
/** Where in the server's bytes the reply to the final dot starts. */
const FINAL_REPLY_AT = TRANSCRIPT.slice(0, 4).join("").length;
/** Where the reply to QUIT starts. */
const QUIT_REPLY_AT = TRANSCRIPT.slice(0, 5).join("").length;
const DATA_LINES = ["Subject: hi", "..hidden", "body"];

const STOP = Symbol("stop");

/**
 * The server side; after `cut` bytes of replies it drops the connection (both directions), in
 * the middle of a reply line if that is where the cut falls.
 */
function script(cut = Number.POSITIVE_INFINITY): (s: ScriptedServer) => Future<void> {
  return (s) =>
    future(function* () {
      let left = cut;
      const say = (i: number) =>
        future(function* () {
          const text = TRANSCRIPT[i]!;
          if (text.length <= left) {
            left -= text.length;
            yield* s.sendRaw(text);
            return;
          }
          if (left > 0) yield* s.sendRaw(text.slice(0, left));
          s.io.drop();
          throw STOP;
        });
      try {
        yield* say(0);
        yield* s.expect("EHLO localhost");
        yield* say(1);
        yield* s.expect("MAIL FROM:<a@x> SIZE=24");
        yield* s.expect("RCPT TO:<nobody@x>");
        yield* s.expect("RCPT TO:<b@x>");
        yield* say(2);
        yield* s.expect("DATA");
        yield* say(3);
        assert.deepEqual(yield* s.data(), DATA_LINES);
        yield* say(4);
        yield* s.expect("QUIT");
        yield* say(5);
      } catch (e) {
        if (e !== STOP) throw e;
      }
    });
}

function client(io: Parameters<typeof SmtpClient.handshake>[0]) {
  return future(function* () {
    const c = yield* SmtpClient.handshake(io);
    const state = { client: c };
    const r = yield* c
      .send({ from: "a@x", to: ["nobody@x", "b@x"], data: "Subject: hi\n.hidden\nbody" })
      .catch((error: unknown) => {
        throw Object.assign(new Error("send failed"), { cause: error, state });
      });
    yield* c.quit();
    return {
      greeting: c.greeting,
      accepted: r.accepted,
      rejected: r.rejected.map((x) => [x.recipient, x.error.lines]),
      reply: r.reply,
      closed: c.isClosed,
    };
  });
}

const EXPECTED = {
  greeting: ["mx.test first", "second"],
  accepted: ["b@x"],
  rejected: [["nobody@x", ["5.1.1 no such", "5.1.1 user"]]],
  reply: { code: 250, enhancedCode: "2.0.0", lines: ["2.0.0 queued", "2.0.0 as ABC"] },
  closed: true,
};

test("replies split at every byte boundary of the server's side parse the same", async () => {
  for (let p = 0; p <= SERVER_BYTES; p++) {
    const { outcome } = await dialogue(script(), client, {
      readSize: (_i, offset) => (offset < p ? p - offset : 1 << 16),
    });
    assert.deepEqual(succeeded(outcome), EXPECTED, `split at byte ${p}`);
  }
});

test("partial writes (each write accepts a random number of bytes) still send the exact bytes (fast-check)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 20 }),
      async (sizes) => {
        const { outcome, io } = await dialogue(script(), client, {
          writeSize: (i) => sizes[i % sizes.length]!,
        });
        assert.deepEqual(succeeded(outcome), EXPECTED);
        assert.equal(
          io.written,
          "EHLO localhost\r\nMAIL FROM:<a@x> SIZE=24\r\nRCPT TO:<nobody@x>\r\nRCPT TO:<b@x>\r\n" +
            "DATA\r\nSubject: hi\r\n..hidden\r\nbody\r\n.\r\nQUIT\r\n",
        );
      },
    ),
    { numRuns: 60 },
  );
});

test("the connection reset at every byte of the dialogue: a typed error, the client closed, nothing left waiting", async () => {
  for (let p = 0; p < SERVER_BYTES; p++) {
    const rt = new Runtime();
    const { outcome, io } = await dialogue(script(p), client, { rt });
    if (p >= QUIT_REPLY_AT) {
      // Only QUIT's reply is lost: the message is delivered, and the session over either way.
      assert.deepEqual(succeeded(outcome), EXPECTED, `cut at ${p}`);
      continue;
    }
    assert.ok(!outcome.ok, `cut at ${p}: the dialogue cannot complete`);
    const error = outcome.error as Error & { state?: { client: SmtpClient } };
    const cause = error.message === "send failed" ? error.cause : error;
    assert.ok(
      cause instanceof SmtpError || cause instanceof BrokenPipe,
      `cut at ${p}: ${String(cause)}`,
    );
    if (cause instanceof SmtpError) assert.notEqual(cause.code, "SMTP_PERMANENT");
    assert.equal(io.dropped, true, `cut at ${p}: the client closed its transport`);
    if (error.state !== undefined) {
      // Lost while waiting for the final reply: the delivery is unknown, and the client says so.
      const afterDot = p >= FINAL_REPLY_AT;
      assert.equal(error.state.client.awaitingFinalReply, afterDot, `cut at ${p}`);
    }
    assert.equal(rt.dump().tasks.length, 0, rt.dump().toString());
  }
});

// ---------------------------------------------------------------------------------------------
// The pool: resets and cancellation at every step

const STEPS = ["EHLO", "MAIL", "RCPT", "DATA", "."] as const;
const mail = (id: string) => ({
  from: "a@x.test",
  to: ["b@y.test"],
  data: `Subject: ${id}\r\n\r\nbody of ${id}\r\n`,
});

for (const step of STEPS) {
  test(`pool: the server resets at ${step}: ${step === "." ? "unknown" : "failed"}, never retried into a duplicate`, async () => {
    const server = new MemoryServer({
      extensions: ["PIPELINING"],
      fault: (line) =>
        line.startsWith(step) || (step === "." && line === ".") ? "drop" : undefined,
    });
    const pool = new SmtpPool({ connect: server.connect, retries: 2, retryDelay: 0 });
    const outcome = await new Runtime().run(
      future(function* () {
        const o = yield* pool.send(mail("m1"));
        yield* pool.close();
        return o;
      }),
    );
    if (step === ".") {
      assert.equal(outcome.status, "unknown");
      assert.equal(outcome.attempts, 1, "never retried after the dot");
    } else {
      assert.equal(outcome.status, "failed");
      assert.equal(outcome.attempts, 3, "transient: retried on fresh connections");
    }
    assert.equal(server.received.length, 0);
    assert.equal(server.open, 0, "every connection was closed");
  });

  test(`pool: a send aborted at ${step} closes its connection and frees its permit`, async () => {
    const rt = new Runtime();
    let abort = () => {};
    const server = new MemoryServer({
      extensions: ["PIPELINING"],
      fault: (line) => {
        if (line.startsWith(step)) abort();
        return undefined;
      },
    });
    const pool = new SmtpPool({ connect: server.connect, maxConnections: 1 });
    const after = await rt.run(
      future(function* () {
        const h = rt.spawn(pool.send(mail("aborted")));
        abort = () => h.abort();
        const e = yield* h.catch((error: unknown) => error);
        assert.ok(e instanceof Cancelled, String(e));
        // The only permit is free again, on a fresh connection.
        const o = yield* pool.send(mail("next"));
        yield* pool.close();
        return o;
      }),
    );
    assert.equal(after.status, "ok");
    assert.equal(server.connections, 2, "the aborted send's connection was not reused");
    assert.equal(server.open, 0);
    assert.equal(rt.dump().tasks.length, 0, rt.dump().toString());
    // The final dot may have reached the server before the abort took effect; nothing else.
    const ids = server.received.map((m) => /Subject: (\w+)/.exec(m.data)?.[1]);
    assert.ok(ids.includes("next"));
  });
}

test("pool: dropping a hand-polled send waiting for a reply releases its waker and closes the connection", async () => {
  const server = new MemoryServer({ extensions: ["PIPELINING"] });
  const rt = new Runtime();
  const pool = new SmtpPool({ connect: server.connect, maxConnections: 1 });
  // Warm one connection up, so the hand-polled send reuses it and writes at once.
  await rt.run(pool.send(mail("warm")));
  const task = new MockTask(pool.send(mail("dropped")));
  assertPending(task.poll(), "the envelope is written; the reply is awaited");
  assert.ok(task.wakerRefCount > 0, "the socket (and the reply timer) hold the task's waker");
  task.drop();
  assert.equal(task.wakerRefCount, 0, "every clone of the waker was released");
  const next = await rt.run(
    future(function* () {
      const o = yield* pool.send(mail("next"));
      yield* pool.close();
      return o;
    }),
  );
  assert.equal(next.status, "ok");
  assert.equal(server.connections, 2, "the dropped send's connection was closed, not reused");
  assert.equal(server.open, 0);
  assert.deepEqual(
    server.received.map((m) => /Subject: (\w+)/.exec(m.data)?.[1]),
    ["warm", "next"],
  );
});

test("history: 400 sends through the pool against a faulty server: ok are delivered once, failed never, none twice", async () => {
  // A seeded fault plan: each command may be answered 421, 451, 554, or the connection dropped.
  let seed = 0x2f6e2b1;
  const random = () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const server = new MemoryServer({
    extensions: ["PIPELINING", "8BITMIME"],
    fault: (line) => {
      const r = random();
      if (r < 0.02) return "drop";
      if (r < 0.03) return "421 4.3.2 shutting down";
      if (line.startsWith("RCPT") && r < 0.05) return "451 4.3.0 try later";
      if (line === "." && r < 0.06) return "554 5.6.0 rejected";
      return undefined;
    },
  });
  const pool = new SmtpPool({
    connect: server.connect,
    maxConnections: 6,
    maxMessagesPerConnection: 20,
    retries: 2,
    retryDelay: 0,
  });
  const outcomes: SmtpSendOutcome[] = await new Runtime().run(
    future(function* () {
      const all = yield* joinAll(Array.from({ length: 400 }, (_, i) => pool.send(mail(`m${i}`))));
      yield* pool.close();
      return all;
    }),
  );
  const received = server.received.map((m) => /Subject: (\w+)/.exec(m.data)![1]!);
  assert.equal(new Set(received).size, received.length, "no message twice");
  const byStatus = { ok: 0, failed: 0, unknown: 0 };
  outcomes.forEach((o, i) => {
    byStatus[o.status]++;
    const id = `m${i}`;
    if (o.status === "ok") assert.ok(received.includes(id), `${id} ok but not received`);
    if (o.status === "failed") assert.ok(!received.includes(id), `${id} failed but received`);
  });
  assert.equal(byStatus.ok + byStatus.failed + byStatus.unknown, 400);
  assert.ok(byStatus.ok > 300, JSON.stringify(byStatus));
  assert.ok(
    byStatus.failed + byStatus.unknown > 0,
    `the faults were exercised: ${JSON.stringify(byStatus)}`,
  );
  assert.equal(server.open, 0);
});

test("fuzz: whatever bytes the server sends before hanging up, the client ends with a typed error or a result, closed, never hanging", async () => {
  const fragment = fc.constantFrom(
    "220 ok\r\n",
    "250 ok\r\n",
    "250-more\r\n",
    "354 go\r\n",
    "421 bye\r\n",
    "550 5.1.1 no\r\n",
    "452 4.5.3 too many\r\n",
    "250",
    "-",
    " ",
    "\r\n",
    "\n",
    "\r",
    "2",
    "x".repeat(600),
    "999 what\r\n",
    "250-".repeat(40),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(fragment, { maxLength: 25 }), async (fragments) => {
      const rt = new Runtime();
      const { outcome, io } = await dialogue(
        (s) =>
          future(function* () {
            // Everything at once, then end of stream (reads by the client are not waited for).
            yield* s.sendRaw(fragments.join(""));
            yield* s.hangUp();
          }),
        (io) =>
          future(function* () {
            const c = yield* SmtpClient.handshake(io);
            const r = yield* c.send({ from: "a@x", to: ["b@x"], data: "hi\r\n" });
            return { r, closed: c.isClosed };
          }),
        { rt, capacity: 1 << 20 },
      );
      if (!outcome.ok) {
        assert.ok(
          outcome.error instanceof SmtpError || outcome.error instanceof BrokenPipe,
          String(outcome.error),
        );
        assert.equal(io.dropped, true);
      }
      assert.equal(rt.dump().tasks.length, 0, rt.dump().toString());
    }),
    { numRuns: 300 },
  );
});

test("pool: dropping close() half-way (QUIT never answered) closes every idle connection at once", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const server = new MemoryServer({ fault: (line) => (line === "QUIT" ? "silent" : undefined) });
  const pool = new SmtpPool({ connect: server.connect, maxConnections: 3 });
  const e = await rt.run(
    future(function* () {
      yield* joinAll([pool.send(mail("a")), pool.send(mail("b")), pool.send(mail("c"))]);
      assert.equal(server.connections, 3);
      return yield* timeout(pool.close(), 1000).catch((error: unknown) => error);
    }),
  );
  assert.ok(e instanceof TimeoutError, String(e));
  assert.equal(rt.time.now(), 1000);
  // The server sessions read the end of stream of every connection.
  await rt.run(future(function* () {}));
  assert.equal(server.open, 0);
});
