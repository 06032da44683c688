/**
 * `withSignal(fut, signal)` when the signal never aborts: the future's value or error passes
 * through, and the abort listener is removed however the wrapper ends (completed, threw, dropped
 * by an owner that drives its cleanup), so a long-lived signal does not collect listeners.
 */
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { describe, test } from "node:test";
import { ready, select, withSignal } from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { blockWithAsyncFinally, Leaf } from "./leaf.js";

const listeners = (signal: AbortSignal): number => getEventListeners(signal, "abort").length;

describe("withSignal, signal not aborted", () => {
  test("completes with the future's value and stops listening", () => {
    const controller = new AbortController();
    const leaf = new Leaf<number>();
    const task = new MockTask(withSignal(leaf, controller.signal));
    assertPending(task.poll());
    assert.equal(listeners(controller.signal), 1);
    leaf.resolve(4);
    assert.equal(assertReady(task.poll()), 4);
    assert.equal(listeners(controller.signal), 0);
    controller.abort(new Error("too late"));
    assert.equal(leaf.drops, 0, "an abort after completion changes nothing");
  });

  test("a future ready at once completes without ever listening", () => {
    const controller = new AbortController();
    assert.equal(
      assertReady(new MockTask(withSignal(ready("now"), controller.signal)).poll()),
      "now",
    );
    assert.equal(listeners(controller.signal), 0);
  });

  test("rethrows the future's error and stops listening", () => {
    const controller = new AbortController();
    const boom = new Error("boom");
    const leaf = new Leaf<number>();
    const task = new MockTask(withSignal(leaf, controller.signal));
    assertPending(task.poll());
    leaf.reject(boom);
    assert.throws(() => task.poll(), boom);
    assert.equal(listeners(controller.signal), 0);
  });

  test("dropped as a select loser: its future's async cleanup runs to its end, then it stops listening", () => {
    const controller = new AbortController();
    const cleanup = new Leaf<void>("cleanup");
    const log: string[] = [];
    const body = blockWithAsyncFinally(cleanup, log);
    const winner = new Leaf<string>("winner");
    const task = new MockTask(
      select([winner, withSignal(body, controller.signal)], { biased: true }),
    );
    assertPending(task.poll());
    winner.resolve("w");
    assertPending(task.poll(), "select waits for the loser's cleanup");
    assert.deepEqual(log, ["finally"]);
    assert.equal(listeners(controller.signal), 1, "still listening while the cleanup runs");
    cleanup.resolve();
    assert.ok(task.isWoken());
    assert.deepEqual(assertReady(task.poll()), { index: 0, value: "w" });
    assert.deepEqual(log, ["finally", "cleaned"]);
    assert.equal(listeners(controller.signal), 0);
  });

  test("pollDrop after it completed does nothing", () => {
    const controller = new AbortController();
    const leaf = new Leaf<number>();
    const task = new MockTask(withSignal(leaf, controller.signal));
    assertPending(task.poll());
    leaf.resolve(1);
    assertReady(task.poll());
    assert.equal(task.pollDrop(), undefined);
    assert.equal(leaf.drops, 0);
  });
});
