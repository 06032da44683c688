import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Notify, Runtime, yieldNow } from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";

test("notifyOne with nobody waiting stores one permit for the next notified()", () => {
  const n = new Notify();
  n.notifyOne();
  n.notifyOne(); // permits do not accumulate
  assertReady(new MockTask(n.notified()).poll());
  assertPending(new MockTask(n.notified()).poll());
});

test("notifyOne wakes the oldest waiting future (FIFO)", () => {
  const n = new Notify();
  const tasks = [0, 1, 2].map(() => new MockTask(n.notified()));
  for (const t of tasks) assertPending(t.poll());
  for (let i = 0; i < 3; i++) {
    n.notifyOne();
    assert.deepEqual(
      tasks.map((t) => t.isWoken()),
      tasks.map((_, j) => j === i),
    );
    assertReady(tasks[i]!.poll());
    assert.equal(tasks[i]!.wakerRefCount, 0);
  }
});

test("notified() is lazy: notifyOne does not target a future that was never polled", () => {
  const n = new Notify();
  const lazy = new MockTask(n.notified());
  const waiting = new MockTask(n.notified());
  assertPending(waiting.poll());
  n.notifyOne();
  assert.ok(waiting.isWoken());
  assertPending(lazy.poll(), "the notification went to the waiting future");
});

test("notifyWaiters wakes every future created before it, stores nothing", () => {
  const n = new Notify();
  const polled = new MockTask(n.notified());
  const unpolled = new MockTask(n.notified());
  assertPending(polled.poll());
  n.notifyWaiters();
  assert.ok(polled.isWoken());
  assertReady(polled.poll());
  assertReady(unpolled.poll(), "created before notifyWaiters: released too");
  assertPending(new MockTask(n.notified()).poll(), "created after: not released, no permit");
});

test("cancel safety: a dropped future passes an unreported notifyOne to the next waiter", () => {
  const n = new Notify();
  const a = new MockTask(n.notified());
  const b = new MockTask(n.notified());
  assertPending(a.poll());
  assertPending(b.poll());
  n.notifyOne();
  assert.ok(a.isWoken() && !b.isWoken());
  a.drop();
  assert.equal(a.wakerRefCount, 0);
  assert.ok(b.isWoken(), "the notification moved to b");
  assertReady(b.poll());
});

test("cancel safety: with no one else waiting, a dropped notified future stores the permit", () => {
  const n = new Notify();
  const a = new MockTask(n.notified());
  assertPending(a.poll());
  n.notifyOne();
  a.drop();
  assertReady(new MockTask(n.notified()).poll());
});

test("a dropped future that was not notified changes nothing for the others", () => {
  const n = new Notify();
  const a = new MockTask(n.notified());
  const b = new MockTask(n.notified());
  assertPending(a.poll());
  assertPending(b.poll());
  a.drop();
  assert.equal(a.wakerRefCount, 0);
  assert.ok(!b.isWoken());
  n.notifyOne();
  assert.ok(b.isWoken());
  assertReady(b.poll());
  assertPending(new MockTask(n.notified()).poll());
});

test("a future released by notifyWaiters passes nothing on when dropped", () => {
  const n = new Notify();
  const a = new MockTask(n.notified());
  assertPending(a.poll());
  n.notifyWaiters();
  a.drop();
  assertPending(new MockTask(n.notified()).poll());
});

test("on a runtime: a producer and a consumer signal through Notify without losing a wake", async () => {
  for (const scheduling of ["fifo" as const, { random: 11 }]) {
    const rt = new Runtime({ scheduling });
    const n = new Notify();
    const queue: number[] = [];
    const got: number[] = [];
    await rt.run(
      future(function* () {
        const consumer = rt.spawn(
          future(function* () {
            while (got.length < 50) {
              const item = queue.shift();
              if (item === undefined) yield* n.notified();
              else got.push(item);
            }
          }),
        );
        for (let i = 0; i < 50; i++) {
          queue.push(i);
          n.notifyOne();
          if (i % 4 === 0) yield* yieldNow();
        }
        yield* consumer;
      }),
    );
    assert.deepEqual(
      got,
      Array.from({ length: 50 }, (_, i) => i),
    );
  }
});
