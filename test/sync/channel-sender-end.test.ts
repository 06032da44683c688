/**
 * The end of a bounded channel is final. Once the receiver has seen it (every sender dropped, the
 * buffer drained: `recv` throws ChannelClosed, `tryRecv` throws, `pollNext` is Done), no later
 * message may arrive. A send or reserve future is lazy and holds no sender, so one made before
 * its sender was dropped and first polled after the last sender went must fail, handing the
 * value back, rather than deliver into a channel whose consumer has already stopped (the value
 * would be lost while the send reports success). A send already waiting in line when its sender
 * goes is still delivered, and the receiver waits for it.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ChannelClosed,
  channel,
  Done,
  future,
  JoinError,
  Pending,
  Runtime,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask, noopContext } from "../../src/testing/index.js";
import { thrown } from "./support.js";

test("a send first polled after the last sender was dropped fails, handing the value back", () => {
  const [tx, rx] = channel<number>(2);
  const send = new MockTask(tx.send(1));
  tx.drop();
  // The receiver sees the end now.
  assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
  assert.equal(rx.pollNext(noopContext()), Done);
  // The send must not deliver after that end.
  assert.equal(thrown(() => send.poll(), ChannelClosed).value, 1);
  assert.equal(rx.length, 0);
  assert.equal(rx.pollNext(noopContext()), Done);
  assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
});

test("a send first polled after the last sender was dropped fails when it would wait too", () => {
  // Two sends made before the drop, capacity 1, one message buffered: the first would queue, be
  // granted once the receiver drains, and deliver; the receiver then sees the end; the second
  // would then find a free slot and deliver after that end.
  const [tx, rx] = channel<number>(1);
  tx.trySend(0);
  const first = new MockTask(tx.send(1));
  const second = new MockTask(tx.send(2));
  tx.drop();
  assert.equal(thrown(() => first.poll(), ChannelClosed).value, 1);
  assert.equal(first.wakerRefCount, 0);
  assert.equal(rx.tryRecv(), 0);
  assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
  assert.equal(thrown(() => second.poll(), ChannelClosed).value, 2);
  assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
  assert.equal(tx.capacity, 1);
});

test("a reserve first polled after the last sender was dropped fails and holds no slot", () => {
  const [tx, rx] = channel<number>(1);
  const reserve = new MockTask(tx.reserve());
  tx.drop();
  assert.equal(rx.pollNext(noopContext()), Done);
  thrown(() => reserve.poll(), ChannelClosed);
  assert.equal(tx.capacity, 1);
  assert.equal(rx.pollNext(noopContext()), Done);
});

test("while another sender lives, a send of a dropped sender's future is still delivered", () => {
  const [tx, rx] = channel<number>(1);
  const other = tx.clone();
  const send = new MockTask(tx.send(1));
  tx.drop();
  assert.equal(assertReady(send.poll()), undefined);
  assert.equal(rx.tryRecv(), 1);
  other.drop();
  assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
});

test("a send waiting in line when the last sender goes is delivered; the end waits for it", () => {
  const [tx, rx] = channel<number>(1);
  tx.trySend(0);
  const send = new MockTask(tx.send(1));
  assertPending(send.poll());
  tx.drop();
  const recv = new MockTask(rx.recv());
  assert.equal(assertReady(recv.poll()), 0);
  assert.ok(send.isWoken());
  const next = new MockTask(rx.recv());
  assertPending(next.poll());
  assertReady(send.poll());
  assert.ok(next.isWoken());
  assert.equal(assertReady(next.poll()), 1);
  assert.equal(thrown(() => rx.tryRecv(), ChannelClosed).value, undefined);
});

test("on a runtime: spawn(tx.send(v)) then tx.drop() never loses v after the consumer's end", async () => {
  const rt = new Runtime();
  const out = await rt.run(
    future(function* () {
      const [tx, rx] = channel<number>(4);
      const handle = rt.spawn(tx.send(7));
      tx.drop();
      const received: number[] = [];
      for (;;) {
        const r = yield* rx
          .recv()
          .catch((e: unknown) => (e instanceof ChannelClosed ? Done : Pending));
        if (r === Done) break;
        received.push(r as number);
      }
      let sendError: unknown = null;
      try {
        yield* handle;
      } catch (e) {
        sendError = e instanceof JoinError ? e.cause : e;
      }
      return { received, sendError };
    }),
  );
  // Either delivered to the consumer, or handed back to the sender: never both lost.
  if (out.received.length === 0) {
    assert.ok(out.sendError instanceof ChannelClosed, `send: ${String(out.sendError)}`);
    assert.equal(out.sendError.value, 7);
  } else {
    assert.deepEqual(out.received, [7]);
    assert.equal(out.sendError, null);
  }
});
