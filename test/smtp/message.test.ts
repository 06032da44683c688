import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { InvalidArgumentError } from "../../src/index.js";
import {
  buildMessage,
  dataPayload,
  InvalidAddressError,
  type MessageBody,
} from "../../src/smtp/index.js";

const text = (data: string | Uint8Array | MessageBody) => {
  if (typeof data === "string") return data;
  assert.ok(data instanceof Uint8Array, "an in-memory message");
  return new TextDecoder().decode(data);
};

/** Decodes quoted-printable (RFC 2045) back to text, for checking. */
function decodeQp(qp: string): string {
  const joined = qp.replace(/=\r\n/g, "");
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    if (joined[i] === "=") {
      bytes.push(Number.parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(joined.charCodeAt(i));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

test("headers, envelope, Bcc only in the envelope, RFC 2047 subject", () => {
  const m = buildMessage({
    from: "Alice <alice@example.com>",
    to: ["bob@example.com"],
    cc: ["Carol <carol@example.com>"],
    bcc: ["secret@example.com"],
    subject: "Grüße aus Köln",
    text: "Hello",
    date: new Date(Date.UTC(2026, 10, 26, 12, 0, 0)),
    messageId: "<id-1@example.com>",
  });
  assert.equal(m.from, "alice@example.com");
  assert.deepEqual(m.to, ["bob@example.com", "carol@example.com", "secret@example.com"]);
  const data = text(m.data);
  const head = data.slice(0, data.indexOf("\r\n\r\n"));
  assert.match(head, /^From: Alice <alice@example\.com>\r\n/);
  assert.match(head, /\r\nTo: bob@example\.com\r\n/);
  assert.match(head, /\r\nCc: Carol <carol@example\.com>\r\n/);
  assert.doesNotMatch(data, /secret@example\.com/, "Bcc never appears in the message");
  assert.match(head, /\r\nSubject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=/);
  const encoded = [...head.matchAll(/=\?UTF-8\?B\?([^?]+)\?=/g)].map((w) =>
    Buffer.from(w[1]!, "base64").toString("utf8"),
  );
  assert.equal(encoded.join(""), "Grüße aus Köln");
  assert.match(head, /\r\nDate: Thu, 26 Nov 2026 12:00:00 \+0000\r\n/);
  assert.match(head, /\r\nMessage-ID: <id-1@example\.com>\r\n/);
  assert.match(head, /\r\nMIME-Version: 1\.0/);
});

test("text + html become alternatives; an attachment makes it mixed; content round-trips", () => {
  const csv = "name,score\nünï,1\n";
  const m = buildMessage({
    from: "a@x.test",
    to: ["b@y.test"],
    text: "plain body",
    html: "<p>html body</p>",
    attachments: [{ filename: "scores.csv", content: csv, contentType: "text/csv" }],
  });
  const data = text(m.data);
  assert.match(data, /Content-Type: multipart\/mixed; boundary="([^"]+)"/);
  assert.match(data, /Content-Type: multipart\/alternative; boundary="([^"]+)"/);
  const qpParts = [...data.matchAll(/quoted-printable\r\n\r\n([\s\S]*?)\r\n--/g)].map((p) =>
    decodeQp(p[1]!),
  );
  assert.deepEqual(qpParts, ["plain body", "<p>html body</p>"]);
  const b64 =
    /filename="scores\.csv"\r\nContent-Transfer-Encoding: base64\r\n\r\n([\s\S]*?)\r\n--/.exec(
      data,
    );
  assert.ok(b64);
  assert.equal(Buffer.from(b64[1]!.replace(/\r\n/g, ""), "base64").toString("utf8"), csv);
});

test("a long recipient list is folded: every header line within 78 characters, unfolding restores it", () => {
  const to = Array.from(
    { length: 120 },
    (_, i) => `Recipient Number ${i} <recipient.${i}@example.test>`,
  );
  const cc = Array.from({ length: 30 }, (_, i) => `cc${i}@example.test`);
  const m = buildMessage({ from: "a@x.test", to, cc, text: "hi" });
  const data = text(m.data);
  const head = data.slice(0, data.indexOf("\r\n\r\n"));
  for (const line of head.split("\r\n")) assert.ok(line.length <= 78, line);
  const unfold = (name: string) =>
    new RegExp(`\r\n${name}: ([^\r]*(?:\r\n [^\r]*)*)`)
      .exec(`\r\n${head}`)![1]!
      .replace(/\r\n /g, " ");
  assert.equal(unfold("To"), to.join(", "));
  assert.equal(unfold("Cc"), cc.join(", "));
  assert.equal(m.to.length, 150);
});

test("property: every line stays short and 7-bit; the body decodes to the input", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 3000 }), (body) => {
      const m = buildMessage({
        from: "a@x.test",
        to: ["b@y.test"],
        text: body,
        subject: body.slice(0, 200).replace(/[\r\n]/g, ""),
      });
      const data = text(m.data);
      for (const line of data.split("\r\n")) {
        assert.ok(line.length <= 78, `a line of ${line.length} characters`);
        assert.ok(/^[\x20-\x7e\t]*$/.test(line), "7-bit only");
      }
      const qp = data.slice(
        data.indexOf("quoted-printable\r\n\r\n") + "quoted-printable\r\n\r\n".length,
        -2,
      );
      assert.equal(decodeQp(qp), body.replace(/\r\n|\r|\n/g, "\r\n"));
      // And the DATA payload never has a bare CR or LF.
      const payload = new TextDecoder().decode(dataPayload(new TextEncoder().encode(data)));
      assert.doesNotMatch(payload, /\r(?!\n)|(?<!\r)\n/);
    }),
    { numRuns: 200 },
  );
});

test("header injection and missing parts are typed errors", () => {
  assert.throws(
    () => buildMessage({ from: "a@x", to: ["b@y"], subject: "hi\r\nBcc: victim@z", text: "x" }),
    InvalidAddressError,
  );
  assert.throws(
    () => buildMessage({ from: "a@x\nX: y", to: ["b@y"], text: "x" }),
    InvalidAddressError,
  );
  assert.throws(
    () => buildMessage({ from: "a@x", to: ["b@y"], text: "x", headers: { "X-Tag": "a\r\nb" } }),
    InvalidAddressError,
  );
  assert.throws(() => buildMessage({ from: "a@x", text: "x" }), InvalidArgumentError);
  assert.throws(() => buildMessage({ from: "a@x", to: ["b@y"] }), InvalidArgumentError);
});

test("non-ASCII display names are RFC 2047-encoded: headers stay 7-bit, the envelope has the bare address", () => {
  const m = buildMessage({
    from: "Jörg Müller <joerg@example.test>",
    to: ['"Åsa Ström" <asa@example.test>', "plain@example.test"],
    cc: ["Zoë <zoe@example.test>"],
    subject: "hi",
    text: "x",
  });
  const data = text(m.data);
  const head = data.slice(0, data.indexOf("\r\n\r\n"));
  assert.match(head, /^[\x20-\x7e\r\n\t]*$/, "7-bit headers");
  const decode = (h: string) =>
    h.replace(/=\?UTF-8\?B\?([^?]+)\?=/g, (_, b64: string) =>
      Buffer.from(b64, "base64").toString("utf8"),
    );
  assert.match(decode(head), /^From: Jörg Müller <joerg@example\.test>\r\n/);
  assert.match(decode(head), /\r\nTo: Åsa Ström <asa@example\.test>, plain@example\.test\r\n/);
  assert.match(decode(head), /\r\nCc: Zoë <zoe@example\.test>\r\n/);
  assert.equal(m.from, "joerg@example.test");
  assert.deepEqual(m.to, ["asa@example.test", "plain@example.test", "zoe@example.test"]);
});
