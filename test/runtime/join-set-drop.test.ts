/**
 * Dropping a `JoinSet` (`drop()` or `using`) aborts its tasks, whose finalizers run to their end,
 * and detaches them as dropping their handles would: an error nobody can join any more (a task
 * that failed and was never joined, or one whose cleanup fails after the drop) is reported by the
 * runtime, never swallowed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, JoinSet, pending, Runtime } from "../../src/index.js";
import { ticks } from "../helpers.js";

function collectingRuntime(): { rt: Runtime; reported: unknown[] } {
  const reported: unknown[] = [];
  const rt = new Runtime({ onUnhandledError: (error) => reported.push(error) });
  return { rt, reported };
}

/** Waits for ever; its finally waits a turn, counts, then throws `error` if given. */
function guarded(counts: { start: number; end: number }, error?: Error) {
  return future(function* guardedBody() {
    try {
      yield* pending();
    } finally {
      counts.start++;
      yield* ticks(1);
      counts.end++;
      // biome-ignore lint/correctness/noUnsafeFinally: the cleanup error under test
      if (error !== undefined) throw error;
    }
  });
}

test("`using` a JoinSet aborts its tasks when the block ends; their finalizers run once", async () => {
  const { rt, reported } = collectingRuntime();
  const counts = [
    { start: 0, end: 0 },
    { start: 0, end: 0 },
  ];
  await rt.run(
    future(function* () {
      {
        using set = new JoinSet<void>();
        for (const c of counts) set.spawn(guarded(c));
        yield* ticks(1);
        assert.equal(set.length, 2);
      }
      yield* ticks(4);
    }),
  );
  for (const c of counts) assert.deepEqual(c, { start: 1, end: 1 });
  assert.equal(rt.dump().tasks.length, 0);
  assert.deepEqual(reported, []);
});

test("a task whose cleanup fails after the set was dropped: its error is reported", async () => {
  const { rt, reported } = collectingRuntime();
  const boom = new Error("cleanup failed");
  const counts = { start: 0, end: 0 };
  await rt.run(
    future(function* () {
      const set = new JoinSet<void>();
      set.spawn(guarded(counts, boom));
      yield* ticks(1);
      set.drop();
      yield* ticks(4);
    }),
  );
  assert.deepEqual(counts, { start: 1, end: 1 });
  assert.deepEqual(reported, [boom]);
});

test("a task that failed and was never joined: dropping the set reports its error", async () => {
  const { rt, reported } = collectingRuntime();
  const boom = new Error("task failed");
  await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      set.spawn(
        future(function* () {
          throw boom;
        }),
      );
      set.spawn(
        future(function* () {
          return 1;
        }),
      );
      yield* ticks(2);
      assert.equal(set.length, 2);
      assert.deepEqual(reported, [], "not yet: the set may still join it");
      set.drop();
      assert.equal(set.length, 0);
    }),
  );
  assert.deepEqual(reported, [boom]);
});

test("a failure already joined is not reported again when the set is dropped", async () => {
  const { rt, reported } = collectingRuntime();
  await rt.run(
    future(function* () {
      const set = new JoinSet<void>();
      set.spawn(
        future(function* () {
          throw new Error("joined");
        }),
      );
      yield* ticks(1);
      yield* set.joinNext().catch(() => undefined);
      set.drop();
    }),
  );
  assert.deepEqual(reported, []);
});
