import assert from "node:assert/strict";
import { test } from "node:test";
import {
  DeadlockError,
  future,
  Pending,
  pending,
  pollFn,
  Runtime,
  type Waker,
} from "../../src/index.js";
import { TimeDriver } from "../../src/time/time-driver.js";
import { TimerEntry } from "../../src/time/timer-wheel.js";

test("a timer registered from another timer's expiry, as the wheel empties, leaks no wake source", async () => {
  const rt = new Runtime({ clock: "virtual" });
  let driver: TimeDriver | null = null;
  let waker: Waker | null = null;
  let secondFired = false;
  const second = new TimerEntry({
    expire() {
      secondFired = true;
      waker?.wakeByRef();
    },
  });
  const first = new TimerEntry({
    expire() {
      // The wheel held only `first`: it is empty now, and this register refills it.
      driver?.register(second, (driver?.now() ?? 0) + 10);
      waker?.wakeByRef();
    },
  });
  const outcome = rt.run(
    future(function* () {
      driver = TimeDriver.of();
      driver.register(first, 5);
      yield* pollFn<void>((cx) => {
        waker ??= cx.waker.clone();
        if (!secondFired) return Pending;
        waker.drop();
        return undefined;
      });
      // Nothing can wake this: with every wake source released, that is a deadlock, not a hang.
      yield* pending<void>();
    }),
  );
  await assert.rejects(outcome, DeadlockError);
  assert.equal(secondFired, true);
  assert.equal(rt.time.now(), 15);
});

test("virtual time: a timer that wakes no task does not stall the clock", async () => {
  const rt = new Runtime({ clock: "virtual" });
  let silentFired = false;
  const silent = new TimerEntry({
    expire() {
      silentFired = true;
    },
  });
  let waker: Waker | null = null;
  const loud = new TimerEntry({
    expire() {
      waker?.wakeByRef();
    },
  });
  let woken = false;
  const result = await rt.run(
    future(function* () {
      const driver = TimeDriver.of();
      driver.register(silent, 5);
      driver.register(loud, 20);
      yield* pollFn<void>((cx) => {
        if (!woken && !loud.registered) woken = true;
        if (woken) {
          waker?.drop();
          return undefined;
        }
        waker ??= cx.waker.clone();
        return Pending;
      });
      return rt.time.now();
    }),
  );
  assert.equal(silentFired, true);
  assert.equal(result, 20);
});
