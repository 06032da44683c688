/**
 * The time driver's host timer when a running (real) clock is moved by hand: advancing it short
 * of the next deadline keeps the armed host timer (no clear and new setTimer), still referenced
 * while a root waits; advancing it past the deadline fires the timer at once.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  future,
  nodePlatform,
  Pending,
  type Platform,
  pollFn,
  Runtime,
  sleep,
} from "../../src/index.js";
import type { HostTimer } from "../../src/platform/index.js";
import { TimeDriver } from "../../src/time/time-driver.js";

/** The Node platform, logging each host timer's set, clear, ref and unref. */
function loggingPlatform(log: string[]): Platform {
  const base = nodePlatform();
  let count = 0;
  return {
    ...base,
    setTimer(fn: () => void, ms: number): HostTimer {
      const id = count++;
      log.push(`set#${id}`);
      const timer = base.setTimer(fn, ms);
      return {
        clear() {
          log.push(`clear#${id}`);
          timer.clear();
        },
        ref() {
          log.push(`ref#${id}`);
          timer.ref();
        },
        unref() {
          log.push(`unref#${id}`);
          timer.unref();
        },
      };
    },
  };
}

test("advancing a running clock short of the next deadline keeps the armed host timer, referenced", async () => {
  const log: string[] = [];
  const rt = new Runtime({ platform: loggingPlatform(log) });
  assert.equal(rt.time.isPaused, false);
  const seen = await rt.run(
    future(function* () {
      const driver = TimeDriver.of();
      const s = sleep(10_000);
      const start = rt.time.now();
      yield* pollFn((cx) => {
        assert.equal(s.poll(cx), Pending);
        return undefined;
      });
      const armed = [...log];
      rt.time.advance(10);
      rt.time.advance(100);
      const afterShortAdvances = [...log];
      const stillPending = driver.pending;
      rt.time.advance(10_000);
      yield* s;
      return { armed, afterShortAdvances, stillPending, slept: rt.time.now() - start };
    }),
  );
  assert.deepEqual(seen.armed, ["set#0"], "one host timer for the sleep");
  assert.equal(seen.stillPending, 1, "the sleep is still waiting");
  assert.deepEqual(
    seen.afterShortAdvances,
    ["set#0", "ref#0", "ref#0"],
    "the same host timer is kept (never cleared or replaced) and referenced while the root waits",
  );
  assert.ok(seen.slept >= 10_000, "the sleep ended only once the clock passed its deadline");
  assert.ok(!log.includes("set#1"), "the fired timer needed no new host timer");
});
