/**
 * Edge cases of the locks against tokio's semantics (Notify, Semaphore, RwLock, Barrier): a
 * permit stored by notifyOne is consumed by the next notified() even when notifyWaiters also
 * released it, an acquire larger than the semaphore ever holds waits (and holds back later ones)
 * rather than failing, permits granted before close come back when the acquire is dropped, a
 * queued writer dropped after it was partly served lets the readers behind it in, and a barrier
 * wait dropped after its group was released withdraws nothing from the next group.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { Barrier, Notify, RwLock, Semaphore, SemaphoreClosed } from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";

test("Notify: a future released by notifyWaiters still consumes a permit stored before its first poll", () => {
  // tokio: "If notify_one() is called before notified().await, then the next call to
  // notified().await will complete immediately, consuming the permit."
  const n = new Notify();
  n.notifyOne(); // nobody waits: stored
  const early = new MockTask(n.notified());
  n.notifyWaiters(); // releases `early` too, stores nothing
  assertReady(early.poll());
  assertPending(new MockTask(n.notified()).poll(), "the one permit was consumed by `early`");
});

test("Notify: a notifyOne received before notifyWaiters is passed on when its future is dropped", () => {
  const n = new Notify();
  const a = new MockTask(n.notified());
  const b = new MockTask(n.notified());
  assertPending(a.poll());
  assertPending(b.poll());
  n.notifyOne(); // to a
  n.notifyWaiters(); // releases b; a was already notified
  assert.ok(a.isWoken() && b.isWoken());
  a.drop(); // a's notifyOne goes on: nobody waits, so it is stored
  assertReady(b.poll());
  assertReady(new MockTask(n.notified()).poll(), "the permit a passed on");
  assertPending(new MockTask(n.notified()).poll());
});

test("Semaphore: an acquire of more than it holds waits, holds back later acquires, and fails on close", () => {
  const sem = new Semaphore(2);
  const big = new MockTask(sem.acquire(5));
  const small = new MockTask(sem.acquire(1));
  assertPending(big.poll());
  assertPending(small.poll());
  assert.equal(sem.availablePermits, 0, "the two permits are assigned to the head");
  assert.equal(sem.tryAcquire(), undefined);
  sem.addPermits(2);
  assert.ok(!big.isWoken() && !small.isWoken(), "4 of 5: still waiting, and so is the one behind");
  sem.close();
  assert.throws(() => big.poll(), SemaphoreClosed);
  assert.throws(() => small.poll(), SemaphoreClosed);
  assert.equal(sem.availablePermits, 4, "the permits assigned to the failed acquire came back");
});

test("Semaphore: permits granted before close come back when the acquire is dropped unpolled", () => {
  const sem = new Semaphore(0);
  const a = new MockTask(sem.acquire(2));
  assertPending(a.poll());
  sem.addPermits(2);
  assert.ok(a.isWoken());
  sem.close();
  a.drop();
  assert.equal(a.wakerRefCount, 0);
  assert.equal(sem.availablePermits, 2);
});

test("RwLock: a queued writer dropped after it was partly served lets the readers behind it in", () => {
  const lock = new RwLock(0);
  const r1 = lock.tryRead()!;
  const writer = new MockTask(lock.write());
  assertPending(writer.poll()); // takes every free permit, waits for r1's
  const reader = new MockTask(lock.read());
  assertPending(reader.poll());
  assert.equal(lock.tryRead(), undefined, "held back by the queued writer");
  writer.drop();
  assert.ok(reader.isWoken(), "the writer's permits went on to the reader");
  const r2 = assertReady(reader.poll());
  r1.release();
  r2.release();
  const w = lock.tryWrite();
  assert.ok(w, "every permit is back");
  w.release();
});

test("Barrier: a wait dropped after its group was released withdraws nothing from the next group", () => {
  const barrier = new Barrier(2);
  const a = new MockTask(barrier.wait());
  assertPending(a.poll());
  const b = new MockTask(barrier.wait());
  assert.deepEqual(assertReady(b.poll()), { isLeader: true });
  assert.ok(a.isWoken());
  a.drop(); // released, but never polled again
  assert.equal(a.wakerRefCount, 0);
  const c = new MockTask(barrier.wait());
  assertPending(c.poll());
  const d = new MockTask(barrier.wait());
  assert.deepEqual(
    assertReady(d.poll()),
    { isLeader: true },
    "two arrivals release the next group",
  );
  assert.deepEqual(assertReady(c.poll()), { isLeader: false });
});
