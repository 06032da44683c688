import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChannelClosed,
  Done,
  future,
  pollFn,
  Runtime,
  unboundedChannel,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { thrown } from "./support.js";

test("send never waits; the buffer grows; messages arrive in order", () => {
  const [tx, rx] = unboundedChannel<number>();
  for (let i = 0; i < 10_000; i++) tx.send(i);
  assert.equal(rx.length, 10_000);
  for (let i = 0; i < 10_000; i++) assert.equal(rx.tryRecv(), i);
  assert.equal(rx.tryRecv(), undefined);
});

test("send throws ChannelClosed handing the value back after close, drop, or its own drop", () => {
  const [tx, rx] = unboundedChannel<string>();
  const tx2 = tx.clone();
  tx2.drop();
  const own = thrown(() => tx2.send("mine"), ChannelClosed);
  assert.equal(own.value, "mine");
  assert.equal(own.code, "CHANNEL_CLOSED");
  rx.close();
  assert.ok(tx.isClosed());
  assert.equal(thrown(() => tx.send("a"), ChannelClosed).value, "a");
  const [tx3, rx3] = unboundedChannel<string>();
  rx3.drop();
  assert.equal(thrown(() => tx3.send("b"), ChannelClosed).value, "b");
  assert.throws(() => tx2.clone(), ChannelClosed);
});

test("recv waits and is woken by a send; a dropped recv consumed nothing", () => {
  const [tx, rx] = unboundedChannel<number>();
  const t = new MockTask(rx.recv());
  assertPending(t.poll());
  tx.send(1);
  assert.ok(t.isWoken());
  t.drop();
  assert.equal(rx.length, 1);
  const t2 = new MockTask(rx.recv());
  assert.equal(assertReady(t2.poll()), 1);
});

test("the channel ends once every sender is dropped and the buffer is drained", () => {
  const [tx, rx] = unboundedChannel<number>();
  const tx2 = tx.clone();
  tx.send(1);
  tx.drop();
  tx2.send(2);
  const waiting = new MockTask(rx.recvMany(5));
  assert.deepEqual(assertReady(waiting.poll()), [1, 2]);
  const end = new MockTask(rx.recv());
  assertPending(end.poll());
  tx2[Symbol.dispose]();
  assert.ok(end.isWoken());
  thrown(() => end.poll(), ChannelClosed);
  thrown(() => rx.tryRecv(), ChannelClosed);
  assert.equal(assertReady(new MockTask(pollFn((cx) => rx.pollNext(cx))).poll()), Done);
});

test("close keeps the buffered messages receivable; drop discards them", () => {
  const [tx, rx] = unboundedChannel<number>();
  tx.send(1);
  tx.send(2);
  rx.close();
  rx.close(); // idempotent
  assert.deepEqual([rx.tryRecv(), rx.tryRecv()], [1, 2]);
  thrown(() => rx.tryRecv(), ChannelClosed);
  const [tx2, rx2] = unboundedChannel<number>();
  tx2.send(1);
  rx2.drop();
  assert.equal(rx2.length, 0);
  thrown(() => rx2.tryRecv(), ChannelClosed);
});

test("closed() completes when the receiver closes; pending until then", () => {
  const [tx, rx] = unboundedChannel<number>();
  const t = new MockTask(tx.closed());
  assertPending(t.poll());
  rx.drop();
  assert.ok(t.isWoken());
  assertReady(t.poll());
  assert.equal(t.wakerRefCount, 0);
});

test("on a runtime: several producers, one consumer, per-producer order kept", async () => {
  for (const scheduling of ["fifo" as const, { random: 7 }, { random: 99 }]) {
    const rt = new Runtime({ scheduling });
    const [tx, rx] = unboundedChannel<[number, number]>();
    const got: [number, number][] = [];
    await rt.run(
      future(function* () {
        for (let p = 0; p < 4; p++) {
          const mine = tx.clone();
          rt.spawn(
            future(function* () {
              for (let i = 0; i < 25; i++) {
                mine.send([p, i]);
                if (i % 3 === p % 3) yield* yieldNow();
              }
              mine.drop();
            }),
          );
        }
        tx.drop();
        for (;;) {
          const v = yield* rx.recv().catch(() => null);
          if (v === null) break;
          got.push(v);
        }
      }),
    );
    assert.equal(got.length, 100);
    for (let p = 0; p < 4; p++) {
      assert.deepEqual(
        got.filter(([q]) => q === p).map(([, i]) => i),
        Array.from({ length: 25 }, (_, i) => i),
        `producer ${p} in order (${JSON.stringify(scheduling)})`,
      );
    }
  }
});
