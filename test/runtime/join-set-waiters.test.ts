/**
 * `JoinSet.joinNext` awaited from more than one task, and a set dropped while a `joinNext` of
 * another task waits: no waiting task is left parked. Each completion goes to exactly one of the
 * waiters; once the set is empty (or dropped) every waiter completes with `undefined`. And the
 * handle of a set's task, when dropped, does not report an error that `joinNext` still returns.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, JoinError, JoinSet, pending, Runtime, sleep, spawn } from "../../src/index.js";
import { ticks } from "../helpers.js";

function after(ms: number, value: number) {
  return future(function* () {
    yield* sleep(ms);
    return value;
  });
}

test("two tasks wait in joinNext: each completion goes to one of them, none is left parked", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const got = await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      set.spawn(after(10, 1));
      set.spawn(after(20, 2));
      const consumer = () =>
        future(function* () {
          const outputs: number[] = [];
          let value: number | undefined;
          while ((value = yield* set.joinNext()) !== undefined) outputs.push(value);
          return outputs;
        });
      const a = spawn(consumer());
      const b = spawn(consumer());
      return [yield* a, yield* b];
    }),
  );
  assert.deepEqual(got.flat().sort(), [1, 2], "each output once, to one consumer");
});

test("three waiters, one task: one gets the output, the others get undefined", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const got = await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      set.spawn(after(5, 7));
      const waiters = [0, 1, 2].map(() =>
        spawn(
          future(function* () {
            return yield* set.joinNext();
          }),
        ),
      );
      const out: (number | undefined)[] = [];
      for (const w of waiters) out.push(yield* w);
      return out;
    }),
  );
  assert.deepEqual(
    got.filter((v) => v !== undefined),
    [7],
  );
  assert.equal(got.length, 3);
});

test("a set dropped while another task waits in joinNext: that wait completes with undefined", async () => {
  const rt = new Runtime({ clock: "virtual" });
  let cleaned = 0;
  const got = await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      set.spawn(
        future(function* () {
          try {
            yield* pending();
          } finally {
            cleaned++;
          }
          return 0;
        }),
      );
      const waiter = spawn(
        future(function* () {
          return yield* set.joinNext();
        }),
      );
      yield* ticks(2); // the waiter is parked in joinNext
      set.drop();
      return yield* waiter;
    }),
  );
  assert.equal(got, undefined);
  assert.equal(cleaned, 1, "the set's task was aborted");
});

test("dropping the handle of a set's failed task: joinNext reports it, the runtime does not", async () => {
  const reported: unknown[] = [];
  const rt = new Runtime({ onUnhandledError: (error) => reported.push(error) });
  const boom = new Error("task failed");
  const caught = await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      const handle = set.spawn(
        future(function* () {
          throw boom;
        }),
      );
      yield* ticks(2); // the task has failed
      handle.drop();
      try {
        yield* set.joinNext();
        return "no error";
      } catch (error) {
        return error;
      }
    }),
  );
  assert.ok(caught instanceof JoinError);
  assert.equal(caught.cause, boom);
  assert.deepEqual(reported, [], "read through joinNext: not an unhandled error");
});

test("dropping the handle of a set's failed task, then the set: reported once", async () => {
  const reported: unknown[] = [];
  const rt = new Runtime({ onUnhandledError: (error) => reported.push(error) });
  const boom = new Error("task failed");
  await rt.run(
    future(function* () {
      const set = new JoinSet<number>();
      const handle = set.spawn(
        future(function* () {
          throw boom;
        }),
      );
      yield* ticks(2);
      handle.drop();
      set.drop();
    }),
  );
  assert.deepEqual(reported, [boom]);
});
