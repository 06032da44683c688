/**
 * `yield* fut` in a generator that no async block is running (driven by hand, or iterated by
 * mistake): there is no context to poll with, so the future is handed out unpolled, as a plain
 * `yield fut` would, and the `yield*` evaluates to what the driver sends back (or throws what it
 * throws in). Nothing is polled behind the driver's back and nothing loops for ever.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { type Future, ready } from "../../src/index.js";
import { Leaf } from "./leaf.js";

test("a hand-driven generator receives each awaited future, unpolled, and sends back its output", () => {
  const one = ready(1);
  const leaf = new Leaf<string>("leaf");
  function* body(): Generator<Future<unknown>, string, unknown> {
    const a = yield* one;
    const b = yield* leaf;
    return `${a} ${b}`;
  }
  const gen = body();
  const first = gen.next();
  assert.ok(!first.done);
  assert.equal(first.value, one);
  const second = gen.next(1);
  assert.ok(!second.done);
  assert.equal(second.value, leaf);
  assert.equal(leaf.polls, 0, "not polled: no async block, no context");
  assert.deepEqual(gen.next("sent"), { done: true, value: "1 sent" });
});

test("an error thrown in by the driver surfaces at the yield*", () => {
  const leaf = new Leaf<number>("leaf");
  function* body(): Generator<Future<unknown>, string, unknown> {
    try {
      yield* leaf;
      return "not reached";
    } catch (error) {
      return `caught ${(error as Error).message}`;
    }
  }
  const gen = body();
  assert.equal(gen.next().value, leaf);
  assert.deepEqual(gen.throw(new Error("boom")), { done: true, value: "caught boom" });
});

test("spreading a future by mistake gives the future itself, once", () => {
  const leaf = new Leaf<number>("leaf");
  assert.deepEqual([...leaf], [leaf]);
  assert.equal(leaf.polls, 0);
});
