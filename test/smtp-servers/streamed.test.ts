/**
 * A streamed attachment (read from a file chunk by chunk as the message is sent, never whole in
 * memory) against the real servers: 2 MiB of binary data arrives intact once its base64 is
 * decoded, through the client and through the pool (which reopens the file for every send).
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildMessage, type SmtpEnvelope } from "../../src/smtp/index.js";
import { attachmentOf, headerOf } from "./corpus.js";
import { needs, startAiosmtpd, startSmtpSink } from "./servers.js";
import { plain, poolSendAll, sendAll } from "./session.js";

const SIZE = 2 * 1024 * 1024;

/** 2 MiB that are not a repeating pattern of any short period (a 32-bit LCG's high bytes). */
function blob(): Buffer {
  const out = Buffer.alloc(SIZE);
  let x = 12345;
  for (let i = 0; i < SIZE; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe("streamed attachments", () => {
  let dir: string;
  let path: string;
  const bytes = blob();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "waker-streamed-"));
    path = join(dir, "big.bin");
    await writeFile(path, bytes);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const message = (id: string): SmtpEnvelope =>
    buildMessage({
      from: "sender@waker.test",
      to: ["bob@waker.test"],
      subject: "a streamed attachment",
      text: "See the attachment.\n.a dot line\n",
      attachments: [{ filename: "big.bin", path, size: SIZE }],
      headers: { "X-Test-Id": id },
    });

  test("to smtp-sink: 2 MiB from a file arrive intact, directly and through the pool", {
    ...needs("smtp-sink"),
  }, async () => {
    const data = message("streamed-0").data;
    assert.ok(typeof data === "object" && !(data instanceof Uint8Array), "a streamed body");
    const sink = await startSmtpSink();
    try {
      const report = await sendAll(plain(sink.port), [message("streamed-1")]);
      assert.equal(report.error, undefined, String(report.error));
      const outcomes = await poolSendAll({ ...plain(sink.port), maxConnections: 2 }, [
        message("streamed-2"),
        message("streamed-3"),
      ]);
      for (const o of outcomes) assert.equal(o.status, "ok");
      const received = await sink.messages();
      assert.equal(received.length, 3);
      for (const m of received) {
        assert.match(headerOf(m.data, "X-Test-Id") ?? "", /^streamed-[123]$/);
        const got = attachmentOf(m.data, "big.bin");
        assert.ok(got?.equals(bytes), "the decoded attachment equals the file");
      }
    } finally {
      await sink.stop();
    }
  });

  test("to aiosmtpd: 2 MiB from a file arrive intact", { ...needs("aiosmtpd") }, async () => {
    const server = await startAiosmtpd();
    try {
      const report = await sendAll(plain(server.port), [message("streamed-aio")]);
      assert.equal(report.error, undefined, String(report.error));
      const [m] = await server.messages();
      assert.equal(headerOf(m!.data, "X-Test-Id"), "streamed-aio");
      assert.ok(attachmentOf(m!.data, "big.bin")?.equals(bytes));
      // SIZE was declared up front from the known sizes (RFC 1870).
      assert.ok(m!.mailOptions.some((o) => /^SIZE=\d+$/.test(o) && Number(o.slice(5)) > SIZE));
    } finally {
      await server.stop();
    }
  });
});
