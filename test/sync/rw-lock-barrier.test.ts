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
