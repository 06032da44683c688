import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  ChannelClosed,
  ChannelFull,
  ChannelReceiverBusy,
  channel,
  Done,
  future,
  OutOfRangeError,
  Pending,
  type Permit,
  pollFn,
  type Receiver,
  Runtime,
  TASK_BUDGET,
  unboundedChannel,
  yieldNow,
} from "../../src/index.js";
import type { Chan } from "../../src/sync/channel.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";
import { thrown } from "./support.js";

/** Every message buffered now, taken with tryRecv, joined with commas. */
function tryRecvAll(rx: Receiver<number>): string {
  const out: number[] = [];
  while (!rx.isEmpty()) out.push(rx.tryRecv() as number);
  return out.join(",");
}

/** The shared state behind a receiver (white-box checks of reserved slots). */
function chanOf<T>(rx: { length: number }): Chan<T> {
  return (rx as unknown as { chan: Chan<T> }).chan;
}

describe("channel(capacity)", () => {
  test("bad capacities are an OutOfRangeError naming the value", () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "3", undefined, null]) {
      const e = thrown(() => channel(bad as number), OutOfRangeError);
      assert.equal(e.code, "OUT_OF_RANGE");
      assert.ok(e instanceof RangeError);
      assert.match(e.message, /channel: capacity must be an integer >= 1/);
      assert.match(e.message, new RegExp(String(bad).replace(/[.]/g, "\\.")));
    }
    assert.match(thrown(() => channel("3" as never), OutOfRangeError).message, /string 3/);
    const [tx] = channel(1);
    assert.ok(tx);
  });

  test("returns [Sender, Receiver]; messages arrive in order", () => {
    const [tx, rx] = channel<number>(3);
    tx.trySend(1);
    tx.trySend(2);
    tx.trySend(3);
    assert.equal(rx.length, 3);
    assert.deepEqual(
      [rx.tryRecv(), rx.tryRecv(), rx.tryRecv(), rx.tryRecv()],
      [1, 2, 3, undefined],
    );
  });
});

describe("Sender.trySend", () => {
  test("fills up to capacity, then throws ChannelFull handing the value back", () => {
    const [tx, rx] = channel<string>(2);
    tx.trySend("a");
    tx.trySend("b");
    const e = thrown(() => tx.trySend("c"), ChannelFull);
    assert.equal(e.value, "c");
    assert.equal(e.code, "CHANNEL_FULL");
    assert.equal(e.name, "ChannelFull");
    assert.ok(e instanceof Error);
    assert.match(e.message, /full \(2\)/);
    assert.equal(rx.length, 2);
    assert.equal(rx.tryRecv(), "a");
    tx.trySend("c");
    assert.equal(rx.length, 2);
  });

  test("throws ChannelClosed handing the value back once the receiver closed or dropped", () => {
    const [tx, rx] = channel<string>(2);
    rx.close();
    const e = thrown(() => tx.trySend("x"), ChannelClosed);
    assert.equal(e.value, "x");
    assert.equal(e.code, "CHANNEL_CLOSED");
    assert.equal(e.name, "ChannelClosed");
    const [tx2, rx2] = channel<string>(2);
    rx2.drop();
    assert.equal(thrown(() => tx2.trySend("y"), ChannelClosed).value, "y");
  });

  test("a closed channel reports ChannelClosed even when it is also full", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(1);
    rx.close();
    assert.equal(thrown(() => tx.trySend(2), ChannelClosed).value, 2);
  });

  test("cannot take a slot that was freed for a sender waiting in line", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(1);
    const waiting = new MockTask(tx.send(2));
    assertPending(waiting.poll());
    assert.equal(rx.tryRecv(), 1); // the freed slot goes to the waiting send
    assert.ok(waiting.isWoken());
    assert.equal(thrown(() => tx.trySend(3), ChannelFull).value, 3);
    assertReady(waiting.poll());
    assert.equal(rx.tryRecv(), 2);
  });
});

describe("Sender.send", () => {
  test("is lazy: nothing is sent until it is polled", () => {
    const [tx, rx] = channel<number>(1);
    const send = tx.send(1);
    assert.equal(rx.length, 0);
    assert.equal(assertReady(new MockTask(send).poll()), undefined);
    assert.equal(rx.length, 1);
  });

  test("waits while the buffer is full and completes once a slot frees (woken)", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(1);
    const task = new MockTask(tx.send(2));
    assertPending(task.poll());
    assertPending(task.poll()); // a spurious poll changes nothing
    assert.ok(!task.isWoken());
    assert.equal(task.wakerRefCount, 1);
    assert.equal(rx.tryRecv(), 1);
    assert.ok(task.isWoken());
    assertReady(task.poll());
    assert.equal(task.wakerRefCount, 0);
    assert.equal(rx.tryRecv(), 2);
  });

  test("waiting senders are served in FIFO order", () => {
    const [tx, rx] = channel<string>(1);
    const tx2 = tx.clone();
    tx.trySend("first");
    const tasks = ["a", "b", "c"].map((v, i) => new MockTask((i === 1 ? tx2 : tx).send(v)));
    for (const t of tasks) assertPending(t.poll());
    const got: string[] = [];
    for (let i = 0; i < 4; i++) {
      got.push(rx.tryRecv()!);
      // Exactly the oldest waiting send was woken.
      const woken = tasks.filter((t) => t.isWoken());
      assert.ok(woken.length <= 1);
      for (const t of woken) assertReady(t.poll());
    }
    assert.deepEqual(got, ["first", "a", "b", "c"]);
  });

  test("cancel safety: a dropped pending send sent nothing and the others keep their order", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("first");
    const a = new MockTask(tx.send("a"));
    const b = new MockTask(tx.send("b"));
    const c = new MockTask(tx.send("c"));
    for (const t of [a, b, c]) assertPending(t.poll());
    b.drop();
    assert.equal(b.wakerRefCount, 0, "a dropped send releases its waker");
    assert.equal(rx.tryRecv(), "first");
    assertReady(a.poll());
    assert.equal(rx.tryRecv(), "a");
    assert.ok(c.isWoken());
    assertReady(c.poll());
    assert.equal(rx.tryRecv(), "c");
    assert.equal(rx.tryRecv(), undefined, "b was never sent");
  });

  test("cancel safety: a send dropped after it was granted a slot passes the slot on", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("first");
    const a = new MockTask(tx.send("a"));
    const b = new MockTask(tx.send("b"));
    assertPending(a.poll());
    assertPending(b.poll());
    assert.equal(rx.tryRecv(), "first"); // the slot is granted to a
    assert.ok(a.isWoken());
    assert.ok(!b.isWoken());
    a.drop(); // a never used it: b gets it
    assert.ok(b.isWoken());
    assertReady(b.poll());
    assert.deepEqual([rx.tryRecv(), rx.tryRecv()], ["b", undefined]);
    assert.equal(chanOf(rx).reserved, 0);
  });

  test("closing wakes every waiting send; each fails handing its own value back", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("kept");
    const tasks = ["a", "b", "c"].map((v) => new MockTask(tx.send(v)));
    for (const t of tasks) assertPending(t.poll());
    rx.close();
    for (const [i, t] of tasks.entries()) {
      assert.ok(t.isWoken(), `send ${i} woken by close`);
      const e = thrown(() => t.poll(), ChannelClosed);
      assert.equal(e.value, ["a", "b", "c"][i]);
      assert.equal(t.wakerRefCount, 0);
    }
    assert.equal(rx.tryRecv(), "kept", "buffered messages can still be received after close");
    assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
  });

  test("fails at once, handing the value back, when the receiver is already gone", () => {
    const [tx, rx] = channel<number>(4);
    rx.drop();
    const e = thrown(() => new MockTask(tx.send(7)).poll(), ChannelClosed);
    assert.equal(e.value, 7);
    assert.ok(tx.isClosed());
  });

  test("a send granted a slot, then the receiver dropped: the value is handed back, not lost", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("first");
    const task = new MockTask(tx.send("late"));
    assertPending(task.poll());
    assert.equal(rx.tryRecv(), "first"); // grants the slot to the waiting send
    rx.drop();
    // Reporting success here would lose "late": nobody can ever receive it.
    const e = thrown(() => task.poll(), ChannelClosed);
    assert.equal(e.value, "late");
    assert.equal(task.wakerRefCount, 0);
    assert.equal(rx.length, 0, "nothing may be left in the buffer of a dropped receiver");
    assert.equal(chanOf(rx).reserved, 0, "the granted slot is released");
  });

  test("a send granted a slot, then rx.close(): the value is still delivered (as in tokio)", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("first");
    const task = new MockTask(tx.send("late"));
    assertPending(task.poll());
    assert.equal(rx.tryRecv(), "first"); // grants the slot to the waiting send
    rx.close();
    assert.equal(rx.tryRecv(), undefined, "the slot is reserved for 'late': not the end yet");
    assert.equal(assertReady(task.poll()), undefined);
    assert.equal(task.wakerRefCount, 0);
    assert.equal(rx.tryRecv(), "late");
    assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
    assert.equal(chanOf(rx).reserved, 0);
  });

  test("the end of the channel is not reported while a granted send is outstanding", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("first");
    const task = new MockTask(tx.send("late"));
    assertPending(task.poll());
    assert.equal(rx.tryRecv(), "first"); // the slot is now reserved for "late"
    rx.close();
    const recv = new MockTask(rx.recv());
    assertPending(recv.poll());
    assertReady(task.poll()); // "late" is delivered into its slot
    assert.ok(recv.isWoken(), "the delivery wakes the receiver");
    assert.equal(assertReady(recv.poll()), "late");
    assert.equal(assertReady(new MockTask(pollFn((cx) => rx.pollNext(cx))).poll()), Done);
    thrown(() => new MockTask(rx.recv()).poll(), ChannelClosed);
  });

  test("a granted send dropped after rx.close() releases its slot and wakes the receiver", () => {
    const [tx, rx] = channel<string>(1);
    tx.trySend("first");
    const task = new MockTask(tx.send("late"));
    assertPending(task.poll());
    assert.equal(rx.tryRecv(), "first");
    rx.close();
    const recv = new MockTask(rx.recv());
    assertPending(recv.poll());
    task.drop(); // "late" stays with the caller; the reserved slot is given back
    assert.equal(chanOf(rx).reserved, 0);
    assert.ok(recv.isWoken(), "the receiver waits on the reserved slot: it must be woken");
    assert.equal(thrown(() => recv.poll(), ChannelClosed).value, undefined);
    assert.equal(recv.wakerRefCount, 0);
  });

  test("using a dropped sender throws ChannelClosed handing the value back", () => {
    const [tx] = channel<number>(1);
    tx.drop();
    assert.equal(thrown(() => tx.trySend(1), ChannelClosed).value, 1);
    assert.equal(thrown(() => tx.send(2), ChannelClosed).value, 2);
    assert.throws(() => tx.reserve(), ChannelClosed);
    assert.throws(() => tx.clone(), ChannelClosed);
  });
});

describe("Sender.reserve and Permit", () => {
  test("a permit holds a slot; permit.send fills it without waiting", () => {
    const [tx, rx] = channel<number>(1);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    assert.equal(thrown(() => tx.trySend(1), ChannelFull).value, 1, "the slot is held");
    permit.send(2);
    assert.equal(rx.tryRecv(), 2);
  });

  test("reserve waits for a slot, in line with the sends", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(1);
    const send = new MockTask(tx.send(2));
    const reserve = new MockTask(tx.reserve());
    assertPending(send.poll());
    assertPending(reserve.poll());
    assert.equal(rx.tryRecv(), 1);
    assert.ok(send.isWoken());
    assert.ok(!reserve.isWoken());
    assertReady(send.poll());
    assert.equal(rx.tryRecv(), 2);
    assert.ok(reserve.isWoken());
    assertReady(reserve.poll()).send(3);
    assert.equal(rx.tryRecv(), 3);
  });

  test("release (and dispose) gives the slot back to the next sender in line; idempotent", () => {
    const [tx, rx] = channel<number>(1);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    const waiting = new MockTask(tx.send(1));
    assertPending(waiting.poll());
    permit.release();
    permit.release();
    // A released permit cannot fill the slot it gave back: the value is handed back.
    assert.equal(thrown(() => permit.send(99), ChannelClosed).value, 99);
    assert.ok(waiting.isWoken());
    assertReady(waiting.poll());
    assert.deepEqual([rx.tryRecv(), rx.tryRecv()], [1, undefined]);
    const p2 = assertReady(new MockTask(tx.reserve()).poll());
    p2[Symbol.dispose]();
    assert.equal(chanOf(rx).reserved, 0);
    tx.trySend(5);
  });

  test("a permit used twice throws ChannelClosed handing the second value back", () => {
    const [tx, rx] = channel<number>(2);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    permit.send(1);
    assert.equal(thrown(() => permit.send(2), ChannelClosed).value, 2);
    assert.deepEqual([rx.tryRecv(), rx.tryRecv()], [1, undefined]);
  });

  test("cancel safety: a dropped pending reserve holds no slot and keeps the order", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(0);
    const r = new MockTask(tx.reserve());
    const s = new MockTask(tx.send(1));
    assertPending(r.poll());
    assertPending(s.poll());
    r.drop();
    assert.equal(rx.tryRecv(), 0);
    assert.ok(s.isWoken());
    assertReady(s.poll());
    assert.equal(rx.tryRecv(), 1);
    assert.equal(chanOf(rx).reserved, 0);
  });

  test("a permit obtained before rx.close() still delivers; the end comes after it", () => {
    const [tx, rx] = channel<number>(2);
    tx.trySend(1);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    rx.close();
    assert.equal(thrown(() => tx.trySend(9), ChannelClosed).value, 9, "new sends fail");
    thrown(() => new MockTask(tx.reserve()).poll(), ChannelClosed);
    assert.equal(rx.tryRecv(), 1);
    assert.equal(rx.tryRecv(), undefined, "a slot is reserved: not the end yet");
    const recv = new MockTask(rx.recv());
    assertPending(recv.poll());
    permit.send(2);
    assert.ok(recv.isWoken());
    assert.equal(assertReady(recv.poll()), 2);
    assert.equal(chanOf(rx).reserved, 0);
    thrown(() => new MockTask(rx.recv()).poll(), ChannelClosed);
    thrown(() => rx.tryRecv(), ChannelClosed);
  });

  test("after rx.close(), releasing an outstanding permit unused wakes the receiver to the end", () => {
    const [tx, rx] = channel<number>(1);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    rx.close();
    assert.equal(rx.tryRecv(), undefined, "a slot is reserved: not the end yet");
    const next = new MockTask(pollFn((cx) => rx.pollNext(cx)));
    assertPending(next.poll());
    permit.release();
    assert.ok(next.isWoken(), "the released slot was what the receiver waited on");
    assert.equal(assertReady(next.poll()), Done);
    thrown(() => new MockTask(rx.recv()).poll(), ChannelClosed);
    thrown(() => rx.tryRecv(), ChannelClosed);
  });

  test("a reserve granted before rx.close() completes with a Permit that delivers", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(0);
    const r = new MockTask(tx.reserve());
    assertPending(r.poll());
    assert.equal(rx.tryRecv(), 0); // the slot is granted to the reserve
    rx.close();
    const permit = assertReady(r.poll());
    assert.equal(r.wakerRefCount, 0);
    permit.send(1);
    assert.equal(rx.tryRecv(), 1);
    thrown(() => rx.tryRecv(), ChannelClosed);
  });

  test("reserve fails with ChannelClosed once the receiver is gone (pending ones are woken)", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(0);
    const r = new MockTask(tx.reserve());
    assertPending(r.poll());
    rx.close();
    assert.ok(r.isWoken());
    thrown(() => r.poll(), ChannelClosed);
    thrown(() => new MockTask(tx.reserve()).poll(), ChannelClosed);
  });

  test("permit.send after the receiver dropped throws ChannelClosed handing the value back", () => {
    const [tx, rx] = channel<number>(1);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    rx.drop();
    const e = thrown(() => permit.send(1), ChannelClosed);
    assert.equal(e.value, 1);
    assert.equal(e.code, "CHANNEL_CLOSED");
    assert.equal(rx.length, 0, "nothing is pushed into the buffer of a dropped receiver");
    assert.equal(chanOf(rx).reserved, 0, "the slot is released");
    permit.release(); // already used: a no-op
    assert.equal(chanOf(rx).reserved, 0);
  });

  test("a reserve granted, then the receiver dropped: the Permit's send hands the value back", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(0);
    const r = new MockTask(tx.reserve());
    assertPending(r.poll());
    assert.equal(rx.tryRecv(), 0); // the slot is granted to the reserve
    rx.drop();
    const permit = assertReady(r.poll());
    assert.equal(thrown(() => permit.send(5), ChannelClosed).value, 5);
    assert.equal(rx.length, 0);
    assert.equal(chanOf(rx).reserved, 0);
  });

  test("the end of the channel is not reported while a permit is outstanding", () => {
    // The permit was reserved through a sender: like tokio's Permit, it can still send after the
    // last sender is dropped, so the receiver must wait for it (or the value is lost).
    const [tx, rx] = channel<number>(1);
    const permit: Permit<number> = assertReady(new MockTask(tx.reserve()).poll());
    tx.drop();
    assert.equal(rx.tryRecv(), undefined, "not the end while a permit is outstanding");
    const recv = new MockTask(rx.recv());
    assertPending(recv.poll());
    permit.send(42);
    assert.ok(recv.isWoken());
    assert.equal(assertReady(recv.poll()), 42);
    thrown(() => rx.tryRecv(), ChannelClosed);
  });

  test("after the last sender is dropped, releasing an outstanding permit ends the channel", () => {
    const [tx, rx] = channel<number>(1);
    const permit = assertReady(new MockTask(tx.reserve()).poll());
    tx.drop();
    const recv = new MockTask(rx.recv());
    assertPending(recv.poll());
    permit[Symbol.dispose]();
    assert.ok(recv.isWoken());
    thrown(() => recv.poll(), ChannelClosed);
  });
});

describe("Receiver", () => {
  test("recv is lazy, waits, and is woken by a send", () => {
    const [tx, rx] = channel<number>(1);
    const task = new MockTask(rx.recv());
    assertPending(task.poll());
    assert.equal(task.wakerRefCount, 1);
    tx.trySend(5);
    assert.ok(task.isWoken());
    assert.equal(assertReady(task.poll()), 5);
  });

  test("cancel safety: a dropped recv consumed nothing", () => {
    const [tx, rx] = channel<number>(2);
    const task = new MockTask(rx.recv());
    assertPending(task.poll());
    tx.trySend(1);
    task.drop(); // woken, never polled again
    assert.equal(rx.length, 1);
    assert.equal(rx.tryRecv(), 1);
  });

  test("a dropped pending recv releases the waker it registered", () => {
    const [, rx] = channel<number>(1);
    const task = new MockTask(rx.recv());
    assertPending(task.poll());
    assert.equal(task.wakerRefCount, 1);
    task.drop();
    assert.equal(task.wakerRefCount, 0, "Recv.drop() must deregister its waker");
    const many = new MockTask(rx.recvMany(2));
    assertPending(many.poll());
    assert.equal(many.wakerRefCount, 1);
    many.drop();
    assert.equal(many.wakerRefCount, 0, "a dropped recvMany deregisters its waker too");
  });

  for (const dropped of ["first", "second"] as const) {
    test(`two receives of one task wait together: dropping the ${dropped} keeps the other's wakeup`, () => {
      const [tx, rx] = channel<number>(1);
      const first = rx.recv();
      const second = rx.recv();
      const kept = dropped === "first" ? second : first;
      let polls = 0;
      const task = new MockTask(
        pollFn((cx) => {
          if (polls++ > 0) return kept.poll(cx);
          assertPending(first.poll(cx));
          assertPending(second.poll(cx));
          (dropped === "first" ? first : second).drop(); // the task's waker is still needed
          return Pending;
        }),
      );
      assertPending(task.poll());
      assert.equal(task.wakerRefCount, 1);
      tx.trySend(7);
      assert.ok(task.isWoken(), "the receive still waiting must be woken by the send");
      assert.equal(assertReady(task.poll()), 7);
      assert.equal(task.wakerRefCount, 0);
      // Both dropped while waiting: the last one gives the waker back.
      const third = rx.recv();
      const fourth = rx.recv();
      const again = new MockTask(
        pollFn((cx) => {
          assertPending(third.poll(cx));
          assertPending(fourth.poll(cx));
          return Pending;
        }),
      );
      assertPending(again.poll());
      assert.equal(again.wakerRefCount, 1);
      third.drop();
      assert.equal(again.wakerRefCount, 1, "one receive still waits");
      fourth.drop();
      assert.equal(again.wakerRefCount, 0, "the last receive dropped releases the waker");
    });
  }

  test("a receive from a second task while one waits throws ChannelReceiverBusy, never parks", () => {
    const [tx, rx] = channel<number>(1);
    const a = new MockTask(rx.recv());
    assertPending(a.poll());
    const b = new MockTask(rx.recv());
    const error = thrown(() => b.poll(), ChannelReceiverBusy);
    assert.equal(error.code, "CHANNEL_RECEIVER_BUSY");
    assert.equal(b.wakerRefCount, 0, "the failed receive kept no waker");
    tx.trySend(1);
    assert.ok(a.isWoken(), "the first receive keeps its place");
    assert.equal(assertReady(a.poll()), 1);
    // Once nobody waits, another task may receive; recvMany follows the same rule.
    const c = new MockTask(rx.recvMany(4));
    assertPending(c.poll());
    thrown(() => new MockTask(rx.recv()).poll(), ChannelReceiverBusy);
    tx.trySend(2);
    assert.deepEqual(assertReady(c.poll()), [2]);
    const d = new MockTask(rx.recv());
    assertPending(d.poll());
    tx.drop();
    assert.ok(d.isWoken(), "the end of the channel wakes the waiting receive");
    thrown(() => d.poll(), ChannelClosed);
  });

  test("another task's receive or stream takes the place of a stream's wait, waking it", () => {
    const [tx, rx] = channel<number>(2);
    const stream = () => new MockTask(pollFn<number | typeof Done>((cx) => rx.pollNext(cx)));
    const first = stream();
    assertPending(first.poll());
    // The first stream may have stopped polling (a stream has no drop): a second one takes its
    // place and wakes it, rather than fail or leave it parked.
    const second = stream();
    assertPending(second.poll());
    assert.ok(first.isWoken(), "the displaced stream is woken, not left parked");
    assert.equal(first.wakerRefCount, 0);
    // Until the next wake, the displaced one may not take the place back (no endless turns).
    const busy = thrown(() => first.poll(), ChannelReceiverBusy);
    assert.equal(busy.code, "CHANNEL_RECEIVER_BUSY");
    tx.trySend(1);
    assert.ok(second.isWoken());
    assert.equal(assertReady(second.poll()), 1);
    assertPending(first.poll(), "after a wake, the first stream may wait again");
    // A receive of another task takes a stream's place too; the stream then finds the receive.
    const receiving = new MockTask(rx.recv());
    assertPending(receiving.poll());
    assert.ok(first.isWoken());
    thrown(() => first.poll(), ChannelReceiverBusy);
    // A receive waiting: a stream of another task may not take its place.
    thrown(() => stream().poll(), ChannelReceiverBusy);
    tx.drop();
    assert.ok(receiving.isWoken());
    thrown(() => receiving.poll(), ChannelClosed);
  });

  test("a waiting receive polled from another task (moved) waits on the new task's waker", () => {
    const [tx, rx] = channel<number>(1);
    const recv = rx.recv();
    const first = new MockTask(pollFn<number>((cx) => recv.poll(cx)));
    assertPending(first.poll());
    const second = new MockTask(pollFn<number>((cx) => recv.poll(cx)));
    assertPending(second.poll());
    assert.equal(first.wakerRefCount, 0, "the old task's waker is given back");
    tx.trySend(4);
    assert.ok(second.isWoken(), "the new task is woken");
    assert.equal(assertReady(second.poll()), 4);
    assert.equal(second.wakerRefCount, 0);
  });

  test("a receive dropped while its task's stream waits leaves the stream its waker", () => {
    const [tx, rx] = channel<number>(2);
    const recv = rx.recv();
    const task = new MockTask(
      pollFn<number | typeof Done>((cx) => {
        assertPending(recv.poll(cx));
        return rx.pollNext(cx);
      }),
    );
    assertPending(task.poll());
    recv.drop();
    assert.equal(task.wakerRefCount, 1, "the stream still waits on the task's waker");
    tx.trySend(5);
    assert.ok(task.isWoken(), "no lost wakeup for the stream");
    assert.equal(rx.tryRecv(), 5);
    assert.equal(task.wakerRefCount, 0);
  });

  test("recv throws ChannelClosed (no value) once closed and drained", () => {
    const [tx, rx] = channel<number>(2);
    tx.trySend(1);
    rx.close();
    const t1 = new MockTask(rx.recv());
    assert.equal(assertReady(t1.poll()), 1);
    const e = thrown(() => new MockTask(rx.recv()).poll(), ChannelClosed);
    assert.equal(e.value, undefined);
    assert.equal(e.code, "CHANNEL_CLOSED");
  });

  test("the channel ends for the receiver when the last sender is dropped (woken)", () => {
    const [tx, rx] = channel<number>(2);
    const tx2 = tx.clone();
    tx.trySend(1);
    const task = new MockTask(rx.recv());
    assert.equal(assertReady(task.poll()), 1);
    const waiting = new MockTask(rx.recv());
    assertPending(waiting.poll());
    tx.drop();
    tx.drop(); // idempotent
    assert.ok(!waiting.isWoken(), "one sender is left");
    tx2[Symbol.dispose]();
    assert.ok(waiting.isWoken());
    thrown(() => waiting.poll(), ChannelClosed);
    thrown(() => rx.tryRecv(), ChannelClosed);
    assert.ok(!tx2.isClosed(), "dropping senders does not close the receiver side");
  });

  test("recvMany takes up to `limit` messages in order, at least one", () => {
    const [tx, rx] = channel<number>(4);
    for (let i = 1; i <= 4; i++) tx.trySend(i);
    assert.deepEqual(assertReady(new MockTask(rx.recvMany(3)).poll()), [1, 2, 3]);
    assert.deepEqual(assertReady(new MockTask(rx.recvMany(3)).poll()), [4]);
    const waiting = new MockTask(rx.recvMany(2));
    assertPending(waiting.poll());
    tx.trySend(5);
    assert.ok(waiting.isWoken());
    assert.deepEqual(assertReady(waiting.poll()), [5]);
    rx.close();
    thrown(() => new MockTask(rx.recvMany(2)).poll(), ChannelClosed);
  });

  test("recvMany(1) completes with an array like any other limit", () => {
    const [tx, rx] = channel<number>(2);
    tx.trySend(1);
    const out: unknown = assertReady(new MockTask(rx.recvMany(1)).poll());
    assert.deepEqual(out, [1], "recvMany(1) must complete with [1], not the bare value");
    tx.trySend(2);
    tx.trySend(3);
    assert.deepEqual(assertReady(new MockTask(rx.recvMany(1)).poll()), [2]);
    const waiting = new MockTask(rx.recvMany(1));
    assert.deepEqual(assertReady(waiting.poll()), [3]);
    const later = new MockTask(rx.recvMany(1));
    assertPending(later.poll());
    tx.trySend(4);
    assert.ok(later.isWoken());
    assert.deepEqual(assertReady(later.poll()), [4]);
  });

  test("recvMany: a limit that is not a positive integer is an OutOfRangeError at the call", () => {
    const [, rx] = channel<number>(2);
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.match(thrown(() => rx.recvMany(bad), OutOfRangeError).message, /recvMany: limit/);
    }
  });

  test("tryRecv: a value, undefined when empty, ChannelClosed at the end", () => {
    const [tx, rx] = channel<number>(1);
    assert.equal(rx.tryRecv(), undefined);
    tx.trySend(1);
    assert.equal(rx.tryRecv(), 1);
    tx.drop();
    thrown(() => rx.tryRecv(), ChannelClosed);
  });

  test("pollNext streams the messages, then Done", () => {
    const [tx, rx] = channel<number>(2);
    const next = () => new MockTask(pollFn((cx) => rx.pollNext(cx)));
    const waiting = next();
    assertPending(waiting.poll());
    tx.trySend(1);
    assert.ok(waiting.isWoken());
    assert.equal(assertReady(waiting.poll()), 1);
    tx.trySend(2);
    tx.drop();
    assert.equal(assertReady(next().poll()), 2);
    assert.equal(assertReady(next().poll()), Done);
  });

  test("drop discards buffered messages, closes, and fails waiting senders", () => {
    const [tx, rx] = channel<number>(1);
    tx.trySend(1);
    const waiting = new MockTask(tx.send(2));
    assertPending(waiting.poll());
    rx[Symbol.dispose]();
    assert.equal(rx.length, 0);
    assert.ok(tx.isClosed());
    assert.ok(waiting.isWoken());
    assert.equal(thrown(() => waiting.poll(), ChannelClosed).value, 2);
  });
});

describe("Sender.tryReserve, capacity and the state queries", () => {
  test("tryReserve holds a slot without waiting, or throws ChannelFull / ChannelClosed", () => {
    const [tx, rx] = channel<number>(2);
    assert.equal(tx.maxCapacity, 2);
    assert.equal(tx.capacity, 2);
    const permit = tx.tryReserve();
    assert.equal(tx.capacity, 1, "the permit holds a slot");
    tx.trySend(1);
    assert.equal(tx.capacity, 0);
    const full = thrown(() => tx.tryReserve(), ChannelFull);
    assert.equal(full.code, "CHANNEL_FULL");
    assert.equal(full.value, undefined);
    assert.equal(tryRecvAll(rx), "1");
    assert.equal(tx.capacity, 1, "a receive gives its slot back");
    permit.send(2);
    assert.equal(tryRecvAll(rx), "2");
    // A queued sender is first in line: tryReserve does not overtake it.
    const a = tx.tryReserve();
    const b = tx.tryReserve();
    const waiting = new MockTask(tx.send(3));
    assertPending(waiting.poll());
    b.release();
    assert.ok(waiting.isWoken(), "the released slot went to the waiting send");
    thrown(() => tx.tryReserve(), ChannelFull);
    assertReady(waiting.poll());
    a.release();
    assert.equal(tx.capacity, 1);
    rx.close();
    thrown(() => tx.tryReserve(), ChannelClosed);
    assert.equal(tryRecvAll(rx), "3");
  });

  test("a dropped sender cannot reserve", () => {
    const [tx] = channel<number>(1);
    const other = tx.clone();
    tx.drop();
    thrown(() => tx.tryReserve(), ChannelClosed);
    assert.equal(other.tryReserve().send(1), undefined);
  });

  test("sameChannel, isClosed and isEmpty", () => {
    const [tx, rx] = channel<number>(1);
    const [otherTx] = channel<number>(1);
    const clone = tx.clone();
    assert.ok(tx.sameChannel(clone));
    assert.ok(!tx.sameChannel(otherTx));
    const [utx] = unboundedChannel<number>();
    assert.ok(utx.sameChannel(utx.clone()));
    assert.ok(!utx.sameChannel(unboundedChannel<number>()[0]));
    assert.ok(rx.isEmpty() && !rx.isClosed());
    tx.trySend(1);
    assert.ok(!rx.isEmpty());
    tx.drop();
    assert.ok(!rx.isClosed(), "a clone still sends");
    clone.drop();
    otherTx.drop();
    assert.ok(rx.isClosed(), "every sender dropped: closed, with a message still to receive");
    assert.equal(rx.tryRecv(), 1);
    assert.ok(rx.isEmpty());
    const [, rx2] = channel<number>(1);
    rx2.close();
    assert.ok(rx2.isClosed());
  });
});

describe("Sender.closed", () => {
  test("completes when the receiver closes (every waiter woken) or drops", () => {
    const [tx, rx] = channel<number>(1);
    const tx2 = tx.clone();
    const a = new MockTask(tx.closed());
    const b = new MockTask(tx2.closed());
    assertPending(a.poll());
    assertPending(b.poll());
    assert.ok(!tx.isClosed());
    rx.close();
    assert.ok(a.isWoken() && b.isWoken());
    assertReady(a.poll());
    assertReady(b.poll());
    assert.equal(a.wakerRefCount + b.wakerRefCount, 0);
    assertReady(new MockTask(tx.closed()).poll());
    const [tx3, rx3] = channel<number>(1);
    const c = new MockTask(tx3.closed());
    assertPending(c.poll());
    rx3.drop();
    assert.ok(c.isWoken());
    assertReady(c.poll());
  });

  test("a dropped closed() releases its waker and does not disturb the others", () => {
    const [tx, rx] = channel<number>(1);
    const a = new MockTask(tx.closed());
    const b = new MockTask(tx.closed());
    assertPending(a.poll());
    assertPending(b.poll());
    a.drop();
    assert.equal(a.wakerRefCount, 0);
    rx.close();
    assert.ok(b.isWoken());
    assertReady(b.poll());
  });
});

describe("on a runtime", () => {
  test("backpressure: a producer never runs more than `capacity` ahead", async () => {
    const rt = new Runtime();
    const [tx, rx] = channel<number>(3);
    let maxAhead = 0;
    let sent = 0;
    let received = 0;
    await rt.run(
      future(function* () {
        const producer = rt.spawn(
          future(function* () {
            for (let i = 0; i < 50; i++) {
              yield* tx.send(i);
              sent++;
              maxAhead = Math.max(maxAhead, sent - received);
            }
            tx.drop();
          }),
        );
        for (;;) {
          const v = yield* rx.recv().catch(() => null);
          if (v === null) break;
          assert.equal(v, received);
          received++;
          if (v % 7 === 0) yield* yieldNow();
        }
        yield* producer;
      }),
    );
    assert.equal(received, 50);
    assert.ok(maxAhead <= 3, `the producer ran ${maxAhead} ahead`);
  });

  test("recv spends the task's cooperative budget: a full buffer does not starve others", async () => {
    const rt = new Runtime();
    const [tx, rx] = channel<number>(1000);
    for (let i = 0; i < 1000; i++) tx.trySend(i);
    tx.drop();
    let receivedWhenOtherRan = -1;
    let received = 0;
    await rt.run(
      future(function* () {
        const other = rt.spawn(
          future(function* () {
            receivedWhenOtherRan = received;
          }),
        );
        for (;;) {
          const v = yield* rx.recv().catch(() => null);
          if (v === null) break;
          received++;
        }
        yield* other;
      }),
    );
    assert.equal(received, 1000);
    assert.ok(
      receivedWhenOtherRan >= 0 && receivedWhenOtherRan <= TASK_BUDGET,
      `the other task ran after ${receivedWhenOtherRan} receives`,
    );
  });
});
