import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Context,
  DeadlockError,
  future,
  Pending,
  pollFn,
  Runtime,
  spawn,
  WakerSlot,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, countingWaker, MockTask } from "../../src/testing/index.js";

test("a wake before any register is a no-op", () => {
  const slot = new WakerSlot();
  slot.wake();
  slot.wakeByRef();
  slot.release();
  assert.equal(slot.take(), null);
  assert.ok(!slot.isRegistered);
  const { waker, counts } = countingWaker();
  slot.register(waker);
  assert.equal(counts.wakes, 0, "the early wake was not remembered");
});

test("register stores a clone; wake wakes it once and empties the slot", () => {
  const slot = new WakerSlot();
  const { waker, counts } = countingWaker();
  slot.register(waker);
  assert.ok(slot.isRegistered);
  assert.deepEqual(counts, { wakes: 0, clones: 1, drops: 0, live: 2 });
  slot.wake();
  assert.deepEqual(counts, { wakes: 1, clones: 1, drops: 0, live: 1 });
  assert.ok(!slot.isRegistered);
  slot.wake();
  assert.equal(counts.wakes, 1);
});

test("register skips the clone when the stored waker already wakes the same task", () => {
  const slot = new WakerSlot();
  const { waker, counts } = countingWaker();
  for (let i = 0; i < 5; i++) slot.register(waker);
  slot.register(waker.clone()); // a clone of the same task: willWake
  assert.equal(counts.clones, 2, "one clone by the slot, one by the test");
  assert.equal(counts.live, 3);
  slot.wake();
  assert.equal(counts.wakes, 1);
});

test("registering another task's waker drops the old one; only the new one is woken", () => {
  const slot = new WakerSlot();
  const a = countingWaker();
  const b = countingWaker();
  slot.register(a.waker);
  slot.register(b.waker);
  assert.equal(a.counts.drops, 1);
  assert.equal(a.counts.live, 1);
  slot.wake();
  assert.equal(a.counts.wakes, 0);
  assert.equal(b.counts.wakes, 1);
  assert.equal(b.counts.live, 1);
});

test("wakeByRef wakes and keeps the waker; release drops it without waking", () => {
  const slot = new WakerSlot();
  const { waker, counts } = countingWaker();
  slot.register(waker);
  slot.wakeByRef();
  slot.wakeByRef();
  assert.equal(counts.wakes, 2);
  assert.ok(slot.isRegistered);
  slot.release();
  assert.equal(counts.wakes, 2);
  assert.equal(counts.drops, 1);
  assert.equal(counts.live, 1);
  assert.ok(!slot.isRegistered);
});

test("take hands the stored waker over; the slot is empty afterwards", () => {
  const slot = new WakerSlot({ wokenBy: "host" });
  const { waker, counts } = countingWaker();
  slot.register(waker);
  const taken = slot.take();
  assert.ok(taken?.willWake(waker));
  assert.ok(!slot.isRegistered);
  assert.equal(slot.take(), null);
  taken!.wake();
  assert.deepEqual(counts, { wakes: 1, clones: 1, drops: 0, live: 1 });
});

test("register-then-check: a leaf that registers first never misses a wake", () => {
  const slot = new WakerSlot();
  let answer: string | null = null;
  const leaf = pollFn<string>((cx: Context) => {
    slot.register(cx.waker);
    return answer ?? Pending; // re-check after registering
  });
  const task = new MockTask(leaf);
  assertPending(task.poll());
  answer = "ok";
  slot.wake();
  assert.ok(task.isWoken());
  assert.equal(assertReady(task.poll()), "ok");
  // The event may also happen before the poll: the check after register sees it.
  const slot2 = new WakerSlot();
  let ready2 = false;
  const leaf2 = pollFn<void>((cx) => {
    slot2.register(cx.waker);
    return ready2 ? undefined : Pending;
  });
  ready2 = true;
  slot2.wake(); // before any register: nothing to wake, and nothing lost
  assertReady(new MockTask(leaf2).poll());
});

test('wokenBy "host": a task waiting on the slot is not a deadlock while a host callback can wake it', async () => {
  const rt = new Runtime();
  const slot = new WakerSlot({ wokenBy: "host" });
  let answer: number | null = null;
  setImmediate(() =>
    setImmediate(() => {
      answer = 42;
      slot.wake();
    }),
  );
  const got = await rt.run(
    pollFn<number>((cx) => {
      slot.register(cx.waker);
      return answer ?? Pending;
    }),
  );
  assert.equal(got, 42);
});

test('wokenBy "tasks" (default): a task waiting on a slot nobody can reach is a deadlock', async () => {
  const rt = new Runtime();
  const slot = new WakerSlot();
  await assert.rejects(
    rt.run(
      future(function* () {
        yield* pollFn<void>((cx) => {
          slot.register(cx.waker);
          return Pending;
        });
      }),
    ),
    DeadlockError,
  );
  slot.release();
});

test("a slot filled by a context's waker behaves like any waker", () => {
  const { waker, counts } = countingWaker();
  const cx = Context.fromWaker(waker);
  const slot = new WakerSlot();
  slot.register(cx.waker);
  slot.register(cx.waker);
  assert.equal(counts.clones, 1);
  slot.release();
  assert.equal(counts.live, 1);
});

test("take of a task's waker hands out a real waker: waking it from the host resumes the task", async () => {
  const rt = new Runtime();
  const slot = new WakerSlot(); // woken by tasks: while in the slot, the waker is no way out
  let answer: number | null = null;
  const got = await rt.run(
    future(function* () {
      const waiter = spawn(
        pollFn<number>((cx) => {
          slot.register(cx.waker);
          return answer ?? Pending;
        }),
      );
      yield* yieldNow(); // the waiter registers
      const taken = slot.take();
      assert.ok(taken !== null);
      assert.ok(!slot.isRegistered);
      // Held by the caller now, not by a runtime structure: a way out, so no deadlock is
      // reported while a host callback holds it.
      setImmediate(() => {
        answer = 7;
        taken.wake();
      });
      return yield* waiter;
    }),
  );
  assert.equal(got, 7);
});

test("take of a task's waker, then dropped unwoken: nothing can wake the task, a deadlock", {
  timeout: 10_000,
}, async () => {
  const rt = new Runtime();
  const slot = new WakerSlot({ wokenBy: "host" });
  const root = rt.run(
    pollFn<void>((cx) => {
      slot.register(cx.waker);
      return Pending;
    }),
  );
  await rt.run(pollFn(() => undefined));
  const taken = slot.take();
  assert.ok(taken !== null);
  taken.drop();
  await rt.run(pollFn(() => undefined)).catch(() => undefined);
  await assert.rejects(root, DeadlockError);
});
