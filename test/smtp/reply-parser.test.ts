import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  MAX_REPLY_LINE,
  MAX_REPLY_LINES,
  ReplyParser,
  SmtpError,
  type SmtpReply,
} from "../../src/smtp/index.js";

/** Feeds `lines` in order; returns the replies completed along the way. */
function feed(parser: ReplyParser, lines: readonly string[]): SmtpReply[] {
  const out: SmtpReply[] = [];
  for (const line of lines) {
    const r = parser.push(line);
    if (r !== undefined) out.push(r);
  }
  return out;
}

function assertProtocolError(fn: () => unknown, what: RegExp): SmtpError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SmtpError, `expected SmtpError, got ${String(caught)}`);
  assert.equal(caught.code, "SMTP_PROTOCOL");
  assert.equal(caught.replyCode, 0);
  assert.equal(caught.transient, false);
  assert.equal(caught.permanent, false);
  assert.match(caught.message, what);
  return caught;
}

test("ReplyParser: a single-line reply", () => {
  const p = new ReplyParser();
  assert.deepEqual(p.push("220 mx.example.com ESMTP ready"), {
    code: 220,
    enhancedCode: undefined,
    lines: ["mx.example.com ESMTP ready"],
  });
  assert.equal(p.partial, false);
});

test("ReplyParser: a multi-line reply is returned only at its final line", () => {
  const p = new ReplyParser();
  assert.equal(p.push("250-mx.example.com greets you"), undefined);
  assert.equal(p.partial, true);
  assert.equal(p.push("250-PIPELINING"), undefined);
  assert.equal(p.push("250-SIZE 1000000"), undefined);
  const r = p.push("250 8BITMIME");
  assert.deepEqual(r, {
    code: 250,
    enhancedCode: undefined,
    lines: ["mx.example.com greets you", "PIPELINING", "SIZE 1000000", "8BITMIME"],
  });
  assert.equal(p.partial, false);
  // The parser is ready for the next reply.
  assert.deepEqual(p.push("354 go ahead")?.code, 354);
});

test('ReplyParser: a bare "250" and a "250 " (no text) end a reply', () => {
  const p = new ReplyParser();
  assert.equal(p.push("250-mx.example.com"), undefined);
  assert.deepEqual(p.push("250")?.lines, ["mx.example.com", ""]);
  assert.equal(p.push("250-mx.example.com"), undefined);
  assert.deepEqual(p.push("250 ")?.lines, ["mx.example.com", ""]);
  assert.deepEqual(p.push("221"), { code: 221, enhancedCode: undefined, lines: [""] });
  // "250-" with no text continues with an empty line.
  assert.equal(p.push("250-"), undefined);
  assert.deepEqual(p.push("250 done")?.lines, ["", "done"]);
});

test("ReplyParser: enhanced status codes (RFC 3463) are read from the first line", () => {
  const p = new ReplyParser();
  assert.equal(p.push("550 5.1.1 <nobody@example.com>: user unknown")?.enhancedCode, "5.1.1");
  assert.equal(p.push("250 2.0.0 Ok: queued as 12345")?.enhancedCode, "2.0.0");
  assert.equal(p.push("452 4.5.3 Too many recipients")?.enhancedCode, "4.5.3");
  assert.equal(p.push("250 2.1.0")?.enhancedCode, "2.1.0", "enhanced code alone");
  assert.equal(p.push("251 2.100.999 forwarded")?.enhancedCode, "2.100.999");
  // The class must match the reply's first digit.
  assert.equal(p.push("250 5.1.1 odd")?.enhancedCode, undefined);
  // Not an enhanced code: too many digits, missing parts, glued text.
  assert.equal(p.push("250 2.1.1000 x")?.enhancedCode, undefined);
  assert.equal(p.push("250 2.1 x")?.enhancedCode, undefined);
  assert.equal(p.push("250 2.1.0x")?.enhancedCode, undefined);
  assert.equal(p.push("250 ok")?.enhancedCode, undefined);
  // Multi-line: the first line carries it.
  assert.equal(p.push("550-5.7.1 refused"), undefined);
  const r = p.push("550-5.7.1 see https://example.com");
  assert.equal(r, undefined);
  const last = p.push("550 5.7.1 bye");
  assert.equal(last?.enhancedCode, "5.7.1");
  assert.equal(last?.lines.length, 3);
});

test("ReplyParser: mixed codes within one reply are a protocol error", () => {
  const p = new ReplyParser();
  p.push("250-mx.example.com");
  const e = assertProtocolError(() => p.push("251 oops", "EHLO x"), /mixing codes 250 and 251/);
  assert.equal(e.command, "EHLO x");
});

test("ReplyParser: malformed lines are protocol errors", () => {
  for (const line of [
    "",
    "hello",
    "25",
    "2500 x",
    "250x",
    "250_x",
    "150 intermediate",
    "650 six",
    "099 zero",
    " 250 x",
    "abc def",
    "250\tx",
  ]) {
    assertProtocolError(() => new ReplyParser().push(line), /malformed reply line/);
  }
});

test("ReplyParser: an overlong line is a protocol error (512 octets including CRLF)", () => {
  const p = new ReplyParser();
  const longest = `250 ${"x".repeat(MAX_REPLY_LINE - 2 - 4)}`;
  assert.equal(longest.length + 2, MAX_REPLY_LINE);
  assert.equal(p.push(longest)?.code, 250, "exactly 512 octets is allowed");
  assertProtocolError(() => p.push(`${longest}x`), /reply line of 513 octets/);
  assertProtocolError(() => new ReplyParser().push("x".repeat(100_000)), /octets/);
});

test("ReplyParser: the line limit counts octets, not UTF-16 code units", () => {
  // 4 + 300 * 2 = 604 octets of UTF-8, but only 304 UTF-16 code units.
  const line = `250 ${"é".repeat(300)}`;
  assert.ok(new TextEncoder().encode(line).length + 2 > MAX_REPLY_LINE);
  assertProtocolError(() => new ReplyParser().push(line), /octets/);
});

test("ReplyParser: more than 200 lines in one reply is a protocol error", () => {
  const p = new ReplyParser();
  for (let i = 0; i < MAX_REPLY_LINES; i++) assert.equal(p.push(`250-line ${i}`), undefined);
  assertProtocolError(() => p.push("250-one too many"), /more than 200 lines/);

  // 200 lines including the final one is fine.
  const q = new ReplyParser();
  for (let i = 0; i < MAX_REPLY_LINES - 1; i++) q.push(`250-line ${i}`);
  assert.equal(q.push("250 last")?.lines.length, MAX_REPLY_LINES);

  // A final line as the 201st is refused too.
  const r = new ReplyParser();
  for (let i = 0; i < MAX_REPLY_LINES; i++) r.push(`250-line ${i}`);
  assertProtocolError(() => r.push("250 last"), /more than 200 lines/);
});

test("ReplyParser: an endless continuation stops at the cap, never grows without bound", () => {
  const p = new ReplyParser();
  let thrown: unknown;
  let pushed = 0;
  for (; pushed < 10_000; pushed++) {
    try {
      p.push("250-more");
    } catch (e) {
      thrown = e;
      break;
    }
  }
  assert.ok(thrown instanceof SmtpError);
  assert.equal(thrown.code, "SMTP_PROTOCOL");
  assert.equal(pushed, MAX_REPLY_LINES);
});

// ---------------------------------------------------------------------------------------------
// Fuzz: whatever a hostile server sends, the parser returns replies or throws SMTP_PROTOCOL.

const digit = fc.integer({ min: 0, max: 9 }).map(String);
const code = fc.integer({ min: 200, max: 599 }).map(String);
const text = fc.string({ maxLength: 40, unit: "binary" });
const sep = fc.constantFrom(" ", "-", "", "\t", "_", "--");

const line = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.tuple(code, fc.constantFrom(" ", "-", ""), text).map((t) => t.join("")),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom("250", "220"), sep, text).map((t) => t.join("")),
  },
  { weight: 1, arbitrary: fc.tuple(digit, digit, digit, sep, text).map((t) => t.join("")) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60, unit: "binary" }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 10, unit: "grapheme" }) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(code, fc.integer({ min: 400, max: 2000 }))
      .map(([c, n]) => `${c} ${"x".repeat(n)}`),
  },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom("250-", "250 "), fc.integer({ min: 200, max: 400 }))
      .map(([c, n]) => `${c}${"ü".repeat(n)}`),
  },
);

const script = fc.oneof(
  { weight: 4, arbitrary: fc.array(line, { maxLength: 40 }) },
  // Endless continuation: many "250-" lines, maybe with a final one.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 150, max: 260 }), fc.option(line))
      .map(([n, last]) => [
        ...Array.from({ length: n }, (_, i) => `250-${i}`),
        ...(last === null ? [] : [last]),
      ]),
  },
  // Missing final line: only continuations.
  {
    weight: 1,
    arbitrary: fc.array(
      code.map((c) => `${c}-x`),
      { maxLength: 20 },
    ),
  },
);

test("ReplyParser fuzz: malformed input only ever yields replies or SMTP_PROTOCOL errors", () => {
  fc.assert(
    fc.property(script, (lines) => {
      let parser = new ReplyParser();
      for (const l of lines) {
        let reply: SmtpReply | undefined;
        try {
          reply = parser.push(l, "FUZZ");
        } catch (e) {
          if (!(e instanceof SmtpError)) throw e;
          assert.equal(e.code, "SMTP_PROTOCOL");
          assert.equal(e.replyCode, 0);
          assert.equal(e.command, "FUZZ");
          // A client drops the connection after a protocol error: start afresh.
          parser = new ReplyParser();
          continue;
        }
        if (reply !== undefined) {
          // A returned reply is well-formed.
          assert.ok(Number.isInteger(reply.code) && reply.code >= 200 && reply.code <= 599);
          assert.ok(reply.lines.length >= 1 && reply.lines.length <= MAX_REPLY_LINES);
          assert.equal(parser.partial, false);
          assert.ok(
            reply.enhancedCode === undefined ||
              (/^[245]\.\d{1,3}\.\d{1,3}$/.test(reply.enhancedCode) &&
                reply.enhancedCode[0] === String(reply.code)[0]),
          );
          // Its line came in well-formed and within the limit.
          assert.ok(l.length + 2 <= MAX_REPLY_LINE);
          assert.match(l, new RegExp(`^${reply.code}( |$)`));
        }
      }
    }),
    { numRuns: 500 },
  );
});

test("ReplyParser fuzz: after a protocol error the same parser still only throws SMTP_PROTOCOL", () => {
  fc.assert(
    fc.property(script, script, (a, b) => {
      const parser = new ReplyParser();
      for (const l of [...a, ...b]) {
        try {
          parser.push(l);
        } catch (e) {
          if (!(e instanceof SmtpError) || e.code !== "SMTP_PROTOCOL") throw e;
        }
      }
    }),
    { numRuns: 200 },
  );
});

test("ReplyParser fuzz: well-formed replies round-trip", () => {
  const wellFormed = fc.tuple(
    fc.integer({ min: 200, max: 599 }),
    fc.array(fc.stringMatching(/^[ -~]{0,60}$/), { minLength: 1, maxLength: MAX_REPLY_LINES }),
  );
  fc.assert(
    fc.property(fc.array(wellFormed, { minLength: 1, maxLength: 5 }), (replies) => {
      const p = new ReplyParser();
      const lines = replies.flatMap(([c, texts]) =>
        texts.map((t, i) => `${c}${i === texts.length - 1 ? " " : "-"}${t}`),
      );
      const got = feed(p, lines);
      assert.deepEqual(
        got.map((r) => [r.code, r.lines]),
        replies.map(([c, texts]) => [c, texts]),
      );
    }),
    { numRuns: 200 },
  );
});
