/**
 * send() checks the envelope's shape before anything is written: an envelope that is not an
 * object, a sender or recipient that is not a string (or an empty recipient), no recipients, and
 * data that is not text, bytes or a MessageBody are typed errors thrown by send() itself, and the
 * session stays open and usable.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, InvalidArgumentError, Stream } from "../../src/index.js";
import {
  InvalidAddressError,
  messageBody,
  SmtpClient,
  type SmtpEnvelope,
} from "../../src/smtp/index.js";
import { dialogue, MSG, succeeded } from "./scripted.js";

const bad: [string, unknown, new (...args: never[]) => Error, RegExp][] = [
  ["null envelope", null, InvalidArgumentError, /send: expected an envelope, got null/],
  ["a string envelope", "a@x -> b@y", InvalidArgumentError, /send: expected an envelope/],
  [
    "from not a string",
    { ...MSG, from: 42 },
    InvalidAddressError,
    /send: from: expected an address string, got number 42/,
  ],
  [
    "from missing",
    { to: MSG.to, data: MSG.data },
    InvalidAddressError,
    /send: from: expected an address string/,
  ],
  [
    "to missing",
    { from: MSG.from, data: MSG.data },
    InvalidArgumentError,
    /`to` must list at least one recipient/,
  ],
  ["to empty", { ...MSG, to: [] }, InvalidArgumentError, /`to` must list at least one recipient/],
  [
    "to a string",
    { ...MSG, to: "bob@example.com" },
    InvalidArgumentError,
    /`to` must list at least one recipient/,
  ],
  [
    "an empty recipient",
    { ...MSG, to: ["bob@example.com", ""] },
    InvalidAddressError,
    /send: to\[1\]: expected an address string/,
  ],
  [
    "a recipient not a string",
    { ...MSG, to: [null] },
    InvalidAddressError,
    /send: to\[0\]: expected an address string, got null/,
  ],
  [
    "data missing",
    { from: MSG.from, to: MSG.to },
    InvalidArgumentError,
    /data must be a string, bytes or a MessageBody/,
  ],
  [
    "data a number",
    { ...MSG, data: 7 },
    InvalidArgumentError,
    /data must be a string, bytes or a MessageBody, got number 7/,
  ],
  [
    "data a plain object",
    { ...MSG, data: { size: 3 } },
    InvalidArgumentError,
    /data must be a string, bytes or a MessageBody, got a plain object/,
  ],
  [
    "data an ArrayBuffer",
    { ...MSG, data: new ArrayBuffer(4) },
    InvalidArgumentError,
    /got an instance of ArrayBuffer/,
  ],
];

test("a malformed envelope is a typed error from send() itself; nothing is written; the session goes on", async () => {
  const { outcome, server } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello(["PIPELINING"]);
        // The one valid send after all the refused ones.
        yield* s.expect("MAIL FROM:<alice@example.com>");
        yield* s.expect("RCPT TO:<bob@example.com>");
        yield* s.send(["250 ok", "250 ok"]);
        yield* s.expect("DATA", "354 go");
        yield* s.data("250 queued");
      }),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io);
        const written = io.bytes.length;
        const errors: unknown[] = [];
        for (const [, envelope] of bad) {
          try {
            client.send(envelope as SmtpEnvelope);
            errors.push(undefined);
          } catch (e) {
            errors.push(e);
          }
        }
        const writtenAfter = io.bytes.length;
        const closed = client.isClosed;
        const result = yield* client.send(MSG);
        return { errors, written, writtenAfter, closed, result };
      }),
  );
  const { errors, written, writtenAfter, closed, result } = succeeded(outcome);
  bad.forEach(([label, , type, message], i) => {
    const e = errors[i];
    assert.ok(e instanceof type, `${label}: ${String(e)}`);
    assert.match((e as Error).message, message, label);
  });
  // The rejected value travels with an InvalidAddressError.
  assert.deepEqual(
    errors.filter((e) => e instanceof InvalidAddressError).map((e) => e.value),
    [42, undefined, "", null],
  );
  assert.equal(writtenAfter, written, "nothing written for a malformed envelope");
  assert.equal(closed, false, "the session is untouched");
  assert.deepEqual(result.accepted, ["bob@example.com"]);
  assert.equal(server.lines.filter((l) => l.startsWith("MAIL")).length, 1);
});

test("the null reverse-path and every accepted data form pass the check", async () => {
  const body = messageBody(() =>
    Stream.from([new TextEncoder().encode("Subject: s\r\n\r\nx\r\n")]),
  );
  const { outcome, server } = await dialogue(
    (s) =>
      future(function* () {
        yield* s.hello();
        for (let i = 0; i < 3; i++) {
          yield* s.expect(/^MAIL FROM:<>/, "250 ok");
          yield* s.expect("RCPT TO:<bob@example.com>", "250 ok");
          yield* s.expect("DATA", "354 go");
          yield* s.data("250 queued");
        }
      }),
    (io) =>
      future(function* () {
        const client = yield* SmtpClient.handshake(io);
        const out: string[][] = [];
        for (const data of [
          "Subject: s\r\n\r\nx\r\n",
          new TextEncoder().encode("Subject: s\r\n\r\nx\r\n"),
          body,
        ]) {
          out.push([...(yield* client.send({ from: "", to: ["bob@example.com"], data })).accepted]);
        }
        return out;
      }),
  );
  assert.deepEqual(succeeded(outcome), [
    ["bob@example.com"],
    ["bob@example.com"],
    ["bob@example.com"],
  ]);
  assert.equal(server.lines.filter((l) => l === "Subject: s").length, 3);
});
