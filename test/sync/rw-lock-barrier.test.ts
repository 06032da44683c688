import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Barrier,
  future,
  join,
  OutOfRangeError,
  Runtime,
  RwLock,
  WakerContractError,
  yieldNow,
} from "../../src/index.js";
import { assertPending, assertReady, MockTask } from "../../src/testing/index.js";

test("RwLock: readers share, a writer excludes, and a queued writer holds back later readers", async () => {
  const rt = new Runtime();
  const log: string[] = [];
  await rt.run(
    future(function* () {
      const lock = new RwLock(0);
      const r1 = yield* lock.read();
      const r2 = lock.tryRead();
      assert.ok(r2, "two readers at once");
      assert.equal(lock.tryWrite(), undefined);
      const writer = rt.spawn(
        future(function* () {
          const w = yield* lock.write();
          log.push("writer");
          w.value = 1;
          w.release();
        }),
      );
      yield* yieldNow();
      assert.equal(lock.tryRead(), undefined, "a queued writer holds back new readers");
      const lateReader = rt.spawn(
        future(function* () {
          const r = yield* lock.read();
          log.push(`late reader sees ${r.value}`);
          r.release();
        }),
      );
      yield* yieldNow();
      r1.release();
      r2!.release();
      yield* writer;
      yield* lateReader;
    }),
  );
  assert.deepEqual(log, ["writer", "late reader sees 1"]);
});

test("RwLock: a read guard cannot assign; a released guard cannot be used", () => {
  const lock = new RwLock(1);
  const r = lock.tryRead()!;
  assert.throws(() => {
    r.value = 2;
  }, WakerContractError);
  r.release();
  assert.throws(() => r.value, WakerContractError);
});

test("RwLock: downgrade lets queued readers in, never a writer in between", () => {
  const lock = new RwLock(0);
  const w = lock.tryWrite()!;
  w.value = 1;
  const reader = new MockTask(lock.read());
  assertPending(reader.poll());
  const writer = new MockTask(lock.write());
  assertPending(writer.poll());
  const lateReader = new MockTask(lock.read());
  assertPending(lateReader.poll());
  const r = w.downgrade();
  assert.equal(r.writable, false);
  assert.equal(r.value, 1, "the value written is what the readers see");
  assert.throws(() => w.value, WakerContractError, "the write guard is spent");
  assert.ok(reader.isWoken(), "the reader queued before the writer gets in at once");
  const first = assertReady(reader.poll());
  assert.equal(first.value, 1);
  assert.equal(writer.isWoken(), false, "no writer in between");
  assert.equal(lateReader.isWoken(), false, "readers behind the queued writer wait for it");
  assert.throws(() => r.downgrade(), WakerContractError, "a read guard cannot downgrade");
  r.release();
  first.release();
  assert.ok(writer.isWoken(), "the writer gets in once the readers are gone");
  const w2 = assertReady(writer.poll());
  w2.value = 2;
  w2.release();
  assert.equal(assertReady(lateReader.poll()).value, 2);
});

test("Barrier: releases the group when n arrive, one leader per generation, reusable", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const barrier = new Barrier(3);
      for (let gen = 0; gen < 2; gen++) {
        const results = yield* join(barrier.wait(), barrier.wait(), barrier.wait());
        assert.equal(results.filter((r) => r.isLeader).length, 1);
      }
    }),
  );
});

test("Barrier: a dropped wait withdraws its arrival", async () => {
  const rt = new Runtime();
  await rt.run(
    future(function* () {
      const barrier = new Barrier(2);
      const first = rt.spawn(barrier.wait());
      yield* yieldNow();
      first.abort();
      yield* first.catch(() => undefined);
      const late = rt.spawn(barrier.wait());
      yield* yieldNow();
      assert.equal(late.isFinished(), false, "one arrival is not enough after the withdrawal");
      yield* barrier.wait();
      yield* late;
    }),
  );
  assert.throws(() => new Barrier(0), OutOfRangeError);
});
