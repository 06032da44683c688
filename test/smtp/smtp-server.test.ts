import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { SMTPServer } from "smtp-server";
import { future, Runtime } from "../../src/index.js";
import { SmtpClient, SmtpError } from "../../src/smtp/index.js";

interface Received {
  from: string;
  to: string[];
  data: Buffer;
}

/** An in-process smtp-server on 127.0.0.1 that records what it receives. */
async function startServer(options: { rejectRcpt?: string } = {}) {
  const received: Received[] = [];
  const server = new SMTPServer({
    disabledCommands: ["STARTTLS", "AUTH"],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (address.address === options.rejectRcpt) {
        const error = new Error("no such user") as Error & { responseCode: number };
        error.responseCode = 550;
        callback(error);
        return;
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("end", () => {
        received.push({
          from: session.envelope.mailFrom === false ? "" : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          data: Buffer.concat(chunks),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test("sends to a real SMTP server (smtp-server): envelope and bytes arrive intact", async () => {
  const server = await startServer();
  try {
    const rt = new Runtime();
    const message =
      "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: test\r\n\r\nHello Bob\n.a line starting with a dot\r\nünïcödé 8-bit\r\n";
    const result = await rt.run(
      future(function* () {
        const client = yield* SmtpClient.connect({ port: server.port, name: "client.test" });
        assert.ok(client.extensions.has("PIPELINING"));
        const r = yield* client.send({
          from: "alice@example.com",
          to: ["bob@example.com", "carol@example.com"],
          data: message,
        });
        yield* client.quit();
        return r;
      }),
    );
    assert.deepEqual(result.accepted, ["bob@example.com", "carol@example.com"]);
    assert.equal(result.reply.code, 250);
    assert.equal(server.received.length, 1);
    const got = server.received[0]!;
    assert.equal(got.from, "alice@example.com");
    assert.deepEqual(got.to, ["bob@example.com", "carol@example.com"]);
    // The server un-stuffs dots; line endings were normalised to CRLF.
    assert.equal(got.data.toString("utf8"), message.replace(/\r?\n/g, "\r\n"));
  } finally {
    await server.close();
  }
});

test("partial acceptance: refused recipients are listed, the others get the message", async () => {
  const server = await startServer({ rejectRcpt: "nobody@example.com" });
  try {
    const rt = new Runtime();
    const result = await rt.run(
      future(function* () {
        const client = yield* SmtpClient.connect({ port: server.port });
        const r = yield* client.send({
          from: "alice@example.com",
          to: ["nobody@example.com", "bob@example.com"],
          data: "Subject: x\r\n\r\nbody\r\n",
        });
        yield* client.quit();
        return r;
      }),
    );
    assert.deepEqual(result.accepted, ["bob@example.com"]);
    assert.equal(result.rejected.length, 1);
    assert.equal(result.rejected[0]!.recipient, "nobody@example.com");
    assert.equal(result.rejected[0]!.error.replyCode, 550);
    assert.equal(result.rejected[0]!.error.permanent, true);
    assert.deepEqual(server.received[0]!.to, ["bob@example.com"]);
  } finally {
    await server.close();
  }
});

test("all recipients refused: SmtpError, and the session stays usable", async () => {
  const server = await startServer({ rejectRcpt: "nobody@example.com" });
  try {
    const rt = new Runtime();
    await rt.run(
      future(function* () {
        const client = yield* SmtpClient.connect({ port: server.port });
        const error = yield* client
          .send({ from: "a@x", to: ["nobody@example.com"], data: "x" })
          .catch((e: unknown) => e);
        assert.ok(error instanceof SmtpError);
        assert.equal(error.code, "SMTP_PERMANENT");
        assert.equal(error.command, "RCPT TO:<nobody@example.com>");
        const ok = yield* client.send({ from: "a@x", to: ["b@y"], data: "second" });
        assert.equal(ok.reply.code, 250);
        yield* client.quit();
      }),
    );
    assert.equal(server.received.length, 1);
  } finally {
    await server.close();
  }
});
