/**
 * The SMTP client and pool against postfix's smtp-sink (Debian package postfix; never the postfix
 * daemon), started per test on 127.0.0.1 as `smtp-sink -u nobody`: every message it dumps is
 * compared byte for byte with what was sent, and each of its fault switches gives the client the
 * right typed outcome, never a hang.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { SmtpEnvelope } from "../../src/smtp/index.js";
import {
  attachmentOf,
  type CorpusMessage,
  corpus,
  headerOf,
  isEightBit,
  normalisedLf,
} from "./corpus.js";
import { startProxy } from "./proxy.js";
import { needs, type SinkMessage, type SmtpSink, startSmtpSink } from "./servers.js";
import {
  assertConnectionLost,
  assertSmtpError,
  assertTimeout,
  plain,
  poolSendAll,
  sendAll,
  TEST_TIMEOUTS,
} from "./session.js";

/** Runs `body` against a fresh smtp-sink started with `flags`, and always stops it. */
async function withSink<T>(flags: readonly string[], body: (sink: SmtpSink) => Promise<T>) {
  const sink = await startSmtpSink({ flags });
  try {
    return await body(sink);
  } finally {
    await sink.stop();
  }
}

/** The dumped message whose X-Test-Id is `id` (exactly one). */
function dumped(messages: readonly SinkMessage[], id: string): SinkMessage {
  const found = messages.filter((m) => headerOf(m.data, "X-Test-Id") === id);
  assert.equal(found.length, 1, `${id}: expected one dumped message, found ${found.length}`);
  return found[0]!;
}

/** Compares what smtp-sink received with what was sent: envelope, bytes, attachments. */
function assertReceived(messages: readonly SinkMessage[], sent: CorpusMessage): void {
  const got = dumped(messages, sent.id);
  const { from, to } = sent.envelope;
  const data = sent.data;
  assert.match(got.mailArgs, new RegExp(`^<${from.replace(/[.]/g, "\\.")}>`), sent.name);
  assert.deepEqual(
    got.rcptArgs,
    to.map((r) => `<${r}>`),
    sent.name,
  );
  // smtp-sink undoes the dot-stuffing and stores lines with LF: compare against the same.
  assert.ok(
    got.data.equals(normalisedLf(data)),
    `${sent.name}: the received bytes differ from the sent ones\n--- got\n${got.data.toString("latin1")}\n--- expected\n${normalisedLf(data).toString("latin1")}`,
  );
  for (const attachment of sent.attachments) {
    const bytes = attachmentOf(got.data, attachment.filename);
    assert.ok(bytes !== undefined, `${sent.name}: attachment ${attachment.filename} not found`);
    assert.ok(
      bytes.equals(attachment.bytes),
      `${sent.name}: ${attachment.filename} decoded differs`,
    );
  }
  assert.equal(headerOf(got.data, "Bcc"), undefined, "no Bcc header ever");
}

const envelopes = (messages: readonly CorpusMessage[]): SmtpEnvelope[] =>
  messages.map((m) => m.envelope);

/** A one-message envelope for the fault tests. */
const simple: SmtpEnvelope = {
  from: "sender@waker.test",
  to: ["bob@waker.test", "carol@waker.test"],
  data: "Subject: fault\r\nX-Test-Id: fault\r\n\r\n.dot\r\nbody\r\n",
};

/** Pool options for the fault tests: fast retries, a limit on every wait. */
const poolOptions = (port: number) => ({ ...plain(port), retries: 2, retryDelay: 0 });

describe("smtp-sink", needs("smtp-sink"), () => {
  test("ESMTP with PIPELINING and 8BITMIME: every message arrives byte for byte", async () => {
    const messages = corpus("sink-esmtp");
    await withSink([], async (sink) => {
      const report = await sendAll(plain(sink.port), envelopes(messages));
      assert.equal(report.error, undefined, String(report.error));
      assert.ok(report.extensions!.has("PIPELINING"));
      assert.ok(report.extensions!.has("8BITMIME"));
      assert.equal(report.result?.reply.code, 250);
      const received = await sink.messages();
      assert.equal(received.length, messages.length);
      for (const m of messages) assertReceived(received, m);
      for (const m of received) assert.equal(m.proto, "ESMTP");
      assert.equal(dumped(received, "sink-esmtp-dots").helo, "client.waker.test");
      // 8-bit data goes with BODY=8BITMIME when the server offers it; 7-bit data without.
      assert.match(dumped(received, "sink-esmtp-utf8").mailArgs, /BODY=8BITMIME/);
      assert.match(dumped(received, "sink-esmtp-latin1").mailArgs, /BODY=8BITMIME/);
      assert.doesNotMatch(dumped(received, "sink-esmtp-mime").mailArgs, /BODY=/);
      // The null reverse-path.
      assert.match(dumped(received, "sink-esmtp-no-eol").mailArgs, /^<>/);
    });
  });

  test("the same through SmtpPool: every outcome ok, every message once", async () => {
    // The corpus three times (distinct ids), over 3 connections of at most 4 messages each.
    const copies = [0, 1, 2].flatMap((copy) => corpus(`sink-pool-${copy}`));
    await withSink([], async (sink) => {
      const outcomes = await poolSendAll(
        { ...plain(sink.port), maxConnections: 3, maxMessagesPerConnection: 4 },
        envelopes(copies),
      );
      for (const outcome of outcomes) assert.equal(outcome.status, "ok");
      const received = await sink.messages();
      assert.equal(received.length, copies.length);
      for (const m of copies) assertReceived(received, m);
    });
  });

  test("-e (no ESMTP): EHLO is refused, HELO is used, the 7-bit messages arrive intact", async () => {
    const messages = corpus("sink-helo");
    const sevenBit = messages.filter((m) => !isEightBit(m));
    await withSink(["-e"], async (sink) => {
      const proxy = await startProxy(sink.port);
      try {
        const report = await sendAll(plain(proxy.port), envelopes(sevenBit));
        assert.equal(report.error, undefined, String(report.error));
        assert.equal(report.extensions!.size, 0, "no extensions after HELO");
        assert.equal(proxy.maxInFlight, 1, "one command at a time without PIPELINING");
      } finally {
        await proxy.close();
      }
      const received = await sink.messages();
      assert.equal(received.length, sevenBit.length);
      for (const m of sevenBit) assertReceived(received, m);
      for (const m of received) {
        assert.equal(m.proto, "SMTP");
        assert.doesNotMatch(m.mailArgs, /BODY=/);
      }
    });
  });

  for (const flags of [["-e"], ["-8"]]) {
    test(`${flags.join(" ")}: 8-bit data is refused before anything is sent (RFC 6152: no 8BITMIME)`, async () => {
      const eightBit = corpus("sink-8").filter(isEightBit);
      assert.equal(eightBit.length, 2);
      await withSink(flags, async (sink) => {
        for (const m of eightBit) {
          const report = await sendAll(plain(sink.port), [m.envelope]);
          assert.equal(report.stage, "send");
          assert.ok(!report.extensions!.has("8BITMIME"));
          const error = report.error as { code?: unknown; requirement?: unknown };
          assert.equal(error?.code, "SMTP_CAPABILITY", String(report.error));
          assert.equal(error.requirement, "8BITMIME");
          assert.equal(report.closed, false);
          assert.equal(report.usableAfter, true);
        }
        // The 7-bit ones go through on the same server.
        const sevenBit = corpus("sink-8").filter((m) => !isEightBit(m));
        const report = await sendAll(plain(sink.port), envelopes(sevenBit));
        assert.equal(report.error, undefined, String(report.error));
        const received = await sink.messages();
        assert.equal(received.length, sevenBit.length);
        for (const m of sevenBit) assertReceived(received, m);
      });
    });
  }

  test('-P (a CISCO PIX-style greeting, "220 ********", no ESMTP): HELO path', async () => {
    await withSink(["-P"], async (sink) => {
      const report = await sendAll(plain(sink.port), [simple]);
      assert.equal(report.error, undefined, String(report.error));
      const received = await sink.messages();
      assert.equal(received.length, 1);
      assert.equal(received[0]!.proto, "SMTP");
      assert.ok(received[0]!.data.equals(normalisedLf(simple.data as string)));
    });
  });

  test("-f EHLO (EHLO answered 500): HELO fallback", async () => {
    await withSink(["-f", "EHLO"], async (sink) => {
      const report = await sendAll(plain(sink.port), [simple]);
      assert.equal(report.error, undefined, String(report.error));
      const received = await sink.messages();
      assert.equal(received.length, 1);
      assert.equal(received[0]!.proto, "SMTP");
    });
  });

  test("-p (no PIPELINING): one command in flight at a time, messages intact", async () => {
    const messages = corpus("sink-nopipe");
    await withSink(["-p"], async (sink) => {
      const proxy = await startProxy(sink.port);
      try {
        const report = await sendAll(plain(proxy.port), envelopes(messages));
        assert.equal(report.error, undefined, String(report.error));
        assert.ok(!report.extensions!.has("PIPELINING"));
        assert.equal(proxy.maxInFlight, 1);
      } finally {
        await proxy.close();
      }
      const received = await sink.messages();
      for (const m of messages) assertReceived(received, m);
    });
  });

  test("with PIPELINING, MAIL and the RCPTs go out together", async () => {
    await withSink([], async (sink) => {
      const proxy = await startProxy(sink.port);
      try {
        const report = await sendAll(plain(proxy.port), [simple]);
        assert.equal(report.error, undefined, String(report.error));
        // MAIL + 2 RCPT written at once.
        assert.equal(proxy.maxInFlight, 3);
      } finally {
        await proxy.close();
      }
    });
  });

  test("300 recipients in one pipelined batch: all accepted, in order", async () => {
    const to = Array.from({ length: 300 }, (_, i) => `r${i}@waker.test`);
    await withSink([], async (sink) => {
      const report = await sendAll(plain(sink.port), [{ ...simple, to }]);
      assert.equal(report.error, undefined, String(report.error));
      assert.deepEqual(report.result!.accepted, to);
      const [m] = await sink.messages();
      assert.deepEqual(
        m!.rcptArgs,
        to.map((r) => `<${r}>`),
      );
    });
  });

  describe("greeting and EHLO faults fail the connect with a typed error", () => {
    test("-Q CONNECT: a 421 greeting", async () => {
      await withSink(["-Q", "CONNECT"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assert.equal(report.stage, "connect");
        assertSmtpError(report.error, 421, /^greeting$/);
        const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
        assert.equal(outcome!.status, "failed");
        assert.equal(outcome!.attempts, 3, "transient: retried");
      });
    });

    test("-f CONNECT: a 5xx greeting", async () => {
      await withSink(["-f", "CONNECT"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assertSmtpError(report.error, 500, /^greeting$/);
        const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
        assert.equal(outcome!.status, "failed");
        assert.equal(outcome!.attempts, 1, "permanent: not retried");
      });
    });

    test("-q CONNECT: the server hangs up without a greeting", async () => {
      await withSink(["-q", "CONNECT"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assert.equal(report.stage, "connect");
        assertConnectionLost(report.error);
      });
    });

    test("-f EHLO,HELO: HELO refused too", async () => {
      await withSink(["-f", "EHLO,HELO"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assertSmtpError(report.error, 500, /^HELO client\.waker\.test$/);
      });
    });

    test("-r EHLO: a 4xx to EHLO is not a reason to fall back to HELO", async () => {
      await withSink(["-r", "EHLO"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assertSmtpError(report.error, 450, /^EHLO$/);
      });
    });
  });

  describe("a refused command: SmtpError with the reply code; the session stays usable", () => {
    const cases = [
      { command: "MAIL", pattern: /^MAIL FROM:<sender@waker\.test>/ },
      { command: "RCPT", pattern: /^RCPT TO:<bob@waker\.test>$/ },
      { command: "DATA", pattern: /^DATA$/ },
      { command: ".", pattern: /^end of data$/ },
    ];
    for (const { command, pattern } of cases) {
      for (const [flag, code] of [
        ["-f", 500],
        ["-r", 450],
      ] as const) {
        test(`${flag} ${command}: ${code}`, async () => {
          await withSink([flag, command], async (sink) => {
            const report = await sendAll(plain(sink.port), [simple]);
            assert.equal(report.stage, "send");
            assertSmtpError(report.error, code, pattern);
            assert.equal(report.closed, false);
            assert.equal(report.awaitingFinalReply, false, "a reply came");
            assert.equal(report.usableAfter, true, "RSET works after the refusal");
            if (command !== ".") {
              // (smtp-sink writes its dump before it answers the dot, whatever the answer.)
              assert.equal((await sink.messages()).length, 0);
            }
            const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
            assert.equal(outcome!.status, "failed");
            assertSmtpError(
              outcome!.status === "failed" ? outcome!.error : undefined,
              code,
              pattern,
            );
            if (code === 500) assert.equal(outcome!.attempts, 1, "permanent: not retried");
            // A 4xx before the final dot is retried (retries: 2).
            if (code === 450 && command !== ".") assert.equal(outcome!.attempts, 3);
          });
        });
      }
    }
  });

  describe("a refusal, then the server hangs up on the RSET that follows", () => {
    // The refusal is the server's answer to the message; losing the connection on the RSET
    // after it must not replace it (a 5xx reported as a transient 421 "RSET" gets retried).
    const cases = [
      {
        flags: ["-f", "MAIL", "-q", "RSET"],
        code: 500,
        pattern: /^MAIL FROM:<sender@waker\.test>/,
      },
      { flags: ["-f", "RCPT", "-Q", "RSET"], code: 500, pattern: /^RCPT TO:<bob@waker\.test>$/ },
      { flags: ["-f", "DATA", "-q", "RSET"], code: 500, pattern: /^DATA$/ },
      {
        flags: ["-r", "MAIL", "-q", "RSET"],
        code: 450,
        pattern: /^MAIL FROM:<sender@waker\.test>/,
      },
    ];
    for (const { flags, code, pattern } of cases) {
      test(`${flags.join(" ")}: the ${code} is reported, the connection closed`, async () => {
        await withSink(flags, async (sink) => {
          const report = await sendAll(plain(sink.port), [simple]);
          assertSmtpError(report.error, code, pattern);
          assert.equal(report.closed, true);
          const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
          assert.equal(outcome!.status, "failed");
          assertSmtpError(outcome!.status === "failed" ? outcome!.error : undefined, code, pattern);
          assert.equal(outcome!.attempts, code >= 500 ? 1 : 3, "only a 4xx is retried");
          assert.equal((await sink.messages()).length, 0);
        });
      });
    }
  });

  describe("dropped connections", () => {
    for (const command of ["MAIL", "RCPT", "DATA"]) {
      test(`-q ${command} (hang up, no reply): connection lost before the dot, retried, failed`, async () => {
        await withSink(["-q", command], async (sink) => {
          const report = await sendAll(plain(sink.port), [simple]);
          assert.equal(report.stage, "send");
          assertConnectionLost(report.error);
          assert.equal(report.closed, true);
          assert.equal(report.awaitingFinalReply, false);
          const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
          assert.equal(outcome!.status, "failed");
          assert.equal(outcome!.attempts, 3, "lost before the dot: safe to retry");
          assert.equal((await sink.messages()).length, 0);
        });
      });

      test(`-Q ${command} (421 and hang up): SmtpError 421, connection closed`, async () => {
        await withSink(["-Q", command], async (sink) => {
          const report = await sendAll(plain(sink.port), [simple]);
          assertSmtpError(report.error, 421, new RegExp(`^${command}`));
          assert.equal(report.closed, true, "421 closes the connection");
          const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
          assert.equal(outcome!.status, "failed");
          assert.equal(outcome!.attempts, 3);
          assert.equal((await sink.messages()).length, 0);
        });
      });
    }

    test("-q . (hang up after the final dot): outcome unknown, never retried — and it was delivered", async () => {
      await withSink(["-q", "."], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assertConnectionLost(report.error);
        assert.equal(report.awaitingFinalReply, true);
        assert.equal(report.closed, true);
        const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
        assert.equal(outcome!.status, "unknown");
        assert.equal(outcome!.attempts, 1, "never retried");
        // The server had the message both times: a retry would have sent it a third time.
        assert.equal((await sink.messages()).length, 2);
      });
    });

    test("-Q . (421 to the final dot): SmtpError 421, connection closed, not retried", async () => {
      await withSink(["-Q", "."], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assertSmtpError(report.error, 421, /^end of data$/);
        assert.equal(report.closed, true);
        const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
        assert.notEqual(outcome!.status, "ok");
        assert.equal(outcome!.attempts, 1, "not retried after the dot");
      });
    });

    test("-A 0 (550 right after DATA's 354, then hang up): a typed failure, no hang", async () => {
      await withSink(["-A", "0"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assert.equal(report.stage, "send");
        // The 550 normally arrives before the connection is gone; a reset may win the race.
        if (report.awaitingFinalReply) assertConnectionLost(report.error);
        else assertSmtpError(report.error, 550, /^end of data$/);
        const [outcome] = await poolSendAll(poolOptions(sink.port), [simple]);
        assert.notEqual(outcome!.status, "ok");
        assert.equal(outcome!.attempts, 1);
        assert.equal((await sink.messages()).length, 0);
      });
    });
  });

  describe("slow replies", () => {
    const limits = { ...TEST_TIMEOUTS, data: 300, dataEnd: 300 };

    test("-w 1 (DATA answered after 1 s): within the default limits it just takes longer", async () => {
      await withSink(["-w", "1"], async (sink) => {
        const report = await sendAll(plain(sink.port), [simple]);
        assert.equal(report.error, undefined, String(report.error));
        assert.equal((await sink.messages()).length, 1);
      });
    });

    test("-w 1 with a 300 ms DATA limit: TimeoutError before the dot, retried, failed", async () => {
      await withSink(["-w", "1"], async (sink) => {
        const report = await sendAll(plain(sink.port, { timeouts: limits }), [simple]);
        assertTimeout(report.error, 300);
        assert.equal(report.closed, true, "a timeout leaves the session unknown: closed");
        assert.equal(report.awaitingFinalReply, false);
        const [outcome] = await poolSendAll(
          { ...poolOptions(sink.port), timeouts: limits, retries: 1 },
          [simple],
        );
        assert.equal(outcome!.status, "failed");
        assert.equal(outcome!.attempts, 2);
      });
    });

    test("-W CONNECT:1 with a 300 ms greeting limit: TimeoutError from connect, retried, failed", async () => {
      await withSink(["-W", "CONNECT:1"], async (sink) => {
        const greetingLimit = { ...TEST_TIMEOUTS, greeting: 300 };
        const report = await sendAll(plain(sink.port, { timeouts: greetingLimit }), [simple]);
        assert.equal(report.stage, "connect");
        assertTimeout(report.error, 300);
        const [outcome] = await poolSendAll(
          { ...poolOptions(sink.port), timeouts: greetingLimit, retries: 1 },
          [simple],
        );
        assert.equal(outcome!.status, "failed");
        assert.equal(outcome!.attempts, 2);
      });
    });

    test("-W .:1 (the dot answered after 1 s) with a 300 ms limit: unknown, and it was delivered", async () => {
      await withSink(["-W", ".:1"], async (sink) => {
        const report = await sendAll(plain(sink.port, { timeouts: limits }), [simple]);
        assertTimeout(report.error, 300);
        assert.equal(report.awaitingFinalReply, true);
        const [outcome] = await poolSendAll({ ...poolOptions(sink.port), timeouts: limits }, [
          simple,
        ]);
        assert.equal(outcome!.status, "unknown");
        assert.equal(outcome!.attempts, 1);
        // smtp-sink stored the message before it waited: both sends were delivered.
        assert.equal((await sink.messages()).length, 2);
      });
    });
  });
});
