/**
 * Sleep.deadline and Sleep.isElapsed: a relative sleep's deadline is fixed at its first poll
 * (futures are lazy) and reported as now + duration before; isElapsed turns true once the clock
 * reaches the deadline (even before the sleep is polled again), and false again after a reset to
 * a later deadline.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, Instant, Pending, Runtime, sleep, sleepUntil } from "../../src/index.js";
import { noopContext } from "../../src/testing/index.js";

test("an unpolled sleep(ms): deadline is now + ms and moves with the clock; it is not elapsed", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const seen = await rt.run(
    future(function* () {
      const s = sleep(100);
      const first = s.deadline.valueOf() - Instant.now().valueOf();
      const before = s.isElapsed();
      yield* sleep(500); // s is still not polled: it has not started
      const later = s.deadline.valueOf() - Instant.now().valueOf();
      return { first, later, before, after: s.isElapsed() };
    }),
  );
  assert.deepEqual(seen, { first: 100, later: 100, before: false, after: false });
});

test("after its first poll the deadline is fixed; isElapsed is true once the clock reaches it", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const seen = await rt.run(
    future(function* () {
      const t0 = Instant.now().valueOf();
      const s = sleep(100);
      assert.equal(s.poll(noopContext()), Pending);
      const fixed = s.deadline.valueOf() - t0;
      yield* sleep(99);
      const at99 = { deadline: s.deadline.valueOf() - t0, elapsed: s.isElapsed() };
      yield* sleep(1);
      // Not polled again: the clock alone says the deadline has passed.
      const at100 = { deadline: s.deadline.valueOf() - t0, elapsed: s.isElapsed() };
      assert.equal(s.poll(noopContext()), undefined, "a poll now completes it");
      const afterDone = s.isElapsed();
      s.drop();
      return { fixed, at99, at100, afterDone };
    }),
  );
  assert.deepEqual(seen, {
    fixed: 100,
    at99: { deadline: 100, elapsed: false },
    at100: { deadline: 100, elapsed: true },
    afterDone: true,
  });
});

test("sleepUntil: the deadline is the instant given; a past one is elapsed before any poll", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      yield* sleep(50);
      const past = Instant.now().add(0);
      yield* sleep(10);
      const s = sleepUntil(past);
      assert.equal(s.deadline.compare(past), 0);
      assert.equal(s.isElapsed(), true);
      const later = sleepUntil(Instant.now().add(30));
      assert.equal(later.isElapsed(), false);
      assert.equal(later.deadline.since(Instant.now()), 30);
    }),
  );
});

test("reset to a later deadline: deadline follows it and isElapsed is false again until then", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const seen = await rt.run(
    future(function* () {
      const t0 = Instant.now();
      const s = sleep(10);
      yield* s;
      const elapsedBefore = s.isElapsed();
      const target = Instant.now().add(40);
      s.reset(target);
      const afterReset = { deadline: s.deadline.since(t0), elapsed: s.isElapsed() };
      yield* s;
      return { elapsedBefore, afterReset, woke: Instant.now().since(t0), end: s.isElapsed() };
    }),
  );
  assert.deepEqual(seen, {
    elapsedBefore: true,
    afterReset: { deadline: 50, elapsed: false },
    woke: 50,
    end: true,
  });
});
