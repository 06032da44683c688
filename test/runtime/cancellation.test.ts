import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Cancelled,
  future,
  JoinSet,
  pending,
  Runtime,
  RuntimeClosedError,
  scope,
  select,
  tryJoin,
} from "../../src/index.js";
import { Gate, ticks } from "../helpers.js";

/** A task body whose finally waits `cleanupTicks` turns; counts starts and ends of the finally. */
function guarded(counts: { start: number; end: number }, cleanupTicks: number) {
  return future(function* guardedBody() {
    try {
      yield* pending();
    } finally {
      counts.start++;
      yield* ticks(cleanupTicks);
      counts.end++;
    }
  });
}

test("abort: an async finally runs to its end exactly once, then the handle throws Cancelled", async () => {
  const rt = new Runtime();
  const counts = { start: 0, end: 0 };
  const handle = rt.spawn(guarded(counts, 3));
  await rt.run(ticks(2));
  handle.abort();
  handle.abort();
  const error = await rt.run(handle).catch((e: unknown) => e);
  assert.ok(error instanceof Cancelled);
  assert.equal(error.code, "CANCELLED");
  assert.deepEqual(counts, { start: 1, end: 1 });
  assert.equal(handle.isFinished(), true);
});

test("abort before the first poll runs nothing", async () => {
  const rt = new Runtime();
  let started = 0;
  const handle = rt.spawn(
    future(function* () {
      started++;
      yield* pending();
    }),
  );
  handle.abort();
  await assert.rejects(rt.run(handle), Cancelled);
  assert.equal(started, 0);
});

test("abort after completion does nothing", async () => {
  const rt = new Runtime();
  const handle = rt.spawn(ticks(1).map(() => 5));
  assert.equal(await rt.run(handle), 5);
  handle.abort();
  assert.equal(handle.isFinished(), true);
});

test("select loser: its async cleanup finishes before select returns", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  const result = await rt.run(
    future(function* () {
      const loser = future(function* () {
        try {
          yield* pending();
        } finally {
          yield* ticks(2);
          log.push("loser cleaned");
        }
      });
      const winner = future(function* () {
        yield* ticks(1);
        log.push("winner");
        return 7;
      });
      const s = yield* select([loser, winner]);
      log.push("select returned");
      return s;
    }),
  );
  assert.deepEqual(result, { index: 1, value: 7 });
  assert.deepEqual(log, ["winner", "loser cleaned", "select returned"]);
});

test("tryJoin failure: the others' async finalizers run exactly once before the error", async () => {
  const rt = new Runtime();
  const a = { start: 0, end: 0 };
  const b = { start: 0, end: 0 };
  const error = await rt
    .run(
      tryJoin(
        guarded(a, 2),
        guarded(b, 1),
        future(function* () {
          yield* ticks(1);
          throw new Error("x");
        }),
      ),
    )
    .catch((e: Error) => e);
  assert.equal((error as Error).message, "x");
  assert.deepEqual(a, { start: 1, end: 1 });
  assert.deepEqual(b, { start: 1, end: 1 });
});

test("scope: a child error cancels the body and siblings, waits for their cleanup, rethrows", async () => {
  const rt = new Runtime();
  const sibling = { start: 0, end: 0 };
  const body = { start: 0, end: 0 };
  const error = await rt
    .run(
      scope(function* (s) {
        s.spawn(guarded(sibling, 2));
        s.spawn(
          future(function* () {
            yield* ticks(2);
            throw new Error("boom");
          }),
        );
        yield* guarded(body, 3);
      }),
    )
    .catch((e: Error) => e);
  assert.equal((error as Error).message, "boom");
  assert.deepEqual(sibling, { start: 1, end: 1 });
  assert.deepEqual(body, { start: 1, end: 1 });
});

test("scope: leaving normally waits for every child", async () => {
  const rt = new Runtime();
  const done: number[] = [];
  const value = await rt.run(
    scope(function* (s) {
      for (let i = 0; i < 5; i++) {
        s.spawn(
          future(function* () {
            yield* ticks(5 - i);
            done.push(i);
          }),
        );
      }
      return "body done";
    }),
  );
  assert.equal(value, "body done");
  assert.deepEqual([...done].sort(), [0, 1, 2, 3, 4]);
});

test("scope dropped by an aborted task: children's async finalizers finish first", async () => {
  const rt = new Runtime();
  const child = { start: 0, end: 0 };
  const handle = rt.spawn(
    scope(function* (s) {
      s.spawn(guarded(child, 3));
      yield* pending();
    }),
  );
  await rt.run(ticks(2));
  handle.abort();
  await assert.rejects(rt.run(handle), Cancelled);
  assert.deepEqual(child, { start: 1, end: 1 });
});

test("shutdown cancels every task, runs finalizers once, then refuses to spawn", async () => {
  const rt = new Runtime();
  const counts = Array.from({ length: 10 }, () => ({ start: 0, end: 0 }));
  const handles = counts.map((c, i) => rt.spawn(guarded(c, i % 3)));
  await rt.run(ticks(1));
  await rt.shutdown();
  for (const c of counts) assert.deepEqual(c, { start: 1, end: 1 });
  for (const h of handles) assert.equal(h.isFinished(), true);
  assert.throws(() => rt.spawn(ticks(1)), RuntimeClosedError);
  await rt.shutdown();
});

test("JoinSet: dropping the set aborts its tasks (finalizers once)", async () => {
  const rt = new Runtime();
  const counts = [
    { start: 0, end: 0 },
    { start: 0, end: 0 },
  ];
  await rt.run(
    future(function* () {
      const set = new JoinSet<void>();
      for (const c of counts) set.spawn(guarded(c, 1));
      yield* ticks(1);
      set.drop();
      yield* ticks(4);
    }),
  );
  for (const c of counts) assert.deepEqual(c, { start: 1, end: 1 });
});

test("drop() of a generator future twice is a no-op; finally runs once", async () => {
  let finals = 0;
  const fut = future(function* () {
    try {
      yield* new Gate();
    } finally {
      finals++;
    }
  });
  const rt = new Runtime();
  const handle = rt.spawn(
    future(function* () {
      yield* select([fut, ticks(1)]);
    }),
  );
  await rt.run(handle);
  fut.drop();
  fut.drop();
  assert.equal(finals, 1);
});
