/**
 * One `JoinHandle` awaited by several tasks at once (as a promise may be awaited twice): every
 * one of them completes with the task's outcome, none is left parked. Also when one of them stops
 * waiting (a `select` it lost drops the handle, which detaches the task): the others go on.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Cancelled,
  DeadlockError,
  future,
  JoinError,
  pending,
  Runtime,
  select,
  sleep,
  spawn,
} from "../../src/index.js";
import { ticks } from "../helpers.js";

function awaiting<T>(handle: import("../../src/index.js").JoinHandle<T>) {
  return future(function* () {
    try {
      return { value: yield* handle };
    } catch (error) {
      return { error };
    }
  });
}

test("two tasks await the same handle: both get the output", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const got = await rt.run(
    future(function* () {
      const h = spawn(
        future(function* () {
          yield* sleep(10);
          return 7;
        }),
      );
      const a = spawn(awaiting(h));
      const b = spawn(awaiting(h));
      return [yield* a, yield* b, yield* h];
    }),
  );
  assert.deepEqual(got, [{ value: 7 }, { value: 7 }, 7]);
});

test("three tasks await a handle whose task fails or is aborted: each gets the error", async () => {
  const rt = new Runtime({ clock: "virtual", onUnhandledError: () => {} });
  const boom = new Error("failed");
  const [failed, aborted] = await rt.run(
    future(function* () {
      const h1 = spawn(
        future(function* () {
          yield* sleep(5);
          throw boom;
        }),
      );
      const h2 = spawn(sleep(50));
      const waits1 = [0, 1, 2].map(() => spawn(awaiting(h1)));
      const waits2 = [0, 1, 2].map(() => spawn(awaiting(h2)));
      yield* ticks(2);
      h2.abort();
      const out1: unknown[] = [];
      const out2: unknown[] = [];
      for (const w of waits1) out1.push(yield* w);
      for (const w of waits2) out2.push(yield* w);
      return [out1, out2];
    }),
  );
  for (const r of failed as { error: unknown }[]) {
    assert.ok(r.error instanceof JoinError);
    assert.equal(r.error.cause, boom);
  }
  for (const r of aborted as { error: unknown }[]) assert.ok(r.error instanceof Cancelled);
  assert.equal(failed.length, 3);
  assert.equal(aborted.length, 3);
});

test("one of two waiting tasks drops the handle (a lost select): the other still gets the output", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const got = await rt.run(
    future(function* () {
      const h = spawn(
        future(function* () {
          yield* sleep(10);
          return "done";
        }),
      );
      const patient = spawn(awaiting(h));
      const hasty = spawn(
        future(function* () {
          return (yield* select([h, sleep(2)], { biased: true })).index;
        }),
      );
      return [yield* hasty, yield* patient];
    }),
  );
  assert.deepEqual(got, [1, { value: "done" }]);
});

test("several tasks awaiting a handle whose task can never finish: still reported as a deadlock", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await assert.rejects(
    rt.run(
      future(function* () {
        const stuck = spawn(pending());
        const others = [spawn(awaiting(stuck)), spawn(awaiting(stuck))];
        yield* ticks(2);
        yield* stuck;
        for (const o of others) yield* o;
      }),
    ),
    DeadlockError,
  );
});
