/**
 * The futures built per await on the hot paths are base classes that inherit from the future
 * classes without deriving from them (see "Constructors in try blocks" on Future). They must
 * behave as subclasses would: `instanceof`, the inherited combinators and cancellation, and
 * `yield*` inside `try`/`finally`, where they are constructed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { SelfAwaitingFuture } from "../../src/future/future.js";
import {
  channel,
  Future,
  future,
  Mutex,
  oneshot,
  Runtime,
  Semaphore,
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
