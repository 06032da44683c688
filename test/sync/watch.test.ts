import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChannelClosed,
  future,
  InvalidArgumentError,
  Runtime,
  watch,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { attempt, expectError } from "./support.js";

test("watch: changed() wakes on the next send; a burst is seen once, the latest value", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const [tx, rx] = watch(0);
      let wakes = 0;
      const observer = rt.spawn(
        future(function* () {
          yield* rx.changed();
          wakes++;
          return rx.borrowAndUpdate();
        }),
      );
      yield* yieldNow();
      tx.send(1);
      tx.send(2);
      assert.equal(yield* observer, 2);
      assert.equal(wakes, 1);
      assert.equal(rx.hasChanged(), false);
    }),
  );
});

test("watch: sendModify changes in place; borrow reads without marking seen", () => {
  const [tx, rx] = watch({ n: 1 });
  tx.sendModify((v) => {
    v.n = 5;
  });
  assert.equal(rx.borrow().n, 5);
  assert.equal(rx.hasChanged(), true);
  rx.borrowAndUpdate();
  assert.equal(rx.hasChanged(), false);
  tx.sendModify(() => ({ n: 9 }));
  assert.equal(tx.borrow().n, 9);
});

test("watch: changed() throws ChannelClosed once the sender is dropped and all is seen", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const [tx, rx] = watch("a");
      tx.send("b");
      tx.drop();
      yield* rx.changed();
      assert.equal(rx.borrowAndUpdate(), "b");
      const error = yield* rx.changed().catch((e: unknown) => e);
      assert.ok(error instanceof ChannelClosed);
    }),
  );
});

test("watch: send with no receiver hands the value back; subscribe sees the current value", () => {
  const [tx, rx] = watch(1);
  const rx2 = tx.subscribe();
  assert.equal(rx2.hasChanged(), false);
  rx.drop();
  rx2.drop();
  assert.throws(
    () => tx.send(2),
    (e: unknown) => e instanceof ChannelClosed && e.value === 2,
  );
});

test("watch: a dropped sender sends nothing more: receivers told the channel ended stay told", () => {
  const [tx, rx] = watch(0);
  tx.drop();
  const task = new MockTask(rx.changed());
  expectError(
    attempt(() => task.poll()),
    ChannelClosed,
    "changed() after the sender's drop",
  );
  assert.throws(
    () => tx.send(1),
    (e: unknown) => e instanceof ChannelClosed && e.code === "CHANNEL_CLOSED" && e.value === 1,
  );
  let called = false;
  assert.throws(
    () =>
      tx.sendModify(() => {
        called = true;
      }),
    ChannelClosed,
  );
  assert.equal(called, false);
  assert.throws(() => tx.subscribe(), ChannelClosed);
  assert.throws(() => rx.hasChanged(), ChannelClosed);
  assert.equal(rx.borrow(), 0);
  assert.equal(tx.receiverCount, 1);
});

test("watch: a dropped receiver cannot be cloned or wait, and is counted once", () => {
  const [tx, rx] = watch(0);
  const rx2 = rx.clone();
  rx.drop();
  rx.drop();
  assert.equal(tx.receiverCount, 1);
  assert.throws(() => rx.clone(), ChannelClosed);
  assert.throws(() => rx.changed(), ChannelClosed);
  assert.equal(tx.receiverCount, 1);
  tx.send(1);
  assert.equal(rx2.borrowAndUpdate(), 1);
});

test("watch: waitFor checks the current value first, then each new one, and marks them seen", () => {
  const [tx, rx] = watch(3);
  rx.borrowAndUpdate();
  // The current value matches, though already seen: ready at once.
  assert.equal(assertReady(new MockTask(rx.waitFor((v) => v > 2)).poll()), 3);
  const checked: number[] = [];
  const task = new MockTask(
    rx.waitFor((v) => {
      checked.push(v);
      return v >= 10;
    }),
  );
  assertPending(task.poll());
  tx.send(4);
  assert.ok(task.isWoken());
  assertPending(task.poll());
  tx.send(7);
  tx.send(11); // a burst: only the latest is checked
  assert.equal(assertReady(task.poll()), 11);
  assert.deepEqual(checked, [3, 4, 11]);
  assert.equal(rx.hasChanged(), false, "what it checked is marked seen");
  assert.equal(task.wakerRefCount, 0);
});

test("watch: waitFor fails with ChannelClosed when the sender goes first, passes on a throwing predicate", () => {
  const [tx, rx] = watch(0);
  const waiting = new MockTask(rx.waitFor((v) => v === 5));
  assertPending(waiting.poll());
  tx.send(5);
  tx.drop();
  assert.equal(
    assertReady(waiting.poll()),
    5,
    "a matching value sent before the drop still counts",
  );
  const closed = new MockTask(rx.waitFor((v) => v === 6));
  expectError(
    attempt(() => closed.poll()),
    ChannelClosed,
    "waitFor after the sender's drop",
  );
  assert.equal(closed.wakerRefCount, 0);
  const [, rx2] = watch(1);
  const boom = new Error("predicate");
  const throwing = new MockTask(
    rx2.waitFor(() => {
      throw boom;
    }),
  );
  assert.throws(
    () => throwing.poll(),
    (e) => e === boom,
  );
  assert.throws(() => rx2.waitFor(42 as never), InvalidArgumentError);
  rx2.drop();
  assert.throws(() => rx2.waitFor(() => true), ChannelClosed);
});

test("watch: a dropped waitFor leaves no waiter behind", () => {
  const [tx, rx] = watch(0);
  const task = new MockTask(rx.waitFor((v) => v > 0));
  assertPending(task.poll());
  task.drop();
  tx.send(1);
  assert.equal(task.isWoken(), false);
  assert.equal(rx.hasChanged(), true, "the dropped wait consumed nothing");
});

test("watch: sendIfModified notifies only when fn says so; sendReplace returns the old value", () => {
  const [tx, rx] = watch(new Set([1, 2]));
  const task = new MockTask(rx.changed());
  assertPending(task.poll());
  assert.equal(
    tx.sendIfModified((set) => set.delete(9)),
    false,
  );
  assert.equal(task.isWoken(), false, "nothing changed: nobody woken");
  assert.equal(
    tx.sendIfModified((set) => set.delete(1)),
    true,
  );
  assert.ok(task.isWoken());
  assertReady(task.poll());
  const old = tx.sendReplace(new Set([7]));
  assert.deepEqual([...old], [2]);
  assert.deepEqual([...rx.borrowAndUpdate()], [7]);
  assert.equal(tx.isClosed(), false);
  rx.drop();
  assert.equal(tx.isClosed(), true, "every receiver dropped");
  assert.deepEqual([...tx.sendReplace(new Set([8]))], [7], "sendReplace works with no receiver");
  tx.drop();
  assert.throws(() => tx.sendIfModified(() => true), ChannelClosed);
  assert.throws(() => tx.sendReplace(new Set()), ChannelClosed);
});
