import assert from "node:assert/strict";
import { test } from "node:test";
import {
  broadcast,
  ChannelClosed,
  future,
  join,
  Lagged,
  OutOfRangeError,
  Runtime,
  yieldNow,
} from "../../src/index.js";

test("broadcast: every receiver gets every message", async () => {
  const rt = new Runtime();
  const out = await rt.run(
    future(function* () {
      const [tx, rx1] = broadcast<number>(4);
      const rx2 = tx.subscribe();
      assert.equal(tx.send(1), 2);
      tx.send(2);
      return yield* join(rx1.recv(), rx1.recv(), rx2.recv(), rx2.recv());
    }),
  );
  assert.deepEqual(out, [1, 2, 1, 2]);
});

test("broadcast: a lagging receiver gets Lagged(n) and continues with the oldest held", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const [tx, rx] = broadcast<number>(2);
      for (let i = 1; i <= 5; i++) tx.send(i);
      const error = yield* rx.recv().catch((e: unknown) => e);
      assert.ok(error instanceof Lagged);
      assert.equal(error.code, "LAGGED");
      assert.equal(error.missed, 3);
      assert.equal(yield* rx.recv(), 4);
      assert.equal(yield* rx.recv(), 5);
    }),
  );
});

test("broadcast: a waiting receiver is woken by send; the end comes after the last sender", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const [tx, rx] = broadcast<string>(2);
      const reader = rt.spawn(
        future(function* () {
          const got: string[] = [];
          for (;;) {
            const v = yield* rx.recv().catch((e: unknown) => e);
            if (v instanceof ChannelClosed) return got;
            got.push(v as string);
          }
        }),
      );
      yield* yieldNow();
      tx.send("a");
      yield* yieldNow();
      tx.send("b");
      tx.drop();
      assert.deepEqual(yield* reader, ["a", "b"]);
    }),
  );
});

test("broadcast: send with no receiver hands the value back; bad capacity", () => {
  const [tx, rx] = broadcast<number>(1);
  rx.drop();
  assert.throws(
    () => tx.send(7),
    (e: unknown) => e instanceof ChannelClosed && e.value === 7,
  );
  assert.throws(() => broadcast(0), OutOfRangeError);
  assert.throws(() => broadcast(1.5), OutOfRangeError);
  assert.throws(() => broadcast(2 ** 40), OutOfRangeError, "more slots than one array holds");
});

test("broadcast and watch receivers are streams", async () => {
  const { Stream, watch } = await import("../../src/index.js");
  const rt = new Runtime();
  const [tx, rx] = broadcast<number>(8);
  tx.send(1);
  tx.send(2);
  tx.drop();
  assert.deepEqual(await rt.run(Stream.from(rx).collect()), [1, 2]);
  const [wtx, wrx] = watch(0);
  const seen = rt.run(Stream.from(wrx).take(2).collect());
  await rt.run(yieldNow());
  wtx.send(1);
  await rt.run(yieldNow());
  wtx.send(2);
  assert.deepEqual(await seen, [1, 2]);
});

test("broadcast: dropped handles cannot reopen the channel or be counted again", () => {
  const [tx, rx] = broadcast<number>(1);
  const rx2 = rx.clone();
  tx.drop();
  assert.throws(() => rx.tryRecv(), ChannelClosed);
  assert.throws(() => tx.clone(), ChannelClosed);
  assert.throws(() => tx.subscribe(), ChannelClosed);
  assert.throws(() => rx.tryRecv(), ChannelClosed);
  rx2.drop();
  assert.throws(() => rx2.clone(), ChannelClosed);
  assert.equal(tx.receiverCount, 1);
});

test("broadcast: length, isEmpty, isClosed and resubscribe follow what each receiver has read", () => {
  const [tx, rx] = broadcast<number>(2);
  assert.ok(rx.isEmpty());
  assert.equal(rx.length, 0);
  tx.send(1);
  tx.send(2);
  tx.send(3);
  assert.equal(rx.length, 3, "more than the capacity: the next receive lags");
  assert.throws(() => rx.tryRecv(), Lagged);
  assert.equal(rx.length, 2);
  const fresh = rx.resubscribe();
  assert.ok(fresh.isEmpty(), "a resubscribed receiver skips the backlog");
  const same = rx.clone();
  assert.equal(same.length, 2, "a clone keeps the position");
  assert.equal(rx.tryRecv(), 2);
  tx.send(4);
  assert.equal(fresh.tryRecv(), 4);
  assert.equal(fresh.tryRecv(), undefined);
  assert.ok(!rx.isClosed());
  tx.drop();
  assert.ok(rx.isClosed() && !rx.isEmpty(), "closed, with messages still to read");
  assert.deepEqual([rx.tryRecv(), rx.tryRecv()], [3, 4]);
  assert.ok(rx.isEmpty());
  assert.throws(() => rx.tryRecv(), ChannelClosed);
  rx.drop();
  assert.throws(() => rx.resubscribe(), ChannelClosed);
});
