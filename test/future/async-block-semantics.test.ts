/**
 * Async block inputs that are not generator functions in the sense `future`/`asyncFn` document:
 * an `async function*` (an easy slip for `function*`) must be rejected with InvalidArgumentError
 * where it is passed. Its generator's `next()` returns a Promise, never `{ done: true }`, so a block
 * built from it would poll for ever in one synchronous loop, hanging the process.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asyncFn, future, InvalidArgumentError } from "../../src/index.js";

const rejectsAsyncGenerator = (where: string) => (e: unknown) =>
  e instanceof InvalidArgumentError &&
  new RegExp(where).test(e.message) &&
  /async generator/.test(e.message) &&
  /function\*/.test(e.message);

describe("future/asyncFn reject an async generator function", () => {
  test("future(async function* ...) throws InvalidArgumentError instead of hanging when polled", () => {
    assert.throws(
      () =>
        future(async function* () {
          return 1;
        } as never),
      rejectsAsyncGenerator("future"),
    );
  });

  test("asyncFn(async function* ...) throws InvalidArgumentError where it is defined", () => {
    assert.throws(
      () =>
        asyncFn(async function* (n: number) {
          return n;
        } as never),
      rejectsAsyncGenerator("asyncFn"),
    );
  });

  test("a plain generator function is still accepted", () => {
    assert.doesNotThrow(() =>
      future(function* () {
        return 1;
      }),
    );
    assert.doesNotThrow(() =>
      asyncFn(function* () {
        return 1;
      }),
    );
  });
});
