/**
 * `scope` beyond the happy paths: a body that throws cancels the children and rethrows once they
 * have finished; a scope dropped synchronously still has its children's finalizers run; `spawn`
 * on a finished scope is refused; and no error is swallowed: the first is the scope's, any later
 * one (a child or the body failing while being cancelled, a child failing after the scope was
 * dropped) is reported by the runtime, as `select` and `tryJoin` report a loser's cleanup error.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  Cancelled,
  type Future,
  future,
  InvalidArgumentError,
  pending,
  Runtime,
  type Scope,
  scope,
} from "../../src/index.js";
import { assertPending, MockTask } from "../../src/testing/index.js";
import { ticks } from "../helpers.js";

/** A child that waits for ever; its finally waits `cleanupTicks` turns, then throws `error` if any. */
function child(counts: { start: number; end: number }, cleanupTicks: number, error?: Error) {
  return future(function* childBody() {
    try {
      yield* pending();
    } finally {
      counts.start++;
      yield* ticks(cleanupTicks);
      counts.end++;
      // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
      if (error !== undefined) throw error;
    }
  });
}

function collectingRuntime(): { rt: Runtime; reported: unknown[] } {
  const reported: unknown[] = [];
  const rt = new Runtime({ onUnhandledError: (error) => reported.push(error) });
  return { rt, reported };
}

describe("scope", () => {
  test("a body that throws cancels the children, waits for their cleanup, then rethrows", async () => {
    const { rt, reported } = collectingRuntime();
    const counts = { start: 0, end: 0 };
    const boom = new Error("body failed");
    const error = await rt
      .run(
        scope(function* (s) {
          s.spawn(child(counts, 3));
          yield* ticks(1);
          throw boom;
        }),
      )
      .catch((e: unknown) => e);
    assert.equal(error, boom);
    assert.deepEqual(counts, { start: 1, end: 1 });
    assert.deepEqual(reported, []);
  });

  test("a body that throws at its first poll cancels what it spawned before it ever runs", async () => {
    const { rt } = collectingRuntime();
    let ran = 0;
    const boom = new Error("at once");
    let handle: Future<void> | null = null;
    await assert.rejects(
      rt.run(
        scope(function* (s) {
          handle = s.spawn(
            future(function* () {
              ran++;
            }),
          );
          throw boom;
        }),
      ),
      boom,
    );
    assert.equal(ran, 0, "aborted before its first poll (as tokio's abort)");
    await assert.rejects(rt.run(handle!), Cancelled);
    assert.equal(rt.dump().tasks.length, 0);
  });

  test("spawn on a scope that has finished is refused", async () => {
    const rt = new Runtime();
    let escaped: Scope | null = null;
    await rt.run(
      scope(function* (s) {
        escaped = s;
      }),
    );
    assert.throws(() => escaped!.spawn(ticks(1)), InvalidArgumentError);
    assert.equal(rt.dump().tasks.length, 0, "nothing was spawned");
  });

  test("scope(non-function) is refused at once", () => {
    assert.throws(() => scope(42 as never), InvalidArgumentError);
  });

  test("dropped synchronously: the children are aborted and their finalizers run to their end", async () => {
    const { rt, reported } = collectingRuntime();
    const counts = [
      { start: 0, end: 0 },
      { start: 0, end: 0 },
    ];
    const log: string[] = [];
    let escaped: Scope | null = null;
    await rt.run(
      future(function* () {
        const sc = scope(function* (s) {
          escaped = s;
          for (const c of counts) s.spawn(child(c, 2));
          try {
            yield* pending();
          } finally {
            log.push("body finally");
          }
        });
        assertPending(new MockTask(sc).poll());
        yield* ticks(1); // the children start
        sc.drop();
        assert.deepEqual(log, ["body finally"]);
        assert.throws(() => escaped!.spawn(ticks(1)), InvalidArgumentError);
        sc.drop(); // idempotent
        yield* ticks(5);
      }),
    );
    assert.deepEqual(counts, [
      { start: 1, end: 1 },
      { start: 1, end: 1 },
    ]);
    assert.equal(rt.dump().tasks.length, 0);
    assert.deepEqual(reported, []);
  });

  test("dropped synchronously: a child's cleanup error is reported, not swallowed", async () => {
    const { rt, reported } = collectingRuntime();
    const boom = new Error("child cleanup failed");
    const counts = { start: 0, end: 0 };
    await rt.run(
      future(function* () {
        const sc = scope(function* (s) {
          s.spawn(child(counts, 1, boom));
          yield* pending();
        });
        assertPending(new MockTask(sc).poll());
        yield* ticks(1);
        sc.drop();
        yield* ticks(4);
      }),
    );
    assert.deepEqual(counts, { start: 1, end: 1 });
    assert.deepEqual(reported, [boom]);
  });

  test("dropped synchronously after a child failed: that error is reported, not swallowed", async () => {
    const { rt, reported } = collectingRuntime();
    const boom = new Error("child failed");
    const counts = { start: 0, end: 0 };
    await rt.run(
      future(function* () {
        const sc = scope(function* (s) {
          s.spawn(
            future(function* () {
              yield* ticks(1);
              throw boom;
            }),
          );
          s.spawn(child(counts, 3)); // still cleaning up when the scope is dropped
          yield* pending();
        });
        assertPending(new MockTask(sc).poll());
        yield* ticks(3); // the first child has failed; the scope has not thrown yet
        assert.deepEqual(reported, []);
        sc.drop();
        yield* ticks(6);
      }),
    );
    assert.deepEqual(counts, { start: 1, end: 1 });
    assert.deepEqual(reported, [boom]);
  });

  test("dropped synchronously while the body's finally throws: the children are still aborted", async () => {
    const { rt, reported } = collectingRuntime();
    const boom = new Error("body finally failed");
    const counts = { start: 0, end: 0 };
    let thrown: unknown;
    await rt.run(
      future(function* () {
        const sc = scope(function* (s) {
          s.spawn(child(counts, 1));
          try {
            yield* pending();
          } finally {
            // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
            throw boom;
          }
        });
        assertPending(new MockTask(sc).poll());
        yield* ticks(1);
        try {
          sc.drop();
        } catch (error) {
          thrown = error;
        }
        yield* ticks(4);
      }),
    );
    assert.equal(thrown, boom, "the synchronous cleanup error is thrown by drop()");
    assert.deepEqual(counts, { start: 1, end: 1 }, "the child did not outlive the scope");
    assert.equal(rt.dump().tasks.length, 0);
    assert.deepEqual(reported, []);
  });

  test("a failed child whose handle the cancelled body drops (`using`): thrown by the scope, not reported", async () => {
    const { rt, reported } = collectingRuntime();
    const boom = new Error("child failed");
    await assert.rejects(
      rt.run(
        scope(function* (s) {
          // The child's failure cancels the body, whose `using` then drops the handle.
          using _handle = s.spawn(
            future(function* () {
              throw boom;
            }),
          );
          yield* pending();
        }),
      ),
      boom,
    );
    assert.deepEqual(reported, [], "the scope rethrew it: not an unhandled error");
  });

  test("a child's cleanup error after the body's error is reported; the body's is thrown", async () => {
    const { rt, reported } = collectingRuntime();
    const first = new Error("body failed");
    const second = new Error("child cleanup failed");
    const counts = { start: 0, end: 0 };
    await assert.rejects(
      rt.run(
        scope(function* (s) {
          s.spawn(child(counts, 1, second));
          yield* ticks(1);
          throw first;
        }),
      ),
      first,
    );
    assert.deepEqual(counts, { start: 1, end: 1 });
    assert.deepEqual(reported, [second]);
  });

  test("the body's cleanup error after a child's error is reported; the child's is thrown", async () => {
    const { rt, reported } = collectingRuntime();
    const first = new Error("child failed");
    const second = new Error("body cleanup failed");
    await assert.rejects(
      rt.run(
        scope(function* (s) {
          s.spawn(
            future(function* () {
              yield* ticks(1);
              throw first;
            }),
          );
          try {
            yield* pending();
          } finally {
            yield* ticks(1);
            // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
            throw second;
          }
        }),
      ),
      first,
    );
    assert.deepEqual(reported, [second]);
  });

  test("dropped by an owner that drives its cleanup: the body's cleanup error is thrown", () => {
    const boom = new Error("body cleanup failed");
    const rt = new Runtime();
    const outcome = rt.blockOn(
      future(function* () {
        const sc: Future<void> = scope(function* () {
          try {
            yield* pending();
          } finally {
            yield* ticks(1);
            // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
            throw boom;
          }
        });
        const task = new MockTask(sc);
        assertPending(task.poll());
        assertPending(task.pollDrop());
        yield* ticks(1);
        try {
          task.pollDrop();
          return "no error";
        } catch (error) {
          return error;
        }
      }),
    );
    assert.equal(outcome, boom);
  });
});
