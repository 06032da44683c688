/**
 * `shield(fut)` outside an async block: whoever cancels it (a `select` dropping a loser, a join
 * being dropped, a synchronous `drop()`, an aborted task) must still run the inner future to its
 * end, discard its value, and surface its error as a cleanup error; and it must never poll the
 * inner future again once it has completed or thrown.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Cancelled,
  future,
  JoinError,
  join,
  Runtime,
  ready,
  select,
  shield,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Gate } from "../helpers.js";
import { Countdown, Leaf } from "./leaf.js";

describe("shield outside an async block", () => {
  test("polled normally, it is transparent: the inner future's value", () => {
    const inner = new Leaf<number>("inner");
    const task = new MockTask(shield(inner));
    assertPending(task.poll());
    inner.resolve(7);
    assert.ok(task.isWoken());
    assert.equal(assertReady(task.poll()), 7);
  });

  test("describe() names the inner future", () => {
    assert.equal(shield(new Leaf("flush")).describe(), "shield(flush)");
  });

  test("a losing select branch runs to its end before select reports the winner; its value is discarded", () => {
    const inner = new Leaf<string>("inner");
    const task = new MockTask(select([ready(1), shield(inner)], { biased: true }));
    assertPending(task.poll(), "select waits for the shielded loser");
    assert.equal(inner.drops, 0, "the shielded loser is not dropped");
    assert.equal(inner.polls, 1);
    inner.resolve("discarded");
    assert.ok(task.isWoken());
    assert.deepEqual(assertReady(task.poll()), { index: 0, value: 1 });
    assert.ok(inner.completed);
    assert.equal(inner.drops, 0);
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("a losing select branch that fails is reported: the winner's select throws that error", () => {
    const inner = new Leaf<string>("inner");
    const boom = new Error("flush failed");
    const task = new MockTask(select([ready(1), shield(inner)], { biased: true }));
    assertPending(task.poll());
    inner.reject(boom);
    assert.throws(() => task.poll(), boom);
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("a dropped join waits for its shielded child to finish", () => {
    const inner = new Leaf<number>("inner");
    const other = new Leaf<number>("other");
    const task = new MockTask(join(shield(inner), other));
    assertPending(task.poll());
    assertPending(task.pollDrop(), "the shielded child still runs");
    assert.equal(other.drops, 1, "the unshielded child is dropped at once");
    assert.equal(inner.drops, 0);
    inner.resolve(3);
    assert.ok(task.isWoken());
    assert.equal(task.pollDrop(), undefined);
    assert.ok(inner.completed);
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("pollDrop after the shield completed does nothing", () => {
    const inner = new Leaf<number>("inner");
    const s = shield(inner);
    const task = new MockTask(s);
    assertPending(task.poll());
    inner.resolve(1);
    assert.equal(assertReady(task.poll()), 1);
    assert.equal(task.pollDrop(), undefined);
    s.drop();
    assert.equal(inner.pollsAfterEnd, 0);
    assert.equal(inner.drops, 0);
  });

  test("a shield whose inner future threw is over: drop() does not poll it again", () => {
    const boom = new Error("boom");
    const inner = Countdown.fail(0, boom, "inner");
    const s = shield(inner);
    assert.throws(() => new MockTask(s).poll(), boom);
    // `using s = shield(...)` disposes after the yield* threw: that must be a no-op.
    s.drop();
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("`using` a shield whose future threw: disposing it at the block's end is a no-op", () => {
    const boom = new Error("boom");
    const inner = Countdown.fail(1, boom, "inner");
    const block = future(function* () {
      try {
        using s = shield(inner);
        yield* s;
        return "unreachable";
      } catch (error) {
        return error;
      }
    });
    const task = new MockTask(block);
    assertPending(task.poll());
    assert.equal(assertReady(task.poll()), boom);
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("a shield whose cleanup threw is over: a later drop() does not poll it again", () => {
    const boom = new Error("boom");
    const inner = new Leaf<number>("inner");
    const s = shield(inner);
    const task = new MockTask(s);
    assertPending(task.poll());
    inner.reject(boom);
    assert.throws(() => task.pollDrop(), boom);
    s.drop();
    assert.equal(task.pollDrop(), undefined, "pollDrop is idempotent once done");
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("drop() of a shield whose inner future fails at once rethrows that error", () => {
    const boom = new Error("boom");
    const inner = Countdown.fail(0, boom, "inner");
    assert.throws(() => shield(inner).drop(), boom);
    assert.equal(inner.polls, 1);
  });

  test("drop() of a pending shield hands it to the runtime, which runs it to its end", async () => {
    const rt = new Runtime({ clock: "virtual" });
    const inner = new Gate<number>();
    const after = new Gate<void>();
    const log: string[] = [];
    await rt.run(
      future(function* () {
        const s = shield(
          future(function* () {
            const n = yield* inner;
            log.push(`inner got ${n}`);
          }),
        );
        const task = new MockTask(s);
        assertPending(task.poll());
        s.drop();
        s.drop(); // idempotent: handed over once
        assert.equal(inner.drops, 0, "the inner future is not cancelled");
        inner.open(5);
        after.open();
        yield* after;
      }),
    );
    await rt.run(future(function* () {}));
    assert.deepEqual(log, ["inner got 5"]);
    assert.equal(inner.drops, 0);
  });

  test("an aborted task running a shield finishes it, then reports Cancelled", async () => {
    const rt = new Runtime({ clock: "virtual" });
    const inner = new Gate<number>();
    const handle = rt.spawn(shield(inner));
    await rt.run(ready(undefined));
    assert.equal(inner.polls, 1);
    handle.abort();
    await rt.run(ready(undefined));
    assert.equal(handle.isFinished(), false, "the abort waits for the shielded future");
    assert.equal(inner.drops, 0);
    inner.open(9);
    await assert.rejects(rt.run(handle), Cancelled);
  });

  test("an aborted task whose shielded future fails reports that error", async () => {
    const rt = new Runtime({ clock: "virtual" });
    const inner = new Leaf<number>("inner");
    const boom = new Error("boom");
    const handle = rt.spawn(shield(inner));
    await rt.run(ready(undefined));
    handle.abort();
    await rt.run(ready(undefined));
    inner.reject(boom);
    const error = await rt.run(handle).catch((e: unknown) => e);
    assert.ok(error instanceof JoinError);
    assert.equal(error.cause, boom);
  });
});

describe("shield in an async block that is cancelled, when the shielded future fails", () => {
  test("the error is thrown into the block at its yield*; uncaught, pollDrop throws it", () => {
    const inner = new Leaf<number>("inner");
    const boom = new Error("flush failed");
    const log: string[] = [];
    const task = new MockTask(
      future(function* () {
        try {
          yield* shield(inner);
          log.push("after the shield");
        } finally {
          log.push("finally");
        }
      }),
    );
    assertPending(task.poll());
    assertPending(task.pollDrop());
    inner.reject(boom);
    assert.ok(task.isWoken());
    assert.throws(() => task.pollDrop(), boom);
    assert.deepEqual(log, ["finally"]);
    assert.equal(inner.pollsAfterEnd, 0);
  });

  test("caught by the block, the cancellation takes effect at its next unshielded yield*", () => {
    const inner = new Leaf<number>("inner");
    const next = new Leaf<number>("next");
    const log: string[] = [];
    const task = new MockTask(
      future(function* () {
        try {
          try {
            yield* shield(inner);
          } catch (error) {
            log.push(`caught ${(error as Error).message}`);
          }
          yield* next;
          log.push("never");
        } finally {
          log.push("finally");
        }
      }),
    );
    assertPending(task.poll());
    assertPending(task.pollDrop());
    inner.reject(new Error("boom"));
    assert.equal(task.pollDrop(), undefined);
    assert.deepEqual(log, ["caught boom", "finally"]);
    assert.equal(next.polls, 0, "the next future is never polled");
  });

  test("an async finally whose cleanup is shielded runs to its end, then the error surfaces", () => {
    const inner = new Leaf<number>("inner");
    const close = new Leaf<void>("close");
    const boom = new Error("flush failed");
    const log: string[] = [];
    const task = new MockTask(
      future(function* () {
        try {
          yield* shield(inner);
        } finally {
          log.push("finally");
          yield* shield(close);
          log.push("closed");
        }
      }),
    );
    assertPending(task.poll());
    assertPending(task.pollDrop());
    inner.reject(boom);
    assertPending(task.pollDrop(), "the shielded close runs");
    assert.deepEqual(log, ["finally"]);
    close.resolve();
    assert.throws(() => task.pollDrop(), boom);
    assert.deepEqual(log, ["finally", "closed"]);
  });
});
