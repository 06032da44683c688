import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Cancelled,
  future,
  InvalidArgumentError,
  JoinError,
  JoinSet,
  Runtime,
  select,
  sleep,
  type TaskInfo,
} from "../../src/index.js";
import { ticks } from "../helpers.js";

test("a handle has a unique id and tells when the task finished", async () => {
  const rt = new Runtime();
  const a = rt.spawn(ticks(1));
  const b = rt.spawn(ticks(1));
  assert.notEqual(a.id, b.id);
  assert.equal(a.isFinished(), false);
  await rt.run(a);
  assert.equal(a.isFinished(), true);
});

test("a failed task rethrows JoinError with the error as cause", async () => {
  const rt = new Runtime();
  const cause = new Error("inner");
  const handle = rt.spawn(
    future(function* () {
      yield* ticks(1);
      throw cause;
    }),
  );
  const error = await rt.run(handle).catch((e: unknown) => e);
  assert.ok(error instanceof JoinError);
  assert.equal(error.code, "JOIN_FAILED");
  assert.equal(error.cause, cause);
  assert.equal(error.taskId, handle.id);
});

test("an error of a detached task is reported once, with the task's id and name", async () => {
  const reports: [unknown, TaskInfo][] = [];
  const rt = new Runtime({ onUnhandledError: (error, task) => reports.push([error, task]) });
  const handle = rt.spawn(
    future(function* () {
      yield* ticks(1);
      throw new Error("lost?");
    }),
    { name: "worker" },
  );
  handle.drop();
  handle.drop();
  await rt.run(ticks(4));
  assert.equal(reports.length, 1);
  assert.equal((reports[0]![0] as Error).message, "lost?");
  assert.equal(reports[0]![1].name, "worker");
  assert.equal(reports[0]![1].id, handle.id);
});

test("dropping the handle of a task that already failed unread reports it", async () => {
  const reports: unknown[] = [];
  const rt = new Runtime({ onUnhandledError: (error) => reports.push(error) });
  const handle = rt.spawn(
    future(function* () {
      throw new Error("early");
    }),
  );
  await rt.run(ticks(3));
  assert.equal(reports.length, 0, "not reported while the handle may still be read");
  handle.drop();
  assert.equal(reports.length, 1);
});

test("an error read through the handle is not reported", async () => {
  const reports: unknown[] = [];
  const rt = new Runtime({ onUnhandledError: (error) => reports.push(error) });
  const handle = rt.spawn(
    future(function* () {
      throw new Error("seen");
    }),
  );
  await assert.rejects(rt.run(handle), JoinError);
  handle.drop();
  await rt.run(ticks(2));
  assert.equal(reports.length, 0);
});

test("a handle that lost a select and is awaited again: a later failure is read, not reported", async () => {
  const reports: unknown[] = [];
  const rt = new Runtime({ clock: "virtual", onUnhandledError: (error) => reports.push(error) });
  const outcome = await rt.run(
    future(function* () {
      const handle = rt.spawn(
        future(function* () {
          yield* sleep(50);
          throw new Error("late failure");
        }),
      );
      const first = yield* select([handle, sleep(10)]);
      assert.equal(first.index, 1, "the timeout won; select dropped the handle");
      return yield* handle.catch((e: unknown) => e);
    }),
  );
  assert.ok(outcome instanceof JoinError);
  assert.equal(reports.length, 0, "read through the handle: not an unhandled error");
});

test("a task awaiting a handle is cancelled: the child is detached, its later failure reported once", async () => {
  const reports: unknown[] = [];
  const rt = new Runtime({ clock: "virtual", onUnhandledError: (error) => reports.push(error) });
  await rt.run(
    future(function* () {
      const child = rt.spawn(
        future(function* () {
          yield* sleep(50);
          throw new Error("after the parent");
        }),
      );
      const parent = rt.spawn(
        future(function* () {
          yield* child;
        }),
      );
      yield* sleep(10);
      parent.abort();
      yield* parent.catch(() => undefined);
      assert.equal(reports.length, 0, "the child has not failed yet");
      yield* sleep(100);
    }),
  );
  assert.equal(reports.length, 1, "nobody can read the child's failure: reported");
  assert.equal((reports[0] as Error).message, "after the parent");
});

test("onUnhandledError: 'shutdown' stops the runtime", async () => {
  const rt = new Runtime({ onUnhandledError: "shutdown" });
  const original = console.error;
  const printed: unknown[] = [];
  console.error = (...args: unknown[]) => printed.push(args);
  try {
    const victim = rt.spawn(
      future(function* () {
        yield* ticks(1000);
      }),
    );
    rt.spawn(
      future(function* () {
        throw new Error("fatal");
      }),
    ).drop();
    await assert.rejects(rt.run(victim), Cancelled);
    assert.equal(printed.length, 1);
  } finally {
    console.error = original;
  }
});

test("JoinSet.joinNext returns outputs in completion order, then undefined", async () => {
  const rt = new Runtime();
  const order = await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      set.spawn(ticks(5).map(() => 5));
      set.spawn(ticks(1).map(() => 1));
      set.spawn(ticks(3).map(() => 3));
      assert.equal(set.length, 3);
      const out: (number | undefined)[] = [];
      for (let i = 0; i < 4; i++) out.push(yield* set.joinNext());
      return out;
    }),
  );
  assert.deepEqual(order, [1, 3, 5, undefined]);
});

test("JoinSet.joinNext throws JoinError for a failed task and Cancelled for an aborted one", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      set.spawn(
        future(function* () {
          throw new Error("bad");
        }),
      );
      const error = yield* set.joinNext().catch((e) => e);
      assert.ok(error instanceof JoinError);
      const h = set.spawn(ticks(10).map(() => 1));
      h.abort();
      const cancelled = yield* set.joinNext().catch((e) => e);
      assert.ok(cancelled instanceof Cancelled);
    }),
  );
});

test("bad input gets InvalidArgumentError with a clear message", () => {
  const rt = new Runtime();
  assert.throws(
    () => rt.spawn(42 as never),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.code, "INVALID_ARGUMENT");
      assert.match(e.message, /expected a Future, got number 42/);
      return true;
    },
  );
  assert.throws(() => rt.spawn(ticks as never), /did you pass the async fn instead of calling it/);
  assert.throws(() => rt.spawn(Promise.resolve(1) as never), /fromPromise/);
  assert.throws(() => rt.run(null as never), InvalidArgumentError);
  assert.throws(() => new Runtime({ drainBudget: -1 }), /drainBudget must be a positive number/);
});
