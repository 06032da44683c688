/**
 * A semaphore (and so a mutex) reuses an acquire future once a `yield*` of it has completed (it is
 * spent), with its wait-list node, so that a contended lock allocates only its guard. These tests
 * pin down when an acquire is reused and when it must not be: never while anything may still use
 * it (pending, dropped, failed, or completed by a combinator or a manual poll), never handed out
 * twice, and not at all in debug mode.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Future,
  future,
  Mutex,
  Runtime,
  RwLock,
  Semaphore,
  SemaphoreClosed,
  select,
  setDebugMode,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { assertReady, MockTask } from "../../src/testing/index.js";
import { reuseTestsWithoutDebugMode, runBlock, thrown } from "./support.js";

reuseTestsWithoutDebugMode();
const run = runBlock;

/** The semaphore's kept spent acquires (white-box). */
function sparesOf(sem: Semaphore): readonly unknown[] {
  return (sem as unknown as { spares: unknown[] }).spares;
}

test("a loop of yield* lock and yield* acquire reuses one future each", async () => {
  const mutex = new Mutex(0);
  const sem = new Semaphore(3);
  const locks = new Set<object>();
  const acquires = new Set<object>();
  await run(function* () {
    for (let i = 0; i < 20; i++) {
      const lock = mutex.lock();
      locks.add(lock);
      const guard = yield* lock;
      guard.value++;
      guard.release();
      const acquire = sem.acquire(1 + (i % 3));
      acquires.add(acquire);
      (yield* acquire).release();
    }
  });
  assert.equal(locks.size, 1);
  assert.equal(acquires.size, 1);
  assert.equal(mutex.tryLock()?.value, 20);
});

test("an RwLock's read and write reuse one future between them", async () => {
  const lock = new RwLock(0);
  const futures = new Set<object>();
  await run(function* () {
    for (let i = 0; i < 10; i++) {
      const read = lock.read();
      futures.add(read);
      const reader = yield* read;
      assert.equal(reader.writable, false);
      reader.release();
      const write = lock.write();
      futures.add(write);
      assert.equal(write.describe(), "RwLock.write");
      const writer = yield* write;
      writer.value++;
      writer.release();
    }
  });
  assert.equal(futures.size, 1);
  assert.equal(lock.tryRead()?.value, 10);
});

test("contended: tasks taking turns on a mutex share a few acquires, and keep FIFO order", async () => {
  const rt = new Runtime();
  const mutex = new Mutex<number[]>([]);
  const locks = new Set<object>();
  const tasks = 8;
  const rounds = 40;
  await rt.run(
    future(function* () {
      const handles = Array.from({ length: tasks }, (_, t) =>
        rt.spawn(
          future(function* () {
            for (let i = 0; i < rounds; i++) {
              const lock = mutex.lock();
              locks.add(lock);
              const guard = yield* lock;
              try {
                guard.value.push(t);
                yield* yieldNow();
              } finally {
                guard.release();
              }
            }
          }),
        ),
      );
      for (const handle of handles) yield* handle;
    }),
  );
  const order = mutex.tryLock()?.value ?? [];
  assert.equal(order.length, tasks * rounds);
  // Every lock is contended (the holder yields inside): the waiters are served in turn, FIFO.
  for (let i = tasks; i < order.length; i++) assert.equal(order[i], order[i - tasks]);
  // At most one acquire per task waits at a time, and a spent one is taken by the next lock.
  assert.ok(locks.size <= tasks + 1, `${locks.size} acquires made for ${order.length} locks`);
});

test("an acquire completed by select, map or a manual poll, dropped or failed, is never reused", async () => {
  const sem = new Semaphore(1);
  await run(function* () {
    const bySelect = sem.acquire();
    const { value } = yield* select([bySelect, yieldNow()], { biased: true });
    (value as { release(): void }).release();
    assert.notEqual(sem.acquire(), bySelect);

    const byMap = sem.acquire();
    yield* byMap.map((permit) => permit.release());
    assert.notEqual(sem.acquire(), byMap);

    // Lost a select while waiting: dropped.
    const held = yield* sem.acquire();
    const lost = sem.acquire();
    const { index } = yield* select([lost, yieldNow()], { biased: true });
    assert.equal(index, 1);
    held.release();
    assert.notEqual(sem.acquire(), lost);
  });

  const manual = sem.acquire();
  assertReady(new MockTask(manual).poll()).release();
  assert.notEqual(sem.acquire(), manual);

  // Failed inside its yield*: the semaphore closed while it waited.
  const closing = new Semaphore(0);
  let failed: Future<unknown> | null = null;
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const waiting = closing.acquire();
      failed = waiting;
      const waiter = rt.spawn(
        future(function* () {
          try {
            yield* waiting;
            return null;
          } catch (e) {
            return e;
          }
        }),
      );
      yield* yieldNow();
      closing.close();
      assert.ok((yield* waiter) instanceof SemaphoreClosed);
    }),
  );
  assert.notEqual(closing.acquire(), failed);
  await assert.rejects(
    run(function* () {
      yield* closing.acquire();
    }),
    SemaphoreClosed,
  );
  assert.equal(sparesOf(closing).length, 0);
});

test("a spent acquire is handed out once, and a reused one waits its turn like a new one", async () => {
  const rt = new Runtime();
  const sem = new Semaphore(1);
  const log: string[] = [];
  await rt.run(
    future(function* () {
      const first = sem.acquire();
      const permit = yield* first;
      const a = sem.acquire();
      const b = sem.acquire();
      assert.equal(a, first);
      assert.notEqual(b, first);
      const waiter = rt.spawn(
        future(function* () {
          log.push("waiting");
          (yield* a).release();
          log.push("granted");
        }),
      );
      yield* yieldNow();
      log.push("releasing");
      permit.release();
      yield* waiter;
      b.drop();
    }),
  );
  assert.deepEqual(log, ["waiting", "releasing", "granted"]);
});

test("a semaphore keeps at most 16 spent acquires", async () => {
  const sem = new Semaphore(40);
  await run(function* () {
    const acquires = Array.from({ length: 40 }, () => sem.acquire());
    const permits = [];
    for (const acquire of acquires) permits.push(yield* acquire);
    for (const permit of permits) permit.release();
  });
  assert.equal(sparesOf(sem).length, 16);
  assert.equal(sem.availablePermits, 40);
});

test("in debug mode nothing is reused, and dropping a spent acquire throws WakerContractError", async () => {
  setDebugMode(true);
  try {
    const mutex = new Mutex(0);
    let spent: Future<unknown> | null = null;
    await run(function* () {
      const lock = mutex.lock();
      (yield* lock).release();
      spent = lock;
      assert.notEqual(mutex.lock(), lock);
    });
    const error = thrown(() => (spent as Future<unknown> | null)?.drop(), WakerContractError);
    assert.match(error.message, /Mutex\.lock dropped after the yield\* that awaited it completed/);
  } finally {
    setDebugMode(false);
  }
});
