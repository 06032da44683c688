import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Mutex, Runtime, WakerContractError, yieldNow } from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";

test("lock gives a guard to the value; release unlocks; the guard is dead afterwards", () => {
  const m = new Mutex({ n: 1 });
  assert.ok(!m.isLocked());
  const guard = assertReady(new MockTask(m.lock()).poll());
  assert.ok(m.isLocked());
  guard.value.n++;
  guard.value = { n: guard.value.n * 10 };
  guard.release();
  guard.release(); // idempotent
  assert.ok(!m.isLocked());
  assert.throws(() => guard.value, WakerContractError);
  assert.throws(() => {
    guard.value = { n: 0 };
  }, WakerContractError);
  const again = m.tryLock()!;
  assert.equal(again.value.n, 20);
  again[Symbol.dispose]();
  assert.ok(!m.isLocked());
});

test("lock is lazy; it waits while locked and is woken when unlocked", () => {
  const m = new Mutex(0);
  const held = m.tryLock()!;
  const lock = m.lock();
  const t = new MockTask(lock);
  assertPending(t.poll());
  assert.equal(t.wakerRefCount, 1);
  held.release();
  assert.ok(t.isWoken());
  assert.ok(m.isLocked(), "the lock is handed to the waiter, not left free");
  assert.equal(m.tryLock(), undefined);
  assertReady(t.poll()).release();
  assert.equal(t.wakerRefCount, 0);
});

test("tryLock fails while locked or while others wait in line", () => {
  const m = new Mutex(0);
  const held = m.tryLock()!;
  assert.equal(m.tryLock(), undefined);
  const t = new MockTask(m.lock());
  assertPending(t.poll());
  held.release();
  assert.equal(m.tryLock(), undefined);
  assertReady(t.poll()).release();
  assert.ok(m.tryLock() !== undefined);
});

test("waiters get the lock in FIFO order", () => {
  const m = new Mutex<string[]>([]);
  let guard = m.tryLock()!;
  const tasks = ["a", "b", "c", "d"].map((name) => ({ name, t: new MockTask(m.lock()) }));
  for (const { t } of tasks) assertPending(t.poll());
  for (const { name, t } of tasks) {
    guard.release();
    assert.deepEqual(
      tasks.filter((x) => x.t.isWoken()).map((x) => x.name),
      [name],
    );
    guard = assertReady(t.poll());
    guard.value.push(name);
  }
  assert.deepEqual(guard.value, ["a", "b", "c", "d"]);
});

test("cancel safety: a dropped lock leaves the queue order intact and never holds the lock", () => {
  const m = new Mutex(0);
  const held = m.tryLock()!;
  const a = new MockTask(m.lock());
  const b = new MockTask(m.lock());
  const c = new MockTask(m.lock());
  for (const t of [a, b, c]) assertPending(t.poll());
  b.drop();
  assert.equal(b.wakerRefCount, 0);
  held.release();
  assert.ok(a.isWoken() && !c.isWoken());
  const ga = assertReady(a.poll());
  ga.release();
  assert.ok(c.isWoken());
  assertReady(c.poll()).release();
  assert.ok(!m.isLocked());
});

test("cancel safety: a lock dropped after it was granted passes the lock to the next waiter", () => {
  const m = new Mutex(0);
  const held = m.tryLock()!;
  const a = new MockTask(m.lock());
  const b = new MockTask(m.lock());
  assertPending(a.poll());
  assertPending(b.poll());
  held.release(); // granted to a
  a.drop(); // a never used it
  assert.ok(b.isWoken());
  assertReady(b.poll()).release();
  assert.ok(!m.isLocked());
});

test("on a runtime: mutual exclusion across yields, FIFO and random scheduling", async () => {
  for (const scheduling of ["fifo" as const, { random: 5 }, { random: 77 }]) {
    const rt = new Runtime({ scheduling });
    const m = new Mutex({ count: 0, owner: -1 });
    let inside = 0;
    await rt.run(
      future(function* () {
        const handles = Array.from({ length: 8 }, (_, i) =>
          rt.spawn(
            future(function* () {
              for (let k = 0; k < 3; k++) {
                using guard = yield* m.lock();
                inside++;
                assert.equal(inside, 1);
                guard.value.owner = i;
                yield* yieldNow();
                assert.equal(guard.value.owner, i);
                guard.value.count++;
                inside--;
              }
            }),
          ),
        );
        for (const h of handles) yield* h;
      }),
    );
    assert.equal(m.tryLock()!.value.count, 24);
  }
});
