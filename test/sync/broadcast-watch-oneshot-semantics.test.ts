/**
 * Semantics of broadcast, watch and oneshot checked against tokio's: the state after a drop or
 * close, as seen by the non-waiting calls (`hasChanged`, `tryRecv`, the stream protocol) and by
 * several waits at once (`closed()` of a oneshot sender, a wait on a receiver being dropped).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  broadcast,
  ChannelClosed,
  Done,
  future,
  oneshot,
  Runtime,
  sleep,
  timeout,
  watch,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask, noopContext } from "../../src/testing/index.js";
import { attempt, expectError, thrown } from "./support.js";

test("watch: hasChanged throws ChannelClosed once the sender is dropped and the last value was seen", () => {
  // tokio: `has_changed` "Returns an error if the channel has been closed", so a loop polling it
  // ends; a `false` for ever would make it spin.
  const [tx, rx] = watch(0);
  tx.send(1);
  tx.drop();
  assert.equal(rx.hasChanged(), true, "the last value sent is still unseen");
  assert.equal(rx.borrowAndUpdate(), 1);
  thrown(() => rx.hasChanged(), ChannelClosed);
  const [tx2, rx2] = watch("a");
  tx2.drop();
  thrown(() => rx2.hasChanged(), ChannelClosed);
  assert.equal(rx2.borrow(), "a", "the value can still be read");
});

test("watch: a loop polling hasChanged ends once the sender is dropped", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const [tx, rx] = watch(0);
  const seen: number[] = [];
  const poller = rt.spawn(
    future(function* () {
      for (let round = 0; round < 1000; round++) {
        let changed: boolean;
        try {
          changed = rx.hasChanged();
        } catch (error) {
          if (error instanceof ChannelClosed) return "closed";
          throw error;
        }
        if (changed) seen.push(rx.borrowAndUpdate());
        yield* sleep(5); // virtual time: polls without marking anything seen
      }
      return "spun";
    }),
  );
  await rt
    .run(
      future(function* () {
        tx.send(1);
        tx.send(2);
        tx.drop();
        return yield* poller;
      }),
    )
    .then((outcome) => assert.equal(outcome, "closed"));
  assert.deepEqual(seen, [2]);
});

test("watch: a changed() or waitFor waiting on a receiver that is dropped is woken and fails", () => {
  // Before: the wait stayed parked; with its receiver gone `send` fails ("every receiver was
  // dropped"), so nothing but the sender's drop (or a sendReplace) could end it.
  const [tx, rx] = watch(0);
  const other = tx.subscribe();
  const changed = new MockTask(rx.changed());
  const waitFor = new MockTask(rx.waitFor((v) => v > 5));
  const otherChanged = new MockTask(other.changed());
  assertPending(changed.poll());
  assertPending(waitFor.poll());
  assertPending(otherChanged.poll());
  rx.drop();
  assert.ok(changed.isWoken(), "changed() on the dropped receiver was left parked");
  assert.ok(waitFor.isWoken(), "waitFor on the dropped receiver was left parked");
  expectError(
    attempt(() => changed.poll()),
    ChannelClosed,
    "changed() after its receiver's drop",
  );
  expectError(
    attempt(() => waitFor.poll()),
    ChannelClosed,
    "waitFor after its receiver's drop",
  );
  assert.equal(changed.wakerRefCount, 0);
  assert.equal(waitFor.wakerRefCount, 0);
  assert.equal(rx.pollNext(noopContext()), Done, "the dropped receiver's stream has ended");
  assert.ok(!otherChanged.isWoken(), "the other receiver's wait was woken for nothing");
  tx.send(1);
  assert.ok(otherChanged.isWoken());
  assertReady(otherChanged.poll());
  assert.equal(other.borrowAndUpdate(), 1);
});

test("watch: a dropped receiver's stream ends even with a change unseen", () => {
  const [tx, rx] = watch(0);
  const other = tx.subscribe();
  tx.send(1);
  rx.drop();
  assert.equal(rx.pollNext(noopContext()), Done);
  assert.equal(other.pollNext(noopContext()), 1);
});

test("broadcast: a dropped receiver receives nothing more, even messages sent before its drop", () => {
  const [tx, rx] = broadcast<number>(4);
  const other = tx.subscribe();
  tx.send(1);
  rx.drop();
  assert.equal(tx.receiverCount, 1);
  thrown(() => rx.tryRecv(), ChannelClosed);
  expectError(
    attempt(() => new MockTask(rx.recv()).poll()),
    ChannelClosed,
    "recv() of a dropped receiver",
  );
  assert.equal(rx.pollNext(noopContext()), Done, "its stream has ended");
  other.drop();
  thrown(() => tx.send(2), ChannelClosed);
  thrown(() => rx.tryRecv(), ChannelClosed);
});

test("broadcast: a recv() waiting on a receiver that is dropped is woken and fails", () => {
  const [tx, rx] = broadcast<number>(4);
  const other = tx.subscribe();
  const waiting = new MockTask(rx.recv());
  const otherWaiting = new MockTask(other.recv());
  assertPending(waiting.poll());
  assertPending(otherWaiting.poll());
  rx.drop();
  assert.ok(waiting.isWoken(), "the wait on the dropped receiver was left parked");
  expectError(
    attempt(() => waiting.poll()),
    ChannelClosed,
    "recv() after its receiver's drop",
  );
  assert.equal(waiting.wakerRefCount, 0);
  assert.ok(!otherWaiting.isWoken(), "the other receiver's wait was woken for nothing");
  tx.send(7);
  assert.ok(otherWaiting.isWoken());
  assert.equal(assertReady(otherWaiting.poll()), 7);
});

test("oneshot: every closed() wait is woken when the receiver closes", () => {
  // tokio's closed() takes `&mut self`, one wait at a time; here a sender can be shared, so two
  // waits (two tasks, or a `timeout(tx.closed(), ms)` that gave up) must not undo each other.
  const [tx, rx] = oneshot<number>();
  const a = new MockTask(tx.closed());
  const b = new MockTask(tx.closed());
  assertPending(a.poll());
  assertPending(b.poll());
  rx.close();
  assert.ok(a.isWoken(), "the first closed() wait was left parked");
  assert.ok(b.isWoken());
  assertReady(a.poll());
  assertReady(b.poll());
  assert.equal(a.wakerRefCount, 0);
  assert.equal(b.wakerRefCount, 0);
});

test("oneshot: dropping one closed() wait leaves another one's wake intact", () => {
  const [tx, rx] = oneshot<number>();
  const waiting = new MockTask(tx.closed());
  assertPending(waiting.poll());
  const gaveUp = new MockTask(tx.closed());
  assertPending(gaveUp.poll());
  gaveUp.drop();
  assert.equal(gaveUp.wakerRefCount, 0);
  tx.closed().drop(); // never polled
  rx.drop();
  assert.ok(waiting.isWoken(), "a dropped closed() wait released the waiting one's waker");
  assertReady(waiting.poll());
});

test("oneshot: a task waiting in closed() is woken after another's timeout(tx.closed()) gave up", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const [tx, rx] = oneshot<number>();
  const outcome = await rt.run(
    future(function* () {
      const watcher = rt.spawn(
        future(function* () {
          yield* tx.closed();
          return "closed";
        }),
      );
      const gaveUp = yield* timeout(tx.closed(), 10).catch(() => "timed out");
      assert.equal(gaveUp, "timed out");
      rx.drop();
      return yield* timeout(watcher, 1000).catch(() => "watcher left parked");
    }),
  );
  assert.equal(outcome, "closed");
});
