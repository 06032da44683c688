import assert from "node:assert/strict";
import { test } from "node:test";
import {
  future,
  OutOfRangeError,
  Runtime,
  Semaphore,
  SemaphoreClosed,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { thrown } from "./support.js";

const MAX = Semaphore.MAX_PERMITS;

test("MAX_PERMITS is 2^31 - 1", () => {
  assert.equal(MAX, 2 ** 31 - 1);
  assert.equal(new Semaphore(MAX).availablePermits, MAX);
  assert.equal(new Semaphore(0).availablePermits, 0);
});

test("bad permit counts are an OutOfRangeError with a clear message", () => {
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 31, Number.POSITIVE_INFINITY, "3", undefined]) {
    const e = thrown(() => new Semaphore(bad as number), OutOfRangeError);
    assert.match(e.message, /^Semaphore: expected an integer >= 0 and <= 2147483647, got /);
  }
  assert.match(thrown(() => new Semaphore("3" as never), OutOfRangeError).message, /got string 3/);
  const sem = new Semaphore(1);
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 31]) {
    // At the call, not at the first poll.
    const e = thrown(() => sem.acquire(bad), OutOfRangeError);
    assert.match(e.message, /^Semaphore\.acquire: expected an integer >= 1 and <= 2147483647/);
    assert.match(
      thrown(() => sem.tryAcquire(bad), OutOfRangeError).message,
      /Semaphore\.tryAcquire/,
    );
  }
  assert.match(thrown(() => sem.addPermits(-1), OutOfRangeError).message, /Semaphore\.addPermits/);
  assert.match(thrown(() => sem.addPermits(0.5), OutOfRangeError).message, /Semaphore\.addPermits/);
});

test("addPermits beyond MAX_PERMITS is an OutOfRangeError and adds nothing", () => {
  const sem = new Semaphore(MAX);
  const e = thrown(() => sem.addPermits(1), OutOfRangeError);
  assert.match(e.message, /more than 2147483647 permits/);
  assert.equal(sem.availablePermits, MAX);
  const half = new Semaphore(2 ** 30);
  half.addPermits(2 ** 30 - 1);
  assert.equal(half.availablePermits, MAX);
  half.addPermits(0);
});

test("acquire takes permits at once when available; release gives them back (idempotent)", () => {
  const sem = new Semaphore(3);
  const p = assertReady(new MockTask(sem.acquire(2)).poll());
  assert.equal(p.permits, 2);
  assert.equal(sem.availablePermits, 1);
  const q = assertReady(new MockTask(sem.acquire()).poll());
  assert.equal(q.permits, 1);
  assert.equal(sem.availablePermits, 0);
  p.release();
  p.release();
  q[Symbol.dispose]();
  assert.equal(sem.availablePermits, 3);
});

test("acquire is lazy: it does not queue until polled", () => {
  const sem = new Semaphore(0);
  const a = sem.acquire();
  assert.equal(sem.waiters.length, 0);
  const t = new MockTask(a);
  assertPending(t.poll());
  assert.equal(sem.waiters.length, 1);
});

test("waiters are served in FIFO order; a large request is not starved by small ones", () => {
  const sem = new Semaphore(1);
  const big = new MockTask(sem.acquire(3));
  const small = new MockTask(sem.acquire(1));
  assertPending(big.poll()); // takes the 1 available permit as a partial assignment
  assertPending(small.poll());
  assert.equal(sem.availablePermits, 0);
  assert.equal(sem.tryAcquire(1), undefined, "tryAcquire never overtakes the queue");
  sem.addPermits(1);
  assert.ok(!big.isWoken() && !small.isWoken(), "the permit goes to the head, partially");
  sem.addPermits(2); // one completes the head, the one left over serves the next waiter
  assert.ok(big.isWoken());
  assert.ok(small.isWoken());
  assert.equal(assertReady(big.poll()).permits, 3);
  assert.equal(assertReady(small.poll()).permits, 1);
  assert.equal(sem.availablePermits, 0);
  assert.equal(sem.waiters.length, 0);
});

test("cancel safety: a dropped acquire holds no permit; its partial permits go to the next waiter", () => {
  const sem = new Semaphore(1);
  const held = sem.tryAcquire()!;
  const a = new MockTask(sem.acquire(3));
  const b = new MockTask(sem.acquire(1));
  const c = new MockTask(sem.acquire(1));
  for (const t of [a, b, c]) assertPending(t.poll());
  held.release(); // 1 permit, assigned to a (partially)
  assert.equal(sem.availablePermits, 0);
  assert.ok(!b.isWoken());
  a.drop();
  assert.equal(a.wakerRefCount, 0);
  assert.ok(b.isWoken(), "a's permit went to b");
  assert.ok(!c.isWoken(), "c keeps its place behind b");
  assert.equal(assertReady(b.poll()).permits, 1);
  assert.equal(sem.waiters.length, 1);
  c.drop();
  assert.equal(sem.waiters.length, 0);
  assert.equal(sem.availablePermits, 0);
});

test("cancel safety: an acquire dropped after it was fully served passes its permits on", () => {
  const sem = new Semaphore(0);
  const a = new MockTask(sem.acquire(2));
  const b = new MockTask(sem.acquire(2));
  assertPending(a.poll());
  assertPending(b.poll());
  sem.addPermits(2);
  assert.ok(a.isWoken());
  a.drop();
  assert.ok(b.isWoken());
  assertReady(b.poll()).release();
  assert.equal(sem.availablePermits, 2);
});

test("close wakes every waiter; each fails with SemaphoreClosed and its partial permits return", () => {
  const sem = new Semaphore(1);
  const a = new MockTask(sem.acquire(2));
  const b = new MockTask(sem.acquire(1));
  assertPending(a.poll());
  assertPending(b.poll());
  assert.equal(sem.availablePermits, 0);
  sem.close();
  sem.close(); // idempotent
  assert.ok(sem.isClosed());
  assert.ok(a.isWoken() && b.isWoken());
  const e = thrown(() => a.poll(), SemaphoreClosed);
  assert.equal(e.code, "SEMAPHORE_CLOSED");
  assert.equal(e.name, "SemaphoreClosed");
  assert.ok(e instanceof Error);
  thrown(() => b.poll(), SemaphoreClosed);
  assert.equal(a.wakerRefCount + b.wakerRefCount, 0);
  assert.equal(sem.availablePermits, 1, "the partial permit came back");
  thrown(() => new MockTask(sem.acquire()).poll(), SemaphoreClosed);
  thrown(() => sem.tryAcquire(), SemaphoreClosed);
});

test("permits held across close are still returned by release", () => {
  const sem = new Semaphore(2);
  const p = sem.tryAcquire(2)!;
  sem.close();
  p.release();
  assert.equal(sem.availablePermits, 2);
});

test("forget keeps the permits out of the semaphore for good", () => {
  const sem = new Semaphore(3);
  const p = sem.tryAcquire(2)!;
  p.forget();
  p.release(); // no effect
  assert.equal(sem.availablePermits, 1);
});

test("addPermits counts taken permits too: the total never passes MAX_PERMITS, forgotten ones leave it", () => {
  const max = Semaphore.MAX_PERMITS;
  const sem = new Semaphore(max);
  const p = sem.tryAcquire(1)!;
  thrown(() => sem.addPermits(1), OutOfRangeError); // one is taken, not gone
  p.release();
  assert.equal(sem.availablePermits, max, "never more than the maximum");
  const q = sem.tryAcquire(2)!;
  q.forget();
  q.forget(); // once only
  sem.addPermits(2);
  assert.equal(sem.availablePermits, max);
  thrown(() => sem.addPermits(1), OutOfRangeError);
});

test("a dropped pending acquire releases its waker", () => {
  const sem = new Semaphore(0);
  const t = new MockTask(sem.acquire());
  assertPending(t.poll());
  assert.equal(t.wakerRefCount, 1);
  t.drop();
  assert.equal(t.wakerRefCount, 0);
  assert.equal(sem.waiters.length, 0);
});

test("on a runtime: never more than `permits` holders at once, all permits back at the end", async () => {
  for (const scheduling of ["fifo" as const, { random: 1 }, { random: 42 }]) {
    const rt = new Runtime({ scheduling });
    const sem = new Semaphore(3);
    let inside = 0;
    let max = 0;
    await rt.run(
      future(function* () {
        const handles = Array.from({ length: 12 }, (_, i) =>
          rt.spawn(
            future(function* () {
              using permit = yield* sem.acquire(1 + (i % 2));
              inside += permit.permits;
              max = Math.max(max, inside);
              for (let j = 0; j < i % 4; j++) yield* yieldNow();
              inside -= permit.permits;
            }),
          ),
        );
        for (const h of handles) yield* h;
      }),
    );
    assert.ok(max <= 3, `${max} permits held at once`);
    assert.equal(sem.availablePermits, 3);
  }
});

test("SemaphorePermit.split moves permits into a permit of their own", () => {
  const sem = new Semaphore(3);
  const all = sem.tryAcquire(3)!;
  const one = all.split(1)!;
  assert.equal(all.permits, 2);
  assert.equal(one.permits, 1);
  assert.equal(all.split(3), undefined, "not enough permits: nothing moves");
  assert.equal(all.permits, 2);
  all.release();
  assert.equal(sem.availablePermits, 2);
  one.release();
  assert.equal(sem.availablePermits, 3);
  thrown(() => one.split(0), WakerContractError);
  const held = sem.tryAcquire(1)!;
  thrown(() => held.split(-1), OutOfRangeError);
  thrown(() => held.split(0.5), OutOfRangeError);
  assert.equal(held.split(0)!.permits, 0);
});
