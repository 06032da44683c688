/**
 * The paths of GenFuture.poll around its in-line resume step: a future `yield*` polled to Pending
 * is polled once per task poll (by the `yield*` itself when the driver resumes the body); a plain
 * `yield fut` (no star) is polled by the driver; a body that throws leaves the enclosing block's
 * context in place for its next `yield*`.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type AsyncGenerator, type Future, future, ready } from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { Leaf } from "./leaf.js";

describe("GenFuture.poll paths", () => {
  test("a future yield* polled to Pending is polled once per task poll, never twice", () => {
    const leaf = new Leaf<number>();
    const task = new MockTask(
      future(function* () {
        return (yield* leaf) + 1;
      }),
    );
    assertPending(task.poll());
    assert.equal(leaf.polls, 1);
    assertPending(task.poll()); // spurious
    assert.equal(leaf.polls, 2);
    leaf.resolve(41);
    assert.equal(assertReady(task.poll()), 42);
    assert.equal(leaf.polls, 3);
    assert.equal(leaf.pollsAfterEnd, 0);
  });

  test("a plain `yield fut` (no star) is polled by the driver: Pending, then its value", () => {
    const leaf = new Leaf<string>();
    const seen: unknown[] = [];
    const gen = function* (): Generator<Future<unknown>, string, unknown> {
      seen.push(yield ready("at once"));
      seen.push(yield leaf);
      return "end";
    };
    const task = new MockTask(future(gen as () => AsyncGenerator<string>));
    assertPending(task.poll());
    assert.deepEqual(seen, ["at once"]);
    assert.equal(leaf.polls, 1);
    assertPending(task.poll()); // spurious: the driver polls the leaf again, the body stays put
    assert.equal(leaf.polls, 2);
    leaf.resolve("later");
    assert.equal(assertReady(task.poll()), "end");
    assert.deepEqual(seen, ["at once", "later"]);
    assert.equal(leaf.pollsAfterEnd, 0);
  });

  test("a plain `yield` of a future that throws throws into the body at the yield", () => {
    const failing = new Leaf<number>();
    failing.reject(new Error("boom"));
    const gen = function* (): Generator<Future<unknown>, string, unknown> {
      try {
        yield failing;
        return "not reached";
      } catch (error) {
        return `caught ${(error as Error).message}`;
      }
    };
    const task = new MockTask(future(gen as () => AsyncGenerator<string>));
    assert.equal(assertReady(task.poll()), "caught boom");
  });

  test("consecutive plain `yield`s of ready and failing futures all resolve within one poll", () => {
    const failing = new Leaf<number>();
    failing.reject(new Error("boom"));
    const seen: unknown[] = [];
    const gen = function* (): Generator<Future<unknown>, string, unknown> {
      seen.push(yield ready(1));
      seen.push(yield ready(2));
      try {
        yield failing;
      } catch (error) {
        seen.push(`caught ${(error as Error).message}`);
      }
      seen.push(yield ready(3));
      return "end";
    };
    const task = new MockTask(future(gen as () => AsyncGenerator<string>));
    assert.equal(assertReady(task.poll()), "end");
    assert.deepEqual(seen, [1, 2, "caught boom", 3]);
    assert.equal(failing.polls, 1);
  });

  test("a child body that throws while polled in line leaves the parent's yield* working", () => {
    const after = new Leaf<number>();
    const child = future(function* (): AsyncGenerator<number> {
      yield* ready(0);
      throw new Error("child failed");
    });
    const parent = future(function* () {
      let message = "";
      try {
        yield* child;
      } catch (error) {
        message = (error as Error).message;
      }
      // Polled in line with the parent's context: Pending registers the task's waker.
      const v = yield* after;
      return `${message} ${v}`;
    });
    const task = new MockTask(parent);
    assertPending(task.poll());
    assert.equal(after.polls, 1);
    assert.equal(after.hasWaker, true);
    after.resolve(7);
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "child failed 7");
  });

  test("a body that throws after a Pending step throws from poll and stays finished", () => {
    const leaf = new Leaf<void>();
    const task = new MockTask(
      future(function* () {
        yield* leaf;
        throw new Error("after the wait");
      }),
    );
    assertPending(task.poll());
    leaf.resolve();
    assert.throws(() => task.poll(), /after the wait/);
  });

  test("a future that fails when polled again after a wake throws into the body at its yield*", () => {
    const leaf = new Leaf<number>();
    const task = new MockTask(
      future(function* () {
        try {
          return `got ${yield* leaf}`;
        } catch (error) {
          return `caught ${(error as Error).message}`;
        }
      }),
    );
    assertPending(task.poll());
    leaf.reject(new Error("late failure"));
    assert.equal(task.isWoken(), true);
    assert.equal(assertReady(task.poll()), "caught late failure");
    assert.equal(leaf.polls, 2);
    assert.equal(leaf.pollsAfterEnd, 0);
  });

  test("after a woken yield* completes, the next yield* of the block starts fresh", () => {
    const leaves = [new Leaf<number>("a"), new Leaf<number>("b"), new Leaf<number>("c")];
    const task = new MockTask(
      future(function* () {
        let sum = 0;
        for (const leaf of leaves) sum += yield* leaf;
        return sum;
      }),
    );
    for (const [i, leaf] of leaves.entries()) {
      assertPending(task.poll());
      assertPending(task.poll()); // spurious: the body is resumed, the leaf polled, still waiting
      assert.equal(leaf.polls, 2);
      leaf.resolve(i + 1);
    }
    assert.equal(assertReady(task.poll()), 6);
    for (const leaf of leaves) {
      assert.equal(leaf.polls, 3);
      assert.equal(leaf.pollsAfterEnd, 0);
    }
  });
});
