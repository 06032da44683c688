/**
 * Interval.reset(): the next tick comes one period after the reset (tokio's `Interval::reset`),
 * whether the interval has ticked yet or not, and whatever its missed-tick policy; a task already
 * waiting on `tick()` when another task resets the interval is woken at the new tick, not left
 * waiting for ever (as `Sleep.reset` re-registers its waiting task).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { future, interval, join, Runtime, sleep, spawn } from "../../src/index.js";

test("reset before the first tick: the first tick is one period later, not at once", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const t0 = rt.time.now();
  const ticks = await rt.run(
    future(function* () {
      const iv = interval(100);
      yield* sleep(30);
      iv.reset();
      const out: number[] = [];
      for (let i = 0; i < 3; i++) {
        const at = yield* iv.tick();
        out.push(at.valueOf() - t0);
        assert.equal(rt.time.now(), at.valueOf(), "each tick completes at its scheduled time");
      }
      return out;
    }),
  );
  assert.deepEqual(ticks, [130, 230, 330]);
});

test("reset mid-schedule moves every later tick: one period from the reset, then every period", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const t0 = rt.time.now();
  const ticks = await rt.run(
    future(function* () {
      const iv = interval(100);
      const out: number[] = [];
      out.push((yield* iv.tick()).valueOf() - t0); // 0
      out.push((yield* iv.tick()).valueOf() - t0); // 100
      yield* sleep(60); // now 160: the tick at 200 is not due yet
      iv.reset();
      out.push((yield* iv.tick()).valueOf() - t0);
      out.push((yield* iv.tick()).valueOf() - t0);
      return out;
    }),
  );
  assert.deepEqual(ticks, [0, 100, 260, 360]);
});

test("reset forgets a tick that was already due (missed ticks are not fired after a reset)", async () => {
  for (const missedTick of ["burst", "delay", "skip"] as const) {
    const rt = new Runtime({ clock: "virtual" });
    const t0 = rt.time.now();
    const ticks = await rt.run(
      future(function* () {
        const iv = interval(100, { missedTick });
        const out: number[] = [];
        out.push((yield* iv.tick()).valueOf() - t0); // 0
        yield* sleep(350); // ticks at 100, 200, 300 are overdue
        iv.reset();
        out.push((yield* iv.tick()).valueOf() - t0);
        out.push((yield* iv.tick()).valueOf() - t0);
        return out;
      }),
    );
    assert.deepEqual(ticks, [0, 450, 550], missedTick);
  }
});

test("a tick() pending in the same task (join) when the interval is reset completes at the new tick", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const t0 = rt.time.now();
  const at = await rt.run(
    future(function* () {
      const iv = interval(100);
      yield* iv.tick(); // 0
      const [tick] = yield* join(
        iv.tick(),
        future(function* () {
          yield* sleep(40);
          iv.reset(); // the pending tick must now complete at 140, not 100
        }),
      );
      return tick.valueOf() - t0;
    }),
  );
  assert.equal(at, 140);
  assert.equal(rt.time.now() - t0, 140);
});

test("a task waiting on tick() when another task resets the interval is woken at the new tick", async () => {
  const rt = new Runtime({ clock: "virtual" });
  const t0 = rt.time.now();
  const result = await rt.run(
    future(function* () {
      const iv = interval(100);
      yield* iv.tick(); // 0
      const waiter = spawn(
        future(function* () {
          const at = yield* iv.tick();
          return { scheduled: at.valueOf() - t0, woke: rt.time.now() - t0 };
        }),
      );
      yield* sleep(40);
      iv.reset();
      return yield* waiter;
    }),
  );
  assert.deepEqual(result, { scheduled: 140, woke: 140 });
});
