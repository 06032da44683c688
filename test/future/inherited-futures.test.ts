/**
 * The futures built per await (on the hot paths, and the other ones user code awaits inside
 * `try` blocks) are base classes that inherit from the future
 * classes without deriving from them (see "Constructors in try blocks" on Future). They must
 * behave as subclasses would: `instanceof`, the inherited combinators and cancellation, and
 * `yield*` inside `try`/`finally`, where they are constructed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SelfAwaitingFuture } from "../../src/future/future.js";
import {
  Barrier,
  broadcast,
  channel,
  Future,
  FuturesUnordered,
  fromIterable,
  fromPromise,
  future,
  interval,
  JoinSet,
  join,
  joinAll,
  lazy,
  Mutex,
  Notify,
  oneshot,
  pending,
  pollFn,
  Runtime,
  race,
  ready,
  Semaphore,
  select,
  sleep,
  TimeoutError,
  timeout,
  unboundedChannel,
  watch,
  withSignal,
  yieldNow,
} from "../../src/index.js";

test("the hot futures are Futures (and self-awaiting where they await themselves)", () => {
  const [tx, rx] = channel<number>(1);
  const mutex = new Mutex(0);
  const semaphore = new Semaphore(1);
  const selfAwaiting = [
    tx.send(1),
    tx.reserve(),
    rx.recv(),
    rx.recvMany(2),
    mutex.lock(),
    semaphore.acquire(),
  ];
  for (const fut of [...selfAwaiting, yieldNow(), oneshot<number>()[1]]) {
    assert.ok(fut instanceof Future, `${fut.describe()} is a Future`);
    assert.equal(typeof fut.map, "function", `${fut.describe()} has the inherited combinators`);
    fut.drop();
  }
  for (const fut of selfAwaiting) assert.ok(fut instanceof SelfAwaitingFuture, fut.describe());
});

test("they are awaited and mapped inside try/finally as subclasses are", async () => {
  const rt = new Runtime();
  const out = await rt.run(
    future(function* () {
      const [tx, rx] = channel<number>(2);
      const mutex = new Mutex(0);
      const semaphore = new Semaphore(1);
      const seen: number[] = [];
      let cleanups = 0;
      for (let i = 0; i < 3; i++) {
        try {
          yield* tx.send(i);
          const permit = yield* tx.reserve();
          permit.send(i + 10);
          seen.push(yield* rx.recv(), yield* rx.recvMany(4).map((batch) => batch.length));
          const guard = yield* mutex.lock();
          guard.value += 1;
          guard.release();
          const held = yield* semaphore.acquire();
          yield* yieldNow();
          held.release();
          const [reply, replied] = oneshot<number>();
          reply.send(i);
          seen.push(yield* replied.map((v) => v * 100));
        } finally {
          cleanups++;
        }
      }
      tx.drop();
      const end = yield* rx
        .recv()
        .map(String)
        .catch(() => "closed");
      return { seen, cleanups, locks: (yield* mutex.lock()).value, end };
    }),
  );
  assert.deepEqual(out, {
    seen: [0, 1, 0, 1, 1, 100, 2, 1, 200],
    cleanups: 3,
    locks: 3,
    end: "closed",
  });
});

/** One of each of the other futures made per await, for the checks below. */
function everyOtherFuture(): Future<unknown>[] {
  const notify = new Notify();
  const [, watchRx] = watch(0);
  const [, broadcastRx] = broadcast<number>(1);
  const [sender] = channel<number>(1);
  const [unbounded] = unboundedChannel<number>();
  const [oneshotTx] = oneshot<number>();
  const set = new FuturesUnordered<number>();
  return [
    notify.notified(),
    watchRx.changed(),
    watchRx.waitFor(() => false),
    broadcastRx.recv(),
    new Barrier(2).wait(),
    sender.closed(),
    unbounded.closed(),
    oneshotTx.closed(),
    sleep(10),
    timeout(ready(1), 10),
    interval(10).tick(),
    ready(1).map((v) => v),
    ready(1).andThen((v) => ready(v)),
    ready(1).catch(() => 0),
    ready(1).finally(() => {}),
    join(ready(1), ready(2)),
    joinAll([ready(1), ready(2)]),
    joinAll(Array.from({ length: 100 }, () => ready(1))),
    pollFn(() => 1),
    lazy(() => ready(1)),
    pending(),
    select([ready(1), pending()]),
    race([ready(1), pending()]),
    fromPromise(() => Promise.resolve(1)),
    withSignal(ready(1), new AbortController().signal),
    set.next(),
    new JoinSet<number>().joinNext(),
    fromIterable([1]).next(),
    fromIterable([1]).forEach(() => {}),
    fromIterable([1]).collect(),
  ];
}

test("the other futures made per await are Futures too, with their own descriptions", () => {
  for (const fut of everyOtherFuture()) {
    assert.ok(fut instanceof Future, `${fut.describe()} is a Future`);
    assert.equal(typeof fut.map, "function", `${fut.describe()} has the inherited combinators`);
    assert.equal(typeof fut[Symbol.iterator], "function", `${fut.describe()} can be yield*ed`);
    assert.notEqual(fut.describe(), "Object", "describe names the future");
    fut.drop();
    fut.drop();
  }
});

test("they are awaited inside try/finally, with cleanup and cancellation as for subclasses", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const out = await rt.run(
    future(function* () {
      const notify = new Notify();
      const [watchTx, watchRx] = watch(0);
      const [broadcastTx, broadcastRx] = broadcast<number>(4);
      const ticks = interval(5);
      const seen: unknown[] = [];
      let cleanups = 0;
      for (let i = 0; i < 2; i++) {
        try {
          notify.notifyOne();
          yield* notify.notified();
          watchTx.send(i);
          yield* watchRx.changed();
          broadcastTx.send(i);
          seen.push(watchRx.borrow(), yield* broadcastRx.recv());
          yield* new Barrier(1).wait();
          yield* sleep(1);
          yield* ticks.tick();
          seen.push(
            yield* timeout(
              ready(i).map((v) => v * 10),
              100,
            ),
          );
          seen.push(yield* ready(i).andThen((v) => lazy(() => ready(v + 1))));
          seen.push(
            yield* join(
              ready(i),
              pollFn(() => -i),
            ),
          );
          seen.push((yield* select([sleep(50).map(() => "late"), ready("first")])).value);
          seen.push(yield* fromIterable([i, i]).collect());
          seen.push(
            yield* timeout(pending(), 2).catch((error: unknown) =>
              error instanceof TimeoutError ? "timed out" : "other",
            ),
          );
        } finally {
          cleanups++;
        }
      }
      return { seen, cleanups };
    }),
  );
  assert.deepEqual(out, {
    seen: [
      0,
      0,
      0,
      1,
      [0, -0],
      "first",
      [0, 0],
      "timed out",
      1,
      1,
      10,
      2,
      [1, -1],
      "first",
      [1, 1],
      "timed out",
    ],
    cleanups: 2,
  });
});
