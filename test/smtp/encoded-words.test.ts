/**
 * Header lines of buildMessage within their limits. A long ASCII Subject or extra header is folded
 * at its spaces (RFC 5322 2.2.3), a word too long for a 998-character line is encoded instead (a
 * Subject) or refused (an extra header). RFC 2047 encoded words: a long non-ASCII Subject or
 * display name is
 * split into several encoded words, each at most 75 characters and of whole UTF-8 characters
 * (section 5), the header folded between them so that every line stays within 76 characters
 * (section 2; 78 for lines without encoded words, RFC 5322 2.1.1), and unfolding and decoding
 * gives back exactly the text.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { buildMessage, InvalidAddressError, type MessageOptions } from "../../src/smtp/index.js";

const WORD = /=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=/g;
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** The header section of the message buildMessage makes, split into lines. */
function headerLines(options: MessageOptions): string[] {
  const data = buildMessage(options).data;
  assert.equal(typeof data, "string");
  const text = data as string;
  return text.slice(0, text.indexOf("\r\n\r\n")).split("\r\n");
}

/** The unfolded value of header `name`, its encoded words decoded (RFC 2047 section 6.2). */
function headerValue(lines: readonly string[], name: string): string {
  const start = lines.findIndex((l) => l.startsWith(`${name}: `));
  assert.ok(start >= 0, `no ${name} header`);
  let value = lines[start]!.slice(name.length + 2);
  for (let i = start + 1; i < lines.length && /^[ \t]/.test(lines[i]!); i++) value += lines[i];
  // White space between two adjacent encoded words is not part of the text.
  value = value.replace(/(\?=)[ \t]+(?==\?UTF-8\?B\?)/g, "$1");
  return value.replace(WORD, (_, b64: string) => strictUtf8.decode(Buffer.from(b64, "base64")));
}

function checkLines(lines: readonly string[]): void {
  for (const line of lines) {
    assert.match(line, /^[\x20-\x7e]*$/, "7-bit headers");
    const limit = /=\?UTF-8\?B\?/.test(line) ? 76 : 78;
    assert.ok(line.length <= limit, `a line of ${line.length} > ${limit}: ${line}`);
    for (const [word, b64] of line.matchAll(WORD)) {
      assert.ok(word.length <= 75, `an encoded word of ${word.length} characters`);
      // fatal: a multi-byte character split across two words would not decode on its own.
      strictUtf8.decode(Buffer.from(b64!, "base64"));
    }
  }
}

test("a long Cyrillic display name and subject: several encoded words, lines within 76", () => {
  const name = "Университет имени Ломоносова";
  const subject = "Очень длинная тема письма на русском языке, чтобы проверить перенос";
  const lines = headerLines({
    from: `${name} <info@msu.test>`,
    to: ["Ёжик в тумане и другие <a@b.test>", "x@y.test"],
    subject,
    text: "x",
  });
  checkLines(lines);
  assert.equal(headerValue(lines, "From"), `${name} <info@msu.test>`);
  assert.equal(headerValue(lines, "To"), "Ёжик в тумане и другие <a@b.test>, x@y.test");
  assert.equal(headerValue(lines, "Subject"), subject);
  const fromWords = lines.join("\r\n").split("\r\nTo:")[0]!.match(WORD) ?? [];
  assert.ok(fromWords.length >= 2, "the name needs more than one encoded word");
});

test("a display name with a Unicode line or paragraph separator (U+2028, U+2029) is encoded too", () => {
  for (const name of ["Ä\u2028x", "a\u2028b", "x\u2029y"]) {
    const lines = headerLines({
      from: `${name} <a@b.test>`,
      to: [`${name} <c@d.test>`],
      text: "x",
    });
    checkLines(lines);
    assert.equal(headerValue(lines, "From"), `${name} <a@b.test>`);
    assert.equal(headerValue(lines, "To"), `${name} <c@d.test>`);
  }
});

test("non-ASCII white space around an ASCII display name (U+00A0, U+3000, U+2029) stays out of the header", () => {
  for (const [address, shown] of [
    ["Bob\u3000<b@x.test>", "Bob <b@x.test>"],
    ["\u00a0Bob\u00a0<b@x.test>\u00a0", "Bob <b@x.test>"],
    ["\u2029 <b@x.test>", "<b@x.test>"],
  ] as const) {
    const m = buildMessage({ from: address, to: [address], text: "x" });
    const lines = headerLines({ from: address, to: [address], text: "x" });
    checkLines(lines);
    assert.equal(headerValue(lines, "From"), shown);
    assert.equal(headerValue(lines, "To"), shown);
    assert.equal(m.from, "b@x.test");
    assert.deepEqual(m.to, ["b@x.test"]);
  }
});

test("property: any non-ASCII subject and display names round-trip within the line limits", () => {
  const text = fc
    .string({ unit: "binary", maxLength: 80 })
    .map((s) => s.replace(/[\r\n<>"]/g, "").trim());
  fc.assert(
    fc.property(
      text,
      text,
      fc.array(fc.tuple(text, fc.boolean()), { minLength: 1, maxLength: 6 }),
      (subjectText, fromText, recipients) => {
        // A non-ASCII character first, so that every one of them is encoded.
        const subject = `ü${subjectText}`;
        const from = `Ä${fromText}`;
        const to = recipients.map(([n, named], i) =>
          named ? `Ö${n} <r${i}@example.test>` : `r${i}@example.test`,
        );
        const lines = headerLines({
          from: `${from} <sender@example.test>`,
          to,
          subject,
          text: "x",
        });
        checkLines(lines);
        assert.equal(headerValue(lines, "Subject"), subject);
        assert.equal(headerValue(lines, "From"), `${from} <sender@example.test>`);
        assert.equal(headerValue(lines, "To"), to.join(", "));
      },
    ),
    { numRuns: 300 },
  );
});

test("a long ASCII subject and extra header are folded at spaces: lines within 78, unfolding restores them", () => {
  const subject = Array.from({ length: 40 }, (_, i) => `word${i}`).join(" ");
  const trace = `from relay${"-x".repeat(20)}.test by mx.test with ESMTP id 42; two  spaces stay`;
  const lines = headerLines({
    from: "a@b.test",
    to: ["c@d.test"],
    subject,
    text: "hi",
    headers: { "X-Trace": trace },
  });
  checkLines(lines);
  assert.equal(headerValue(lines, "Subject"), subject);
  assert.equal(headerValue(lines, "X-Trace"), trace);
  const subjectAt = lines.findIndex((l) => l.startsWith("Subject: "));
  assert.ok(/^ /.test(lines[subjectAt + 1]!), "folded onto continuation lines");
  for (const line of lines) assert.doesNotMatch(line, /^[ \t]*$/, "no line of white space only");
});

test("a subject with a word too long for a 998-character line is sent as encoded words", () => {
  const subject = `see ${"x".repeat(1200)} end`;
  const lines = headerLines({ from: "a@b.test", to: ["c@d.test"], subject, text: "hi" });
  checkLines(lines);
  assert.equal(headerValue(lines, "Subject"), subject);
});

test("an extra header with a line over 998 characters and no space to fold at is refused", () => {
  const options = {
    from: "a@b.test",
    to: ["c@d.test"],
    text: "hi",
    headers: { "X-Token": "t".repeat(1000) },
  };
  assert.throws(() => buildMessage(options), InvalidAddressError);
  const fits = { ...options, headers: { "X-Token": "t".repeat(980) } };
  const line = headerLines(fits).find((l) => l.startsWith("X-Token: "));
  assert.equal(line?.length, 989, "a long line within 998 characters is kept whole");
});
