import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChannelClosed,
  ChannelReceiverBusy,
  future,
  oneshot,
  Runtime,
  select,
  sleep,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { thrown } from "./support.js";

test("the receiver is the future of the value; it is woken by send", () => {
  const [tx, rx] = oneshot<string>();
  const t = new MockTask(rx);
  assertPending(t.poll());
  assert.equal(t.wakerRefCount, 1);
  tx.send("hi");
  assert.ok(t.isWoken());
  assert.equal(assertReady(t.poll()), "hi");
  assert.equal(t.wakerRefCount, 0);
});

test("a value sent before the first poll is there at once", () => {
  const [tx, rx] = oneshot<number>();
  tx.send(1);
  assert.equal(assertReady(new MockTask(rx).poll()), 1);
});

test("dropping the sender without sending: the receiver throws ChannelClosed (woken)", () => {
  const [tx, rx] = oneshot<number>();
  const t = new MockTask(rx);
  assertPending(t.poll());
  tx[Symbol.dispose]();
  assert.ok(t.isWoken());
  const e = thrown(() => t.poll(), ChannelClosed);
  assert.equal(e.code, "CHANNEL_CLOSED");
  assert.equal(e.value, undefined);
});

test("dropping the sender after sending keeps the value", () => {
  const [tx, rx] = oneshot<number>();
  tx.send(3);
  tx.drop();
  assert.equal(assertReady(new MockTask(rx).poll()), 3);
});

test("a second send throws ChannelClosed handing the value back", () => {
  const [tx, rx] = oneshot<number>();
  tx.send(1);
  const e = thrown(() => tx.send(2), ChannelClosed);
  assert.equal(e.value, 2);
  assert.equal(rx.tryRecv(), 1);
  const [tx2] = oneshot<number>();
  tx2.drop();
  assert.equal(thrown(() => tx2.send(5), ChannelClosed).value, 5);
});

test("send after the receiver closed or dropped hands the value back; isClosed and closed()", () => {
  const [tx, rx] = oneshot<string>();
  const closed = new MockTask(tx.closed());
  assertPending(closed.poll());
  assert.ok(!tx.isClosed());
  rx.close();
  assert.ok(tx.isClosed());
  assert.ok(closed.isWoken());
  assertReady(closed.poll());
  assert.equal(closed.wakerRefCount, 0);
  assert.equal(thrown(() => tx.send("x"), ChannelClosed).value, "x");
  const [tx2, rx2] = oneshot<string>();
  rx2.drop();
  assert.equal(thrown(() => tx2.send("y"), ChannelClosed).value, "y");
  assertReady(new MockTask(tx2.closed()).poll());
});

test("a value sent before close() can still be received", () => {
  const [tx, rx] = oneshot<number>();
  tx.send(9);
  rx.close();
  assert.equal(assertReady(new MockTask(rx).poll()), 9);
});

test("after close() with nothing sent, awaiting the receiver ends at once with ChannelClosed", () => {
  // No value can arrive any more (send fails after close), so waiting would hang until the
  // sender happens to be dropped. tokio's oneshot reports the end at once.
  const [tx, rx] = oneshot<number>();
  rx.close();
  const t = new MockTask(rx);
  const e = thrown(() => t.poll(), ChannelClosed);
  assert.equal(e.value, undefined);
  assert.equal(t.wakerRefCount, 0);
  assert.equal(thrown(() => tx.send(1), ChannelClosed).value, 1, "the sender is refused");
  tx.drop();
});

test("close() after a pending poll: the next poll ends with ChannelClosed", () => {
  const [tx, rx] = oneshot<number>();
  const t = new MockTask(rx);
  assertPending(t.poll());
  rx.close();
  thrown(() => t.poll(), ChannelClosed);
  assert.equal(t.wakerRefCount, 0);
  assert.ok(tx.isClosed());
});

test("tryRecv: undefined before, the value once, then ChannelClosed; ChannelClosed when the sender is gone", () => {
  const [tx, rx] = oneshot<number>();
  assert.equal(rx.tryRecv(), undefined);
  tx.send(4);
  assert.equal(rx.tryRecv(), 4);
  thrown(() => rx.tryRecv(), ChannelClosed); // received: over, not "not yet"
  thrown(() => new MockTask(rx.recv()).poll(), ChannelClosed);
  const [tx2, rx2] = oneshot<number>();
  tx2.drop();
  thrown(() => rx2.tryRecv(), ChannelClosed);
  thrown(() => rx2.tryRecv(), ChannelClosed); // and it stays over
});

test("once the receiver or a recv() has the value, tryRecv and recv() report the channel over", () => {
  const [tx, rx] = oneshot<number>();
  tx.send(1);
  assert.equal(assertReady(new MockTask(rx).poll()), 1);
  thrown(() => rx.tryRecv(), ChannelClosed);
  thrown(() => new MockTask(rx.recv()).poll(), ChannelClosed);
  const [tx2, rx2] = oneshot<number>();
  const wait = new MockTask(rx2.recv());
  assertPending(wait.poll());
  tx2.send(2);
  assert.equal(assertReady(wait.poll()), 2);
  thrown(() => rx2.tryRecv(), ChannelClosed);
  const [tx3, rx3] = oneshot<number>();
  tx3.drop();
  thrown(() => new MockTask(rx3).poll(), ChannelClosed);
  thrown(() => rx3.tryRecv(), ChannelClosed); // a receiver that failed stays failed
});

test("dropping the receiver discards a sent value and releases its waker", () => {
  const [tx, rx] = oneshot<number>();
  const t = new MockTask(rx);
  assertPending(t.poll());
  t.drop();
  assert.equal(t.wakerRefCount, 0);
  assert.ok(tx.isClosed());
  assert.equal(thrown(() => tx.send(1), ChannelClosed).value, 1);
});

test("a dropped closed() releases its waker", () => {
  const [tx] = oneshot<number>();
  const t = new MockTask(tx.closed());
  assertPending(t.poll());
  assert.equal(t.wakerRefCount, 1);
  t.drop();
  assert.equal(t.wakerRefCount, 0);
});

test("on a runtime: request/response between tasks", async () => {
  const rt = new Runtime({ scheduling: { random: 3 } });
  const total = await rt.run(
    future(function* () {
      let sum = 0;
      for (let i = 0; i < 20; i++) {
        const [tx, rx] = oneshot<number>();
        rt.spawn(
          future(function* () {
            yield* yieldNow();
            tx.send(i * 2);
          }),
        );
        sum += yield* rx;
      }
      return sum;
    }),
  );
  assert.equal(total, 380);
});

test("recv() waits without owning the receiver: a dropped wait consumes and closes nothing", () => {
  const [tx, rx] = oneshot<number>();
  const waiting = new MockTask(rx.recv());
  assertPending(waiting.poll());
  assert.equal(waiting.wakerRefCount, 1);
  waiting.drop();
  assert.equal(waiting.wakerRefCount, 0, "the dropped wait released its waker");
  assert.equal(tx.isClosed(), false, "the channel stays open");
  tx.send(7);
  // Woken but dropped before it polled again: the value stays for the next wait.
  const second = new MockTask(rx.recv());
  second.drop();
  assert.equal(assertReady(new MockTask(rx.recv()).poll()), 7);
});

test("recv() completes as the receiver would: the value, or ChannelClosed when the sender goes", () => {
  const [tx, rx] = oneshot<string>();
  const t = new MockTask(rx.recv());
  assertPending(t.poll());
  tx.send("hi");
  assert.ok(t.isWoken());
  assert.equal(assertReady(t.poll()), "hi");
  assert.equal(t.wakerRefCount, 0);
  const [tx2, rx2] = oneshot<string>();
  const u = new MockTask(rx2.recv());
  assertPending(u.poll());
  tx2.drop();
  assert.ok(u.isWoken());
  thrown(() => u.poll(), ChannelClosed);
});

test("recv() from a second task while one waits is ChannelReceiverBusy, not a lost wakeup", () => {
  const [tx, rx] = oneshot<number>();
  const first = new MockTask(rx.recv());
  assertPending(first.poll());
  const second = new MockTask(rx.recv());
  thrown(() => second.poll(), ChannelReceiverBusy);
  thrown(() => new MockTask(rx).poll(), ChannelReceiverBusy);
  tx.send(1);
  assert.ok(first.isWoken(), "the first wait keeps its wakeup");
  assert.equal(assertReady(first.poll()), 1);
});

test("a recv() raced against a timeout loses nothing: the value is received on the next try", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const [tx, rx] = oneshot<string>();
  const got = await rt.run(
    future(function* () {
      const first = yield* select([rx.recv(), sleep(10)]);
      assert.equal(first.index, 1, "the timeout won");
      rt.spawn(
        future(function* () {
          yield* sleep(5);
          tx.send("late");
        }),
      );
      return yield* rx.recv();
    }),
  );
  assert.equal(got, "late");
});
