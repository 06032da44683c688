/**
 * A bounded channel reuses a send or receive future once a `yield*` of it has completed (it is
 * spent), so that a loop of `yield* tx.send(v)` / `yield* rx.recv()` allocates nothing per
 * message. These tests pin down when a future is reused and when it must not be: never while
 * anything may still use it (pending, dropped, failed, or completed by a combinator or a manual
 * poll), never handed out twice, and never keeping a message alive.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import {
  ChannelClosed,
  channel,
  type Future,
  future,
  join,
  Runtime,
  select,
  setDebugMode,
  unboundedChannel,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { assertReady, MockTask } from "../../src/testing/index.js";
import { reuseTestsWithoutDebugMode, runBlock, thrown } from "./support.js";

reuseTestsWithoutDebugMode();
const run = runBlock;

test("a loop of yield* send and yield* recv reuses one future of each kind", async () => {
  const [tx, rx] = channel<number>(4);
  const sends = new Set<object>();
  const recvs = new Set<object>();
  await run(function* () {
    for (let i = 0; i < 20; i++) {
      const send = tx.send(i);
      sends.add(send);
      yield* send;
      const recv = rx.recv();
      recvs.add(recv);
      assert.equal(yield* recv, i);
    }
  });
  assert.equal(sends.size, 1);
  assert.equal(recvs.size, 1);
});

test("futures that waited are reused too: producer and consumer tasks through channel(1)", async () => {
  const rt = new Runtime();
  const [tx, rx] = channel<number>(1);
  const sends = new Set<object>();
  const recvs = new Set<object>();
  const received: number[] = [];
  await rt.run(
    future(function* () {
      const producer = rt.spawn(
        future(function* () {
          for (let i = 0; i < 50; i++) {
            const send = tx.send(i);
            sends.add(send);
            yield* send;
          }
          tx.drop();
        }),
      );
      for (;;) {
        const recv = rx.recv();
        recvs.add(recv);
        try {
          received.push(yield* recv);
        } catch (e) {
          assert.ok(e instanceof ChannelClosed);
          break;
        }
      }
      yield* producer;
    }),
  );
  assert.deepEqual(
    received,
    Array.from({ length: 50 }, (_, i) => i),
  );
  // The receiver waited for most messages (the producer is another task), so these futures went
  // through the waiting path before being spent and reused.
  assert.equal(sends.size, 1);
  // The last receive, which failed at the end of the channel, was the reused one too.
  assert.equal(recvs.size, 1);
});

test("a spent future is handed out once: a second send or recv before it is awaited is a new one", async () => {
  const [tx, rx] = channel<number>(4);
  await run(function* () {
    yield* tx.send(1);
    assert.equal(yield* rx.recv(), 1);
    const a = tx.send(2);
    const b = tx.send(3);
    assert.notEqual(a, b);
    const r1 = rx.recv();
    const r2 = rx.recv();
    assert.notEqual(r1, r2);
    yield* join(a, b);
    assert.deepEqual(yield* join(r1, r2), [2, 3]);
  });
});

test("a future completed by select, join, map or a manual poll is never reused", async () => {
  const [tx, rx] = channel<number>(8);
  await run(function* () {
    const bySelect = rx.recv();
    tx.trySend(1);
    const { value } = yield* select([bySelect, yieldNow()], { biased: true });
    assert.equal(value, 1);
    assert.notEqual(rx.recv(), bySelect);

    const byJoin = tx.send(2);
    yield* join(byJoin, yieldNow());
    assert.notEqual(tx.send(9), byJoin);
    assert.equal(rx.tryRecv(), 2);

    const byMap = rx.recv();
    tx.trySend(3);
    assert.equal(yield* byMap.map((v) => v * 10), 30);
    assert.notEqual(rx.recv(), byMap);
  });
  // A manual poll, outside any runtime.
  const [tx2, rx2] = channel<number>(2);
  tx2.trySend(4);
  const manual = rx2.recv();
  assert.equal(assertReady(new MockTask(manual).poll()), 4);
  assert.notEqual(rx2.recv(), manual);
});

test("a dropped or failed future is never reused", async () => {
  const [tx, rx] = channel<number>(1);
  await run(function* () {
    // A receive that lost a select (dropped while waiting).
    const lost = rx.recv();
    const { index } = yield* select([lost, yieldNow()], { biased: true });
    assert.equal(index, 1);
    assert.notEqual(rx.recv(), lost);

    // A send that failed inside its yield* (the receiver closed).
    rx.close();
    const failed = tx.send(5);
    let error: unknown = null;
    try {
      yield* failed;
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof ChannelClosed);
    assert.equal(error.value, 5);
    assert.notEqual(tx.send(6), failed);
  });
});

test("a reused future starts over: it waits, is woken and completes like a new one", async () => {
  const rt = new Runtime();
  const [tx, rx] = channel<string>(1);
  const log: string[] = [];
  await rt.run(
    future(function* () {
      yield* tx.send("a");
      const first = rx.recv();
      assert.equal(yield* first, "a");
      // The buffer is empty now: the reused receive must wait for the next message.
      const consumer = rt.spawn(
        future(function* () {
          const again = rx.recv();
          log.push(again === first ? "reused" : "new");
          log.push(yield* again);
        }),
      );
      yield* yieldNow();
      log.push("sending");
      yield* tx.send("b");
      yield* consumer;
    }),
  );
  assert.deepEqual(log, ["reused", "sending", "b"]);
});

test("the sender's clones share the spare: a send spent by one is reused by another", async () => {
  const [tx, rx] = channel<number>(4);
  const other = tx.clone();
  await run(function* () {
    const first = tx.send(1);
    yield* first;
    const second = other.send(2);
    assert.equal(second, first);
    yield* second;
  });
  assert.deepEqual([rx.tryRecv(), rx.tryRecv()], [1, 2]);
});

test("an unbounded channel's receive is reused as well", async () => {
  const [tx, rx] = unboundedChannel<number>();
  const recvs = new Set<object>();
  await run(function* () {
    for (let i = 0; i < 10; i++) {
      tx.send(i);
      const recv = rx.recv();
      recvs.add(recv);
      assert.equal(yield* recv, i);
    }
  });
  assert.equal(recvs.size, 1);
});

test("neither a spare future nor the shared yield* result keeps a message alive", async () => {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  const [tx, rx] = channel<object>(2);
  let sent: WeakRef<object> | null = null;
  let received: WeakRef<object> | null = null;
  await run(function* () {
    const message = { payload: "x".repeat(64) };
    sent = new WeakRef(message);
    yield* tx.send(message);
    const got = yield* rx.recv();
    received = new WeakRef(got);
    assert.equal(got, message);
  });
  // Both spares are kept by the channel, which is alive here. WeakRef targets are kept until the
  // current job ends: let it end (a turn of the event loop, not a timer) before collecting.
  await new Promise<void>((resolve) => setImmediate(resolve));
  gc();
  assert.equal((sent as WeakRef<object> | null)?.deref(), undefined);
  assert.equal((received as WeakRef<object> | null)?.deref(), undefined);
  // The channel, and so its spares, lived through the collection.
  assert.equal(rx.isEmpty(), true);
  tx.drop();
});

test("in debug mode nothing is reused, and dropping a spent future throws WakerContractError", async () => {
  setDebugMode(true);
  try {
    const [tx, rx] = channel<number>(4);
    let spentSend: Future<void> | null = null;
    let spentRecv: Future<number> | null = null;
    await run(function* () {
      const send = tx.send(1);
      yield* send;
      spentSend = send;
      assert.notEqual(tx.send(2), send);
      const recv = rx.recv();
      assert.equal(yield* recv, 1);
      spentRecv = recv;
      assert.notEqual(rx.recv(), recv);
    });
    const sendDrop = thrown(() => (spentSend as Future<void> | null)?.drop(), WakerContractError);
    assert.match(
      sendDrop.message,
      /Sender\.send dropped after the yield\* that awaited it completed/,
    );
    const recvDrop = thrown(() => (spentRecv as Future<number> | null)?.drop(), WakerContractError);
    assert.match(recvDrop.message, /Receiver\.recv dropped after/);
    // A future that completed any other way, or was dropped before, may be dropped again.
    const [tx2, rx2] = channel<number>(1);
    tx2.trySend(3);
    const manual = rx2.recv();
    assert.equal(assertReady(new MockTask(manual).poll()), 3);
    manual.drop();
    const unpolled = tx2.send(4);
    unpolled.drop();
    unpolled.drop();
  } finally {
    setDebugMode(false);
  }
});
