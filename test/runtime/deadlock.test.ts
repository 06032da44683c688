import assert from "node:assert/strict";
import { test } from "node:test";
import {
  BlockOnError,
  DeadlockError,
  future,
  JoinSet,
  Pending,
  pending,
  pollFn,
  Runtime,
  scope,
} from "../../src/index.js";
import { Gate, ticks } from "../helpers.js";

test("awaiting a future nothing will wake rejects with DeadlockError naming the task", async () => {
  const rt = new Runtime();
  const error = await rt
    .run(
      future(function* stuckForever() {
        yield* pending();
      }),
    )
    .catch((e: unknown) => e);
  assert.ok(error instanceof DeadlockError);
  assert.equal(error.code, "DEADLOCK");
  assert.match(error.message, /stuckForever/);
  assert.match(error.dump, /no live waker/);
});

test("a lost wakeup (Pending without storing the waker) is a deadlock", async () => {
  const rt = new Runtime();
  const forgetful = pollFn(() => Pending);
  await assert.rejects(rt.run(forgetful), DeadlockError);
});

test("tasks waiting on each other's handles deadlock; the dump names both", async () => {
  const rt = new Runtime();
  const error = await rt
    .run(
      future(function* outer() {
        const inner = rt.spawn(
          future(function* innerTask() {
            yield* pending();
          }),
          { name: "inner-task" },
        );
        yield* inner;
      }),
    )
    .catch((e: unknown) => e);
  assert.ok(error instanceof DeadlockError);
  assert.match(error.dump, /inner-task/);
  assert.match(error.dump, /outer > JoinHandle/);
});

test("a deadlocked root's finalizers run", async () => {
  const rt = new Runtime();
  let finals = 0;
  await assert.rejects(
    rt.run(
      future(function* () {
        try {
          yield* pending();
        } finally {
          finals++;
        }
      }),
    ),
    DeadlockError,
  );
  await rt.run(ticks(1));
  assert.equal(finals, 1);
});

test("deadlocks through a JoinSet and a scope are detected", async () => {
  const rt = new Runtime();
  await assert.rejects(
    rt.run(
      future(function* () {
        const set = new JoinSet<void>();
        set.spawn(pending());
        yield* set.joinNext();
      }),
    ),
    DeadlockError,
  );
  await assert.rejects(
    rt.run(
      scope(function* (s) {
        s.spawn(pending());
      }),
    ),
    DeadlockError,
  );
});

test("a waker held by a host callback is not a deadlock", async () => {
  const rt = new Runtime();
  const gate = new Gate<string>();
  const result = rt.run(gate);
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
  gate.open("opened");
  assert.equal(await result, "opened");
});

test("retainWakeSource keeps a root that waits on a driver from being reported", async () => {
  const rt = new Runtime();
  const release = rt.retainWakeSource();
  let woken = false;
  let stored: (() => void) | null = null;
  const leaf = pollFn<void>((cx) => {
    if (woken) return undefined;
    // A driver-style registration: the waker is held by the runtime side, counted via the source.
    const w = cx.waker;
    stored = () => {
      woken = true;
      w.wakeByRef();
    };
    return Pending;
  });
  const result = rt.run(leaf);
  await new Promise<void>((resolve) => setImmediate(resolve));
  stored!();
  await result;
  release();
});

test("blockOn: DeadlockError when nothing can wake, BlockOnError when the host must", async () => {
  const rt = new Runtime();
  assert.equal(rt.blockOn(ticks(3).map(() => 9)), 9);
  assert.throws(() => rt.blockOn(pending()), DeadlockError);
  const gate = new Gate();
  assert.throws(() => rt.blockOn(gate), BlockOnError);
  assert.equal(gate.drops, 1, "the future is cancelled before blockOn throws");
});

test("blockOn inside a task throws BlockOnError", async () => {
  const rt = new Runtime();
  const error = await rt
    .run(
      future(function* () {
        rt.blockOn(ticks(1));
      }),
    )
    .catch((e: unknown) => e);
  assert.ok(error instanceof BlockOnError);
});

test("after joining a task, a wait on a host callback is still not a deadlock", async () => {
  const rt = new Runtime();
  const gate = new Gate<string>();
  const result = rt.run(
    future(function* () {
      yield* rt.spawn(ticks(2));
      return yield* gate;
    }),
  );
  await new Promise<void>((resolve) => setImmediate(resolve));
  await new Promise<void>((resolve) => setImmediate(resolve));
  gate.open("still alive");
  assert.equal(await result, "still alive");
});
