import assert from "node:assert/strict";
import { test } from "node:test";
import { ChannelClosed, future, Runtime, watch, yieldNow } from "../../src/index.js";
import { MockTask } from "../../src/testing/index.js";
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
  assert.equal(rx.hasChanged(), false);
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
