/**
 * Async blocks whose generator is not a native generator of this realm: one made by a generator
 * function of another realm (a `vm` context, an iframe), or a hand-written (transpiled) generator
 * object. The block drives it through its own `next`/`throw`/`return`: awaiting, errors thrown in
 * at the `yield*`, and cancellation with an asynchronous `finally` behave as for a native one.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runInNewContext } from "node:vm";
import { type AsyncGenerator, asyncFn, type Future, future } from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

type Body = (
  a: Future<number>,
  b: Future<number>,
  cleanup: Future<void>,
  log: string[],
) => AsyncGenerator<number>;

/** The same body, compiled in a fresh realm: its generators have another %GeneratorPrototype%. */
const foreignBody = runInNewContext(`(function* body(a, b, cleanup, log) {
  try {
    let first;
    try {
      first = yield* a;
    } catch (error) {
      log.push("caught " + error.message);
      first = 100;
    }
    return first + (yield* b);
  } finally {
    log.push("finally");
    yield* cleanup;
    log.push("cleaned");
  }
})`) as Body;

/** A hand-written generator object delegating to a native one, as a transpiler would produce. */
const wrappedBody: Body = (a, b, cleanup, log) => {
  const inner = foreignBody(a, b, cleanup, log);
  return {
    next: (value: unknown) => inner.next(value),
    throw: (error: unknown) => inner.throw(error),
    return: (value: number) => inner.return(value),
    [Symbol.iterator]() {
      return this;
    },
  } as AsyncGenerator<number>;
};

for (const [kind, body] of [
  ["a generator of another realm", foreignBody],
  ["a hand-written generator object", wrappedBody],
] as const) {
  describe(`async block over ${kind}`, () => {
    test("awaits its futures and returns", () => {
      assert.notEqual(
        Object.getPrototypeOf(Object.getPrototypeOf(body(new Leaf(), new Leaf(), new Leaf(), []))),
        Object.getPrototypeOf(function* () {}).prototype,
        "not this realm's generator prototype",
      );
      const a = new Leaf<number>("a");
      const b = new Leaf<number>("b");
      const cleanup = new Leaf<void>("cleanup");
      const log: string[] = [];
      const task = new MockTask(asyncFn(body)(a, b, cleanup, log));
      assertPending(task.poll());
      a.resolve(1);
      assert.ok(task.isWoken());
      assertPending(task.poll());
      assertPending(task.poll()); // spurious
      b.resolve(2);
      assertPending(task.poll(), "its finally waits for the cleanup");
      assert.deepEqual(log, ["finally"]);
      cleanup.resolve();
      assert.equal(assertReady(task.poll()), 3);
      assert.deepEqual(log, ["finally", "cleaned"]);
    });

    test("an awaited future's error is thrown into the body at its yield*", () => {
      const a = new Leaf<number>("a");
      const b = new Leaf<number>("b");
      const cleanup = new Leaf<void>("cleanup");
      const log: string[] = [];
      const task = new MockTask(future(() => body(a, b, cleanup, log)));
      assertPending(task.poll());
      a.reject(new Error("boom"));
      assertPending(task.poll());
      assert.deepEqual(log, ["caught boom"]);
      assert.equal(b.polls, 1);
    });

    test("cancelled, it drops the awaited future and drives its async finally to the end", () => {
      const a = new Leaf<number>("a");
      const b = new Leaf<number>("b");
      const cleanup = new Leaf<void>("cleanup");
      const log: string[] = [];
      const task = new MockTask(future(() => body(a, b, cleanup, log)));
      assertPending(task.poll());
      assertPending(task.pollDrop());
      assert.equal(a.drops, 1);
      assert.deepEqual(log, ["finally"]);
      assert.equal(b.polls, 0, "the rest of the body never runs");
      cleanup.resolve();
      assert.ok(task.isWoken());
      assert.equal(task.pollDrop(), undefined);
      assert.deepEqual(log, ["finally", "cleaned"]);
      assert.equal(cleanup.pollsAfterEnd, 0);
    });
  });
}
