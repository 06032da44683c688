/**
 * Argument checks of the message-building API: buildMessage, messageBody and fileChunks refuse
 * malformed input with typed errors at the call (naming the value), before any I/O, and accept
 * the edge values that are valid (size 0, chunkSize 1).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError, Runtime, Stream } from "../../src/index.js";
import {
  buildMessage,
  fileChunks,
  InvalidAddressError,
  messageBody,
} from "../../src/smtp/index.js";

const base = { from: "a@x.test", to: ["b@y.test"], text: "hi" };
const isArg = (pattern: RegExp) => (e: unknown) =>
  e instanceof InvalidArgumentError && pattern.test(e.message);

test("buildMessage: options that are not an object are an InvalidArgumentError", () => {
  for (const [bad, shown] of [
    [null, "null"],
    [undefined, "undefined"],
    ["a@x.test", 'the string "a@x\\.test"'],
  ] as const) {
    assert.throws(
      () => buildMessage(bad as never),
      isArg(new RegExp(`^buildMessage: expected options, got ${shown}`)),
    );
  }
});

test("buildMessage: a header value that is not a string is an InvalidAddressError carrying it", () => {
  const cases: [Record<string, unknown>, string, unknown][] = [
    [{ from: 42 }, "from", 42],
    [{ to: ["b@y.test", null] }, "to[1]", null],
    [{ cc: [{}] }, "cc[0]", undefined],
    [{ bcc: [7] }, "bcc[0]", 7],
    [{ subject: 5 }, "subject", 5],
    [{ messageId: 9 }, "messageId", 9],
    [{ headers: { "X-Count": 3 } }, "X-Count", 3],
    [{ attachments: [{ filename: 1, content: "x" }] }, "attachment filename", 1],
    [{ attachments: [{ filename: "a", content: "x", contentType: false }] }, "contentType", false],
  ];
  for (const [override, name, value] of cases) {
    assert.throws(
      () => buildMessage({ ...base, ...override } as never),
      (e: unknown) => {
        assert.ok(e instanceof InvalidAddressError, `${name}: ${String(e)}`);
        assert.match(
          e.message,
          new RegExp(`^${name.replace(/[[\]]/g, "\\$&")}: expected a string, got `),
        );
        if (value !== undefined) assert.equal(e.value, value);
        return true;
      },
    );
  }
});

test("buildMessage: attachment content of another kind is an InvalidArgumentError naming it", () => {
  for (const [content, shown] of [
    [42, "number 42"],
    [null, "null"],
    [{ length: 3 }, "a plain object"],
    [[1, 2, 3], "an instance of Array"],
    [Promise.resolve(new Uint8Array(1)), "a Promise"],
  ] as const) {
    assert.throws(
      () =>
        buildMessage({ ...base, attachments: [{ filename: "f.bin", content: content as never }] }),
      isArg(
        new RegExp(
          `^attachment "f\\.bin": content must be text, bytes, a Stream or a function, got ${shown.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`,
        ),
      ),
    );
  }
  // The valid kinds are accepted.
  for (const content of [
    "x",
    new Uint8Array([1]),
    Stream.from([new Uint8Array([1])]),
    () => Stream.from([]),
  ]) {
    buildMessage({ ...base, attachments: [{ filename: "f.bin", content }] });
  }
});

test("messageBody: size must be an integer >= 0 (0 is fine)", () => {
  const open = () => Stream.from<Uint8Array>([]);
  for (const [size, shown] of [
    [-1, "number -1"],
    [1.5, "number 1.5"],
    [Number.NaN, "number NaN"],
    [Number.POSITIVE_INFINITY, "number Infinity"],
    ["10", 'the string "10"'],
  ] as const) {
    assert.throws(
      () => messageBody(open, { size: size as number }),
      isArg(new RegExp(`^messageBody: size must be an integer >= 0, got ${shown}`)),
    );
  }
  assert.equal(messageBody(open, { size: 0 }).size, 0);
  assert.equal(messageBody(open).size, undefined);
});

test("fileChunks: an empty or non-string path, or a chunk size below 1 or not an integer, throws at the call", async () => {
  for (const path of ["", 5, null, undefined]) {
    assert.throws(() => fileChunks(path as never), isArg(/^fileChunks: expected a path, got /));
  }
  for (const chunkSize of [0, -4, 2.5, Number.NaN, "64" as never]) {
    assert.throws(
      () => fileChunks("/no/such/file", chunkSize),
      isArg(/^fileChunks: chunkSize must be an integer >= 1, got /),
    );
  }
  // chunkSize 1 is valid: checked by reading this very file one byte at a time (just its start).
  const first = await new Runtime().run(
    fileChunks(new URL(import.meta.url).pathname, 1)
      .take(3)
      .collect(),
  );
  assert.deepEqual(
    first.map((c) => c.length),
    [1, 1, 1],
  );
});
