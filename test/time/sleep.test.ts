import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import {
  consumeBudget,
  DeadlockError,
  future,
  Instant,
  InvalidDurationError,
  pending,
  pollFn,
  Runtime,
  ready,
  remainingBudget,
  sleep,
  sleepUntil,
  TASK_BUDGET,
  TimeoutError,
  timeout,
} from "../../src/index.js";
import { TimeDriver } from "../../src/time/time-driver.js";

test("virtual time: an hour of sleep completes at once, at exactly the deadline", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const start = rt.time.now();
  await rt.run(sleep(3_600_000));
  assert.equal(rt.time.now() - start, 3_600_000);
});

test("property: sleeps never complete early; completions ordered by (deadline, registration)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: 1, maxLength: 60 }),
      async (durations) => {
        const rt = new Runtime({ clock: "virtual" });
        const done: { index: number; deadline: number; at: number }[] = [];
        await rt.run(
          future(function* () {
            const handles = durations.map((ms, index) =>
              rt.spawn(
                future(function* () {
                  const deadline = Instant.now().add(ms);
                  yield* sleepUntil(deadline);
                  done.push({ index, deadline: deadline.valueOf(), at: Instant.now().valueOf() });
                }),
              ),
            );
            for (const h of handles) yield* h;
          }),
        );
        for (const d of done) assert.ok(d.at >= d.deadline, "never early");
        const expected = [...done].sort((a, b) => a.deadline - b.deadline || a.index - b.index);
        assert.deepEqual(
          done.map((d) => d.index),
          expected.map((d) => d.index),
        );
      },
    ),
    { numRuns: 100 },
  );
});

test("property: a reset or dropped sleep never fires at its old deadline", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 1, max: 1000 }),
      fc.integer({ min: 0, max: 999 }),
      async (first, second, resetAfter) => {
        const rt = new Runtime({ clock: "virtual" });
        const t0 = rt.time.now();
        const resetAt = Math.min(resetAfter, first - 1);
        const woke = await rt.run(
          future(function* () {
            const s = sleep(first);
            const waiter = rt.spawn(
              future(function* () {
                yield* s;
                return Instant.now().valueOf() - t0;
              }),
            );
            yield* sleep(Math.max(0, resetAt));
            s.reset(Instant.now().add(second));
            return yield* waiter;
          }),
        );
        assert.equal(woke, Math.max(0, resetAt) + second);
      },
    ),
    { numRuns: 100 },
  );
});

test("dropping a Sleep removes its wheel entry at once", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await rt.run(
    future(function* () {
      const driver = TimeDriver.of();
      const s = sleep(10_000);
      const handle = rt.spawn(s);
      yield* sleep(1);
      assert.equal(driver.pending, 1);
      handle.abort();
      yield* handle.catch(() => undefined);
      assert.equal(driver.pending, 0);
    }),
  );
});

test("timeout: a value ready at the exact deadline wins; otherwise TimeoutError after cleanup", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const value = await rt.run(
    future(function* () {
      return yield* timeout(
        future(function* () {
          yield* sleep(100);
          return "in time";
        }),
        100,
      );
    }),
  );
  assert.equal(value, "in time");
  let cleaned = 0;
  const error = await rt
    .run(
      timeout(
        future(function* () {
          try {
            yield* sleep(101);
          } finally {
            yield* sleep(5);
            cleaned++;
          }
        }),
        100,
      ),
    )
    .catch((e: unknown) => e);
  assert.ok(error instanceof TimeoutError);
  assert.equal(error.code, "TIMEOUT");
  assert.equal(cleaned, 1);
  assert.equal(await rt.run(timeout(ready(3), 0)), 3);
});

test("bad durations and deadlines get a RangeError carrying the value", () => {
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    assert.throws(
      () => sleep(bad),
      (e: unknown) =>
        e instanceof RangeError && e instanceof InvalidDurationError && Object.is(e.value, bad),
    );
    assert.throws(() => timeout(ready(1), bad), RangeError);
    assert.throws(() => Instant.now().add(bad), RangeError);
  }
  assert.throws(() => sleep("5" as never), /got string 5/);
  assert.throws(() => sleepUntil(5 as never), /expected an Instant/);
  assert.throws(() => new Runtime().time.advance(-3), RangeError);
});

test("virtual time still reports a deadlock when no timer is pending", async () => {
  const rt = new Runtime({ clock: "virtual" });
  await assert.rejects(
    rt.run(
      future(function* () {
        yield* sleep(10);
        yield* pending();
      }),
    ),
    DeadlockError,
  );
});

test("pause, advance and resume move a real-clock runtime's time by hand", async () => {
  const rt = new Runtime();
  rt.time.pause();
  assert.equal(rt.time.isPaused, true);
  let done = false;
  const handle = rt.spawn(
    future(function* () {
      yield* sleep(50);
      done = true;
    }),
  );
  await rt.run(pollFn(() => undefined));
  rt.time.advance(49);
  await rt.run(pollFn(() => undefined));
  assert.equal(done, false);
  rt.time.advance(1);
  await rt.run(handle);
  assert.equal(done, true);
  rt.time.resume();
  assert.equal(rt.time.isPaused, false);
});

test("advance on a flowing real clock jumps it forward: a sleep due by then ends without the wait", {
  timeout: 10_000,
}, async () => {
  const rt = new Runtime();
  const hour = 60 * 60 * 1000;
  const before = rt.time.now();
  let done = false;
  const handle = rt.spawn(
    future(function* () {
      yield* sleep(hour);
      done = true;
    }),
  );
  await rt.run(pollFn(() => undefined));
  assert.equal(done, false);
  rt.time.advance(hour);
  assert.equal(rt.time.isPaused, false, "time still flows");
  assert.ok(rt.time.now() - before >= hour);
  await rt.run(handle);
  assert.equal(done, true);
});

test("a sleep spends one unit of the task's cooperative budget per poll", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const spent = await rt.run(
    future(function* () {
      yield* pollFn((cx) => {
        while (remainingBudget() > 1) consumeBudget(cx);
        return undefined;
      });
      const before = remainingBudget();
      yield* sleep(0);
      return before - remainingBudget();
    }),
  );
  assert.equal(spent, 1);
  assert.equal(TASK_BUDGET, 128);
});
