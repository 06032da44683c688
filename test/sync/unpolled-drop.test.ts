/**
 * Futures are lazy: a future dropped before its first poll has done nothing, so dropping it must
 * change nothing either. One case per future-returning API of the sync primitives and streams:
 * set up some state, make the future, drop it unpolled, and check the state with a second,
 * non-waiting operation.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Barrier,
  broadcast,
  channel,
  Mutex,
  Notify,
  RwLock,
  Semaphore,
  Stream,
  unboundedChannel,
  watch,
} from "../../src/index.js";

interface Case {
  readonly name: string;
  /** Makes the state and the future, drops the future, and checks the state. */
  readonly run: () => void;
}

const cases: Case[] = [
  {
    name: "channel send: nothing sent, the slot stays free",
    run: () => {
      const [tx, rx] = channel<number>(1);
      tx.send(1).drop();
      assert.equal(rx.tryRecv(), undefined);
      assert.equal(tx.capacity, 1);
      tx.trySend(2);
      assert.equal(rx.tryRecv(), 2);
    },
  },
  {
    name: "channel reserve: no slot held",
    run: () => {
      const [tx] = channel<number>(1);
      tx.reserve().drop();
      assert.equal(tx.capacity, 1);
    },
  },
  {
    name: "channel recv and recvMany: the messages stay buffered",
    run: () => {
      const [tx, rx] = channel<number>(4);
      tx.trySend(1);
      tx.trySend(2);
      rx.recv().drop();
      rx.recvMany(2).drop();
      assert.equal(rx.tryRecv(), 1);
      assert.equal(rx.tryRecv(), 2);
    },
  },
  {
    name: "channel closed(): the channel stays open",
    run: () => {
      const [tx, rx] = channel<number>(1);
      tx.closed().drop();
      assert.equal(tx.isClosed(), false);
      tx.trySend(1);
      assert.equal(rx.tryRecv(), 1);
    },
  },
  {
    name: "unbounded channel recv: the message stays buffered",
    run: () => {
      const [tx, rx] = unboundedChannel<string>();
      tx.send("a");
      rx.recv().drop();
      assert.equal(rx.tryRecv(), "a");
    },
  },
  {
    name: "broadcast recv: the message stays for this receiver",
    run: () => {
      const [tx, rx] = broadcast<number>(4);
      tx.send(7);
      rx.recv().drop();
      assert.equal(rx.tryRecv(), 7);
    },
  },
  {
    name: "watch changed and waitFor: the value stays unseen",
    run: () => {
      const [tx, rx] = watch(0);
      tx.send(1);
      rx.changed().drop();
      rx.waitFor((v) => v > 0).drop();
      assert.equal(rx.hasChanged(), true);
      assert.equal(rx.borrowAndUpdate(), 1);
    },
  },
  {
    name: "Mutex lock: the mutex stays free",
    run: () => {
      const mutex = new Mutex(0);
      mutex.lock().drop();
      assert.equal(mutex.isLocked(), false);
      const guard = mutex.tryLock();
      assert.ok(guard !== undefined);
      guard.release();
    },
  },
  {
    name: "Mutex lock while held: no place kept in the queue",
    run: () => {
      const mutex = new Mutex(0);
      const held = mutex.tryLock()!;
      mutex.lock().drop();
      held.release();
      assert.equal(mutex.isLocked(), false);
      assert.ok(mutex.tryLock() !== undefined);
    },
  },
  {
    name: "RwLock read and write: the lock stays free",
    run: () => {
      const lock = new RwLock("v");
      lock.read().drop();
      lock.write().drop();
      const w = lock.tryWrite();
      assert.ok(w !== undefined);
      w.release();
    },
  },
  {
    name: "Semaphore acquire: no permit taken",
    run: () => {
      const sem = new Semaphore(3);
      sem.acquire(2).drop();
      assert.equal(sem.availablePermits, 3);
      assert.ok(sem.tryAcquire(3) !== undefined);
    },
  },
  {
    name: "Notify notified: a stored permit stays stored",
    run: () => {
      const notify = new Notify();
      notify.notifyOne();
      notify.notified().drop();
      assert.equal(notify.takePermit(), true);
    },
  },
  {
    name: "Barrier wait: no arrival counted",
    run: () => {
      const barrier = new Barrier(2);
      barrier.wait().drop();
      assert.equal(barrier.arrive(), false, "the first arrival does not release the barrier");
      assert.equal(barrier.arrive(), true, "the second does");
    },
  },
  {
    name: "Stream next: no item consumed",
    run: () => {
      const [tx, rx] = unboundedChannel<number>();
      tx.send(1);
      tx.send(2);
      const stream = Stream.from(rx);
      stream.next().drop();
      assert.equal(rx.tryRecv(), 1);
      assert.equal(rx.tryRecv(), 2);
    },
  },
  {
    name: "Stream forEach: nothing handed to fn (it owns the stream, so the stream is dropped)",
    run: () => {
      const [tx, rx] = unboundedChannel<number>();
      tx.send(1);
      const seen: number[] = [];
      Stream.from(rx)
        .forEach((v) => {
          seen.push(v);
        })
        .drop();
      assert.deepEqual(seen, []);
      assert.equal(tx.isClosed(), true, "the receiver went with the stream");
    },
  },
];

for (const c of cases) {
  test(`dropped before its first poll: ${c.name}`, () => {
    c.run();
  });
}
