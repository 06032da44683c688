/**
 * `new Runtime(options)` refuses bad options at the boundary with an InvalidArgumentError that
 * says what was expected and what was given, instead of misbehaving later.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidArgumentError, Runtime } from "../../src/index.js";

function rejects(options: unknown, message: RegExp): void {
  assert.throws(
    () => new Runtime(options as never),
    (e: unknown) => e instanceof InvalidArgumentError && message.test(e.message),
  );
}

test("options must be an object", () => {
  rejects(null, /options must be an object, got null/);
  rejects(42, /options must be an object, got number 42/);
  rejects("virtual", /options must be an object/);
});

test('clock must be "real" or "virtual"', () => {
  rejects({ clock: "fake" }, /clock must be "real" or "virtual", got .*fake/);
  rejects({ clock: true }, /clock must be "real" or "virtual"/);
  assert.equal(new Runtime({ clock: "virtual" }).time.isPaused, true);
  assert.equal(new Runtime({ clock: "real" }).time.isPaused, false);
});

test('scheduling must be "fifo", { random: seed } or a policy', () => {
  rejects({ scheduling: "lifo" }, /scheduling must be "fifo" or \{ random: seed \}, got .*lifo/);
  rejects({ scheduling: null }, /scheduling must be/);
  rejects({ scheduling: { random: Number.NaN } }, /scheduling must be/);
  rejects({ scheduling: {} }, /scheduling must be/);
  assert.ok(new Runtime({ scheduling: { random: 7 } }) instanceof Runtime);
});
