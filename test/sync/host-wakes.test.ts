/**
 * Deadlock detection and the sync primitives: a channel, lock or notification may be signalled
 * from a host callback (an event emitter, setImmediate), so a task waiting on one is a possible
 * host wake and `rt.run` must not reject with DeadlockError while it waits.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  channel,
  DeadlockError,
  type Future,
  future,
  Mutex,
  Notify,
  oneshot,
  pending,
  Runtime,
  ready,
  Semaphore,
  select,
  unboundedChannel,
  yieldNow,
} from "../../src/index.js";
import { runWatched } from "./support.js";

/** Runs `fn` two host turns from now (setImmediate, never a timer). */
function later(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

test("recv on a bounded channel whose sender is held by a host callback is not a deadlock", async () => {
  const rt = new Runtime();
  const [tx, rx] = channel<number>(1);
  later(() => tx.trySend(5));
  assert.equal(await rt.run(rx.recv()), 5);
});

test("recv on an unbounded channel fed by a host callback is not a deadlock", async () => {
  const rt = new Runtime();
  const [tx, rx] = unboundedChannel<string>();
  later(() => {
    tx.send("a");
    later(() => tx.send("b"));
  });
  const got = await rt.run(
    future(function* () {
      return [yield* rx.recv(), yield* rx.recv()];
    }),
  );
  assert.deepEqual(got, ["a", "b"]);
});

test("a send waiting for room, drained by a host callback, is not a deadlock", async () => {
  const rt = new Runtime();
  const [tx, rx] = channel<number>(1);
  tx.trySend(1);
  later(() => rx.tryRecv());
  await rt.run(tx.send(2));
  assert.equal(rx.tryRecv(), 2);
});

test("oneshot, semaphore, mutex and notify signalled by a host callback are not deadlocks", async () => {
  const rt = new Runtime();
  const [tx, rx] = oneshot<number>();
  later(() => tx.send(1));
  assert.equal(await rt.run(rx), 1);

  const sem = new Semaphore(0);
  later(() => sem.addPermits(1));
  (await rt.run(sem.acquire())).release();

  const m = new Mutex(0);
  const guard = m.tryLock()!;
  later(() => guard.release());
  (await rt.run(m.lock())).release();

  const n = new Notify();
  const w = rt.run(n.notified());
  later(() => n.notifyOne());
  await w;
});

test("a spawned task waiting on a host-fed channel, awaited by the root, is not a deadlock", async () => {
  const rt = new Runtime();
  const [tx, rx] = channel<number>(1);
  later(() => tx.trySend(7));
  const got = await rt.run(
    future(function* () {
      const h = rt.spawn(rx.recv());
      return yield* h;
    }),
  );
  assert.equal(got, 7);
});

test("after joining another task, waiting on a host-fed channel is still not a deadlock", async () => {
  // Joining a finished task must not leave the runtime's count of wakers held outside it one
  // short (the join waker is woken without being released from the runtime's own count).
  const rt = new Runtime();
  const [tx, rx] = channel<number>(1);
  const got = await rt
    .run(
      future(function* () {
        const h = rt.spawn(
          future(function* () {
            yield* yieldNow();
            return 1;
          }),
        );
        yield* h;
        later(() => tx.trySend(5));
        return yield* rx.recv();
      }),
    )
    .catch((e: unknown) => e);
  assert.ok(!(got instanceof DeadlockError), `rejected with ${String(got)}`);
  assert.equal(got, 5);
});

test("a pending() root is still a deadlock even though channels exist", async () => {
  const rt = new Runtime();
  const [tx] = channel<number>(1);
  await assert.rejects(rt.run(pending()), DeadlockError);
  tx.drop();
});

test("a recv dropped by select does not keep counting as a way out of a deadlock", async () => {
  // select drops the losing recv; if its waker stayed registered (counted as a possible host
  // wake) the root waiting on pending() could never be reported, and the run would hang.
  const rt = new Runtime();
  const [tx, rx] = channel<number>(1);
  const root: Future<void> = future(function* () {
    const first = yield* select([rx.recv(), ready("now")], { biased: true });
    assert.equal(first.index, 1); // the recv was polled (Pending), then dropped
    yield* pending();
  });
  const outcome = await runWatched(rt, root, "dropped recv").then(
    () => "completed",
    (e: unknown) => e,
  );
  assert.ok(outcome instanceof DeadlockError, `expected DeadlockError, got ${String(outcome)}`);
  tx.drop();
});
