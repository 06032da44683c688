/**
 * The SMTP client and pool against aiosmtpd (Debian package python3-aiosmtpd, through
 * `aiosmtpd-server.py`), started per suite on 127.0.0.1: it offers SIZE, 8BITMIME and SMTPUTF8
 * but not PIPELINING, saves every message it accepts, and refuses recipients named reject-* (550)
 * and busy-* (451).
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  attachmentOf,
  type CorpusMessage,
  corpus,
  headerOf,
  isEightBit,
  normalised,
} from "./corpus.js";
import { startProxy } from "./proxy.js";
import { type Aiosmtpd, type AiosmtpdMessage, needs, startAiosmtpd } from "./servers.js";
import { assertSmtpError, plain, poolSendAll, sendAll } from "./session.js";

/** The saved message whose X-Test-Id is `id` (exactly one). */
function saved(messages: readonly AiosmtpdMessage[], id: string): AiosmtpdMessage {
  const found = messages.filter((m) => headerOf(m.data, "X-Test-Id") === id);
  assert.equal(found.length, 1, `${id}: expected one saved message, found ${found.length}`);
  return found[0]!;
}

/** Compares what aiosmtpd saved with what was sent: envelope, bytes, attachments. */
function assertReceived(messages: readonly AiosmtpdMessage[], sent: CorpusMessage): void {
  const got = saved(messages, sent.id);
  // aiosmtpd records the null reverse-path as "<>".
  assert.equal(got.mailFrom, sent.envelope.from === "" ? "<>" : sent.envelope.from, sent.name);
  assert.deepEqual(got.rcptTos, sent.envelope.to, sent.name);
  // aiosmtpd undoes the dot-stuffing and keeps the CRLF line endings.
  const expected = normalised(sent.data);
  assert.ok(
    got.data.equals(expected),
    `${sent.name}: the received bytes differ from the sent ones\n--- got\n${got.data.toString("latin1")}\n--- expected\n${expected.toString("latin1")}`,
  );
  for (const attachment of sent.attachments) {
    const bytes = attachmentOf(got.data, attachment.filename);
    assert.ok(bytes !== undefined, `${sent.name}: attachment ${attachment.filename} not found`);
    assert.ok(bytes.equals(attachment.bytes), `${sent.name}: ${attachment.filename} differs`);
  }
  assert.equal(headerOf(got.data, "Bcc"), undefined, "no Bcc header ever");
}

describe("aiosmtpd", needs("aiosmtpd"), () => {
  let server: Aiosmtpd;
  before(async () => {
    server = await startAiosmtpd();
  });
  after(async () => {
    await server?.stop();
  });

  test("no PIPELINING: one command in flight; every message arrives byte for byte", async () => {
    const messages = corpus("aio");
    const proxy = await startProxy(server.port);
    let report: Awaited<ReturnType<typeof sendAll>>;
    try {
      report = await sendAll(
        plain(proxy.port),
        messages.map((m) => m.envelope),
      );
    } finally {
      await proxy.close();
    }
    assert.equal(report.error, undefined, String(report.error));
    const ext = report.extensions!;
    assert.ok(!ext.has("PIPELINING"));
    assert.ok(ext.has("8BITMIME") && ext.has("SMTPUTF8") && ext.has("SIZE"));
    assert.equal(proxy.maxInFlight, 1, "one command at a time without PIPELINING");
    const received = await server.messages();
    for (const m of messages) assertReceived(received, m);
    for (const m of messages) {
      const got = saved(received, m.id);
      assert.equal(got.helo, "client.waker.test");
      // SIZE is declared (RFC 1870), BODY=8BITMIME exactly for 8-bit data (RFC 6152).
      assert.ok(
        got.mailOptions.some((o) => /^SIZE=\d+$/.test(o)),
        `${m.name}: ${got.mailOptions}`,
      );
      assert.equal(got.mailOptions.includes("BODY=8BITMIME"), isEightBit(m), m.name);
    }
  });

  test("partial acceptance: refused recipients are reported (550 permanent, 451 transient)", async () => {
    const report = await sendAll(plain(server.port), [
      {
        from: "sender@waker.test",
        to: ["reject-1@waker.test", "bob@waker.test", "busy-1@waker.test", "carol@waker.test"],
        data: "Subject: partial\r\nX-Test-Id: aio-partial\r\n\r\nhello\r\n",
      },
    ]);
    assert.equal(report.error, undefined, String(report.error));
    const result = report.result!;
    assert.deepEqual(result.accepted, ["bob@waker.test", "carol@waker.test"]);
    assert.deepEqual(
      result.rejected.map((r) => [r.recipient, r.error.replyCode, r.error.code]),
      [
        ["reject-1@waker.test", 550, "SMTP_PERMANENT"],
        ["busy-1@waker.test", 451, "SMTP_TRANSIENT"],
      ],
    );
    assert.equal(result.rejected[0]!.error.enhancedCode, "5.1.1");
    const got = saved(await server.messages(), "aio-partial");
    assert.deepEqual(got.rcptTos, ["bob@waker.test", "carol@waker.test"]);
  });

  test("every recipient refused: SmtpError for the first, nothing saved, session usable", async () => {
    const report = await sendAll(plain(server.port), [
      {
        from: "sender@waker.test",
        to: ["reject-2@waker.test", "busy-2@waker.test"],
        data: "Subject: none\r\nX-Test-Id: aio-none\r\n\r\nhello\r\n",
      },
    ]);
    assertSmtpError(report.error, 550, /^RCPT TO:<reject-2@waker\.test>$/);
    assert.equal(report.usableAfter, true);
    const received = await server.messages();
    assert.equal(received.filter((m) => headerOf(m.data, "X-Test-Id") === "aio-none").length, 0);
  });

  test("452 (too many recipients): the rest go in further transactions, each once", async () => {
    const to = ["many-1@waker.test", "many-2@waker.test", "bob@waker.test", "many-3@waker.test"];
    const report = await sendAll(plain(server.port), [
      {
        from: "sender@waker.test",
        to,
        data: "Subject: split\r\nX-Test-Id: aio-split\r\n\r\nhi\r\n",
      },
    ]);
    assert.equal(report.error, undefined, String(report.error));
    assert.deepEqual([...report.result!.accepted].sort(), [...to].sort());
    assert.deepEqual(report.result!.rejected, []);
    const got = (await server.messages()).filter(
      (m) => headerOf(m.data, "X-Test-Id") === "aio-split",
    );
    // After the first 452 the client defers every later recipient (the server is full).
    assert.deepEqual(
      got.map((m) => m.rcptTos),
      [["many-1@waker.test"], ["many-2@waker.test", "bob@waker.test"], ["many-3@waker.test"]],
    );
  });

  test("452 split, connection lost in the second transaction: delivered ones kept, never resent", async () => {
    const to = ["many-a@waker.test", "many-b@waker.test"];
    // The proxy resets every connection on its second MAIL FROM.
    const mails = new Map<number, number>();
    const proxy = await startProxy(server.port, {
      command(conn, line) {
        if (!line.startsWith("MAIL FROM:")) return "forward";
        const n = (mails.get(conn.index) ?? 0) + 1;
        mails.set(conn.index, n);
        return n === 2 ? "reset" : "forward";
      },
    });
    const envelope = {
      from: "sender@waker.test",
      to,
      data: "Subject: split\r\nX-Test-Id: aio-split-lost\r\n\r\nhi\r\n",
    };
    try {
      const report = await sendAll(plain(proxy.port), [envelope]);
      assert.equal(report.error, undefined, String(report.error));
      assert.deepEqual(report.result!.accepted, ["many-a@waker.test"]);
      assert.deepEqual(
        report.result!.rejected.map((r) => r.recipient),
        ["many-b@waker.test"],
      );
      const [outcome] = await poolSendAll({ ...plain(proxy.port), retries: 2, retryDelay: 0 }, [
        envelope,
      ]);
      assert.equal(outcome!.status, "ok", "delivered to one recipient: not a failure to retry");
      assert.equal(outcome!.attempts, 1);
    } finally {
      await proxy.close();
    }
    const got = (await server.messages()).filter(
      (m) => headerOf(m.data, "X-Test-Id") === "aio-split-lost",
    );
    // One per send (client, pool): the first transaction was never repeated.
    assert.deepEqual(
      got.map((m) => m.rcptTos),
      [["many-a@waker.test"], ["many-a@waker.test"]],
    );
  });

  test("a non-ASCII address goes with SMTPUTF8 (RFC 6531)", async () => {
    const report = await sendAll(plain(server.port), [
      {
        from: "zoë@waker.test",
        to: ["jürgen@bücher.test"],
        data: "Subject: utf8 address\r\nX-Test-Id: aio-smtputf8\r\n\r\nhello\r\n",
      },
    ]);
    assert.equal(report.error, undefined, String(report.error));
    const got = saved(await server.messages(), "aio-smtputf8");
    assert.equal(got.mailFrom, "zoë@waker.test");
    assert.deepEqual(got.rcptTos, ["jürgen@bücher.test"]);
    assert.ok(got.mailOptions.includes("SMTPUTF8"), String(got.mailOptions));
  });

  test("through SmtpPool: three copies of the corpus, every outcome ok, every message once", async () => {
    const copies = [0, 1, 2].flatMap((copy) => corpus(`aio-pool-${copy}`));
    const outcomes = await poolSendAll(
      { ...plain(server.port), maxConnections: 4, maxMessagesPerConnection: 3 },
      copies.map((m) => m.envelope),
    );
    for (const outcome of outcomes) assert.equal(outcome.status, "ok");
    const received = await server.messages();
    for (const m of copies) assertReceived(received, m);
  });
});
